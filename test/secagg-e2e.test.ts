/**
 * Secure aggregation end to end over real loopback sockets: the coordinator learns group sums that match the
 * survivors' updates when participants vanish at any stage, and aborts the round cleanly below threshold.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient, type RoundStage } from '@fedwarden/client';
import { createRng } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';

let fed: TestFederation | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
});

const DIM = 300;

function steps(n: number): Float32Array[] {
  const rng = createRng(9);
  return Array.from({ length: n }, () => Float32Array.from({ length: DIM }, () => rng.next() - 0.5));
}

/** Sample-weighted mean of the given participants' steps (what FedAvg over them yields). */
function weightedMean(all: Float32Array[], samples: number[], who: number[]): Float32Array {
  const out = new Float32Array(DIM);
  const total = who.reduce((s, i) => s + (samples[i] as number), 0);
  for (const i of who) for (let d = 0; d < DIM; d++) out[d] = (out[d] as number) + ((samples[i] as number) / total) * (all[i] as Float32Array)[d]!;
  return out;
}

/**
 * One secure-aggregation round with `n` participants in one group; participant i vanishes at `vanish[i]`.
 * Returns the coordinator's round record and global adapter.
 */
async function secaggRound(n: number, vanish: Map<number, RoundStage>) {
  fed = await startFederation(n, {
    privacy: 'secagg',
    secagg: { groupSize: n, stageTimeoutMs: 5_000 },
    rounds: { count: 1, minParticipants: n, quorum: 0.1, deadlineMs: 10_000 },
  });
  const all = steps(n);
  const samples = all.map((_, i) => 10 + 7 * i);
  const runs = all.map((step, i) => {
    const client = new FederatedClient({
      url: fed!.url,
      fingerprint: fed!.fingerprint,
      token: fed!.tokens[i]!,
      model: new FakeModel(step),
      data: fakeData(samples[i]!),
    });
    client.on('stage', (_round, stage) => {
      if (vanish.get(i) === stage) client.close();
    });
    return client.run().catch(() => 'vanished');
  });
  const [records] = await Promise.all([fed.coordinator.run(), ...runs]);
  return { record: records[0]!, global: fed.coordinator.globalAdapter()!, all, samples };
}

function participantIndex(id: string): number {
  return Number(id.slice(1));
}

describe('secure aggregation over sockets', () => {
  it('aggregates exactly the weighted mean of all updates when nobody drops', async () => {
    const { record, global, all, samples } = await secaggRound(5, new Map());
    expect(record.outcome).toBe('completed');
    expect(record.units).toBe(1);
    expect(record.reported).toHaveLength(5);
    const expected = weightedMean(all, samples, [0, 1, 2, 3, 4]);
    // Only quantization error remains: 5 values of 29-bit resolution over [-1, 1].
    for (let d = 0; d < DIM; d++) expect(global[d]).toBeCloseTo(expected[d]!, 6);
  });

  for (const stage of ['train', 'encaps', 'shares', 'masked', 'unmask'] as const) {
    it(`still yields the survivors' weighted mean when a participant vanishes at stage ${stage}`, async () => {
      const { record, global, all, samples } = await secaggRound(6, new Map([[2, stage]]));
      expect(record.outcome).toBe('completed');
      const contributors = record.reported.map(participantIndex).sort();
      // Vanishing before the masked upload removes the participant's update; vanishing at unmask does not
      // (its masked input already arrived, and the others' shares recover its self mask).
      const expectedContributors = stage === 'unmask' ? [0, 1, 2, 3, 4, 5] : [0, 1, 3, 4, 5];
      expect(contributors).toEqual(expectedContributors);
      const expected = weightedMean(all, samples, expectedContributors);
      for (let d = 0; d < DIM; d++) expect(global[d]).toBeCloseTo(expected[d]!, 6);
    });
  }

  it('aborts the round cleanly when too few participants answer the unmask stage', async () => {
    // Five members, complete graph: k = 4, t = ⌈8/3⌉ = 3. Three vanish at unmask: two answer, fewer than t.
    const { record, global } = await secaggRound(5, new Map([[0, 'unmask'], [1, 'unmask'], [2, 'unmask']]));
    expect(record.outcome).toBe('aborted');
    expect(record.reason).toMatch(/group 1 aborted/);
    expect(Array.from(global)).toEqual(new Array(DIM).fill(0)); // nothing half-applied
  });
});
