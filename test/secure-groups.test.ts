/**
 * Fixed secure groups over sockets: the coordinator cuts home groups from the enrolled participants with the
 * grouping key derived from its identity (or the one it is given), runs each with its connected members, and
 * records a home group short of members as sat out, with the reason, instead of merging it into another.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ephemeralIdentity, groupingKeyFromIdentity, groupingKeyFromSeed, homeGroups, type RoundRecord } from '@fedwarden/coordinator';
import { fakeClients, startFederation, type TestFederation } from './support/federation.ts';

const N = 9;
const ENROLLED = Array.from({ length: N }, (_, i) => `p${i}`);
let fed: TestFederation | undefined;

afterEach(async () => {
  await fed?.stop();
  fed = undefined;
});

/** One secagg round of groups of 3 (home groups of 3, minGroupSize 3), with participant `absent` never connecting. */
async function roundWithout(absent: (homes: string[][]) => string, key?: Uint8Array): Promise<{ record: RoundRecord; homes: string[][]; missing: string }> {
  const identity = ephemeralIdentity();
  const homes = homeGroups(ENROLLED, 3, key ?? groupingKeyFromIdentity(identity.keyPair));
  const missing = absent(homes);
  fed = await startFederation(
    N,
    { privacy: 'secagg', secagg: { groupSize: 3, stageTimeoutMs: 5_000 }, rounds: { count: 1, minParticipants: N - 1, deadlineMs: 10_000 } },
    { identity },
    key ? { groupingKey: key } : {},
  );
  const clients = fakeClients(fed, ENROLLED.map((_, i) => Float32Array.from([0.1 * i, -0.2, 0.3])));
  const present = clients.filter((_, i) => ENROLLED[i] !== missing);
  const [records] = await Promise.all([fed.coordinator.run(), ...present.map((c) => c.run())]);
  return { record: records[0] as RoundRecord, homes, missing };
}

describe('fixed secure groups', () => {
  it('runs the home groups its identity-derived key cuts, and sits out the one an absence leaves short', { timeout: 60_000 }, async () => {
    const { record, homes, missing } = await roundWithout((h) => h[1]![0]!);
    const short = homes[1]!.filter((id) => id !== missing);
    expect(record.outcome).toBe('completed');
    expect(record.groups?.map((g) => [g.id, g.status, g.members])).toEqual([
      ['group-1', 'summed', homes[0]],
      ['group-3', 'summed', homes[2]],
      ['group-2', 'sat-out', short],
    ]);
    expect(record.groups?.[2]?.reason).toMatch(/^home group 2 sits out: 2 of its 3 members selected, fewer than secagg\.minGroupSize 3/);
    expect([...record.dropped].sort()).toEqual([...short].sort());
    expect(record.reason).toContain('home group 2 sits out');
  });

  it('uses the grouping key it is given (simulations replay from their seed)', { timeout: 60_000 }, async () => {
    const key = groupingKeyFromSeed(11);
    const { record, homes } = await roundWithout((h) => h[0]![2]!, key);
    expect(record.groups?.filter((g) => g.status === 'summed').map((g) => g.members)).toEqual([homes[1], homes[2]]);
  });
});
