import { describe, expect, it } from 'vitest';
import { createLogger, generateIdentity } from '@fedwarden/shared';
import { parseConfig } from '../config.ts';
import type { RoundContext } from '../rounds/round-context.ts';
import { groupingKeyFromSeed } from './grouping-key.ts';
import { homeGroups } from './groups.ts';
import { SecaggCollector } from './secagg-collector.ts';

const KEY = groupingKeyFromSeed(5);
const ENROLLED = Array.from({ length: 15 }, (_, i) => `p${i}`);
const IDENTITY = generateIdentity(new Uint8Array(32).fill(1)).publicKey;

/** A secagg round context in which nobody is connected (every send fails), logging into `lines`. */
function context(lines: string[]): RoundContext {
  return {
    round: 3,
    global: new Float32Array(4),
    config: parseConfig({
      privacy: 'secagg',
      secagg: { groupSize: 5, stageTimeoutMs: 50 },
      rounds: { deadlineMs: 50 },
      participants: ENROLLED.map((id, i) => ({ id, tokenSha256: i.toString(16).padStart(64, '0') })),
    }),
    log: createLogger('info', {}, (line) => lines.push(line)),
    send: async () => false,
    reputationWeight: () => 1,
    identityKey: () => IDENTITY,
  };
}

describe('SecaggCollector', () => {
  it('runs fixed home groups by their own number and records a home group short of members as sat out, with its reason, in the log and the round', async () => {
    const homes = homeGroups(ENROLLED, 5, KEY);
    const [full, short, absent] = homes as [string[], string[], string[]];
    const selected = [...full, ...short.slice(0, 3)]; // home group 3 entirely absent: nobody to record
    const lines: string[] = [];
    const round = await new SecaggCollector(context(lines), KEY).collect(selected);

    const reason = 'home group 2 sits out: 3 of its 5 members selected, fewer than secagg.minGroupSize 4 (not merged into another group, whose sum would then overlap its own)';
    expect(round.groups?.map((g) => ({ id: g.id, status: g.status, members: g.members }))).toEqual([
      { id: 'group-1', status: 'aborted', members: full }, // nobody answered
      { id: 'group-2', status: 'sat-out', members: short.slice(0, 3) },
    ]);
    expect(round.groups?.[1]?.reason).toBe(reason);
    expect(round.notes).toContain(reason);
    expect(round.groups?.flatMap((g) => g.members)).not.toContain(absent[0]);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'secure group sits out');
    expect(logged).toMatchObject({ group: 2, participants: short.slice(0, 3), reason });
  });

  it('records every selected participant as sat out when no home group can run', async () => {
    const homes = homeGroups(ENROLLED, 5, KEY);
    const selected = homes.map((h) => h[0] as string);
    const round = await new SecaggCollector(context([]), KEY).collect(selected);
    expect(round.units).toEqual([]);
    expect(round.groups?.map((g) => [g.id, g.status, g.members])).toEqual(homes.map((h, i) => [`group-${i + 1}`, 'sat-out', [h[0]]]));
    expect(round.notes).toHaveLength(3);
  });
});
