/**
 * The range check on group sums over real sockets and real secure aggregation: a member that wraps its masked
 * input around (adds 2^31 to every word, mod 2^32) gets its group's unit rejected with a verdict in the round
 * record; the new global adapter is the other group's sum alone; the hostile group's members get negative
 * reputation evidence, the clean group's positive.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient } from '@fedwarden/client';
import { createRng } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { startHostileMember } from './support/hostile-member.ts';

let fed: TestFederation | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
});

const DIM = 64;
const GROUP_SIZE = 5;
const N = 2 * GROUP_SIZE;

describe('range check on secure-group sums', () => {
  it('rejects the unit of a group whose member wrapped its masked input; the round goes on with the other group', async () => {
    fed = await startFederation(N, {
      privacy: 'secagg',
      secagg: { groupSize: GROUP_SIZE, groupPolicy: 'reshuffle', stageTimeoutMs: 10_000 },
      rounds: { count: 1, minParticipants: N, quorum: 0.1, deadlineMs: 20_000 },
    });
    const federation = fed;
    const rng = createRng(21);
    const steps = Array.from({ length: N }, () => Float32Array.from({ length: DIM }, () => (rng.next() - 0.5) / 5));
    const samples = steps.map((_, i) => 10 + 3 * i); // p0 reports 10 samples, as startHostileMember is told
    const honest = steps.slice(1).map((step, k) =>
      new FederatedClient({
        url: federation.url,
        fingerprint: federation.fingerprint,
        token: federation.tokens[k + 1]!,
        model: new FakeModel(step),
        data: fakeData(samples[k + 1]!),
        reconnect: false,
      }).run(),
    );
    // Member p0 follows SecAgg+ honestly except that it adds 2^31 to every word of its masked input.
    const hostile = await startHostileMember(federation.url, federation.fingerprint, federation.tokens[0]!, new FakeModel(steps[0]!).manifest, steps[0]!, 10, (stage, msg) => {
      if (stage === 'masked' && msg.kind === 'saMasked') for (let k = 0; k < msg.masked.length; k++) msg.masked[k] = ((msg.masked[k] as number) + 2 ** 31) >>> 0;
      return msg;
    });
    const [records] = await Promise.all([federation.coordinator.run(), hostile.done, ...honest]);
    const record = records[0]!;

    expect(record.outcome).toBe('completed');
    expect(record.units).toBe(2);
    const groups = Object.entries(record.unitMembers);
    const hostileUnit = groups.find(([, members]) => members.includes('p0'))!;
    const cleanUnit = groups.find(([, members]) => !members.includes('p0'))!;
    expect(hostileUnit[1]).toHaveLength(GROUP_SIZE);
    expect(record.rejected).toEqual([{ id: hostileUnit[0], reason: expect.stringMatching(/^sum outside the honest range \[\d+, \d+\] in \d+ of 64 coordinates/) }]);
    expect([...record.reported].sort()).toEqual(Array.from({ length: N }, (_, i) => `p${i}`).sort());

    // The new global adapter is the clean group's sample-weighted mean alone (FedAvg over one kept unit).
    const clean = cleanUnit[1].map((id) => Number(id.slice(1)));
    const total = clean.reduce((s, i) => s + samples[i]!, 0);
    const global = federation.coordinator.globalAdapter()!;
    for (let d = 0; d < DIM; d++) {
      const expected = clean.reduce((s, i) => s + (samples[i]! / total) * steps[i]![d]!, 0);
      expect(global[d]).toBeCloseTo(expected, 5);
    }

    // Negative evidence for the rejected group's members (the hostile one among them), positive for the rest.
    for (const id of hostileUnit[1]) expect(federation.coordinator.reputationOf(id), id).toBeLessThan(0.5);
    for (const id of cleanUnit[1]) expect(federation.coordinator.reputationOf(id), id).toBeGreaterThan(0.5);
  });
});
