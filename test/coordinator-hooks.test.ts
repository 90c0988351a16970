/**
 * The coordinator's operator hooks (evaluate, reference, strategy) are the operator's code: when they throw or
 * return nonsense, the round loses what the hook would have added (accuracy in the record, the trusted
 * reference), never the round; a strategy, without which there is no step, costs that round only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createFedAvg, type RoundRecord, type Strategy } from '@fedwarden/coordinator';
import { fakeClients, startFederation, type TestFederation } from './support/federation.ts';

let fed: TestFederation | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
});

async function runWith(options: Parameters<typeof startFederation>[3]): Promise<{ records: readonly RoundRecord[]; global: Float32Array }> {
  fed = await startFederation(2, { rounds: { count: 2, minParticipants: 2, deadlineMs: 10_000 } }, {}, options);
  const clients = fakeClients(fed, [0, 1].map((i) => Float32Array.from([0.1 * (i + 1), -0.2, 0.3])));
  const runs = clients.map((c) => c.run());
  const records = await fed.coordinator.run();
  const [summary] = await Promise.all(runs);
  return { records, global: summary!.global };
}

describe('operator hooks', () => {
  it('a throwing evaluator costs the record its accuracy, not the round', async () => {
    const { records } = await runWith({ evaluate: () => Promise.reject(new Error('evaluator crashed')) });
    expect(records.map((r) => r.outcome)).toEqual(['completed', 'completed']);
    expect(records.every((r) => r.accuracy === undefined)).toBe(true);
  });

  it('a non-finite score is left out of the record', async () => {
    const { records } = await runWith({ evaluate: () => Promise.resolve(Number.NaN) });
    expect(records.map((r) => r.outcome)).toEqual(['completed', 'completed']);
    expect(records.every((r) => !('accuracy' in r))).toBe(true);
  });

  it('a working evaluator scores every completed round', async () => {
    let calls = 0;
    const { records } = await runWith({ evaluate: () => Promise.resolve(0.25 * ++calls) });
    expect(records.map((r) => r.accuracy)).toEqual([0.25, 0.5]);
  });

  it('an evaluator may report accuracy and loss; each figure out of range is left out alone', async () => {
    const scores = [{ accuracy: 0.75, loss: 0.5 }, { accuracy: 1.5, loss: 0.25 }];
    const { records } = await runWith({ evaluate: (_, round) => scores[round - 1]! });
    expect(records.map((r) => [r.accuracy, r.evaluationLoss])).toEqual([
      [0.75, 0.5],
      [undefined, 0.25],
    ]);
  });

  it("the evaluator gets each completed round's number and a copy of the new global adapter", async () => {
    const seen: Array<[number, number[]]> = [];
    const { global } = await runWith({
      evaluate: (adapter, round) => {
        seen.push([round, Array.from(adapter)]);
        adapter.fill(99); // a copy: the coordinator's adapter is unaffected
        return 0.5;
      },
    });
    expect(seen.map(([round]) => round)).toEqual([1, 2]);
    expect(seen[1]![1]).toEqual(Array.from(global));
    expect(Array.from(global)).toEqual([0.3, -0.4, 0.6].map((x) => expect.closeTo(x, 5)));
  });

  it("an operator's strategy replaces the configured one", async () => {
    const halfFedAvg: Strategy = {
      name: 'half-fedavg',
      tolerance: 'none',
      aggregate: (units, ctx) => {
        const result = createFedAvg().aggregate(units, ctx);
        return { ...result, step: result.step.map((x) => x / 2) };
      },
    };
    const { records, global } = await runWith({ strategy: halfFedAvg });
    expect(records.map((r) => r.reason)).toEqual([expect.stringContaining('half-fedavg'), expect.stringContaining('half-fedavg')]);
    expect(Array.from(global)).toEqual([0.15, -0.2, 0.3].map((x) => expect.closeTo(x, 5)));
  });

  it('a strategy that throws, or returns a malformed step, aborts that round only and leaves the adapter as it was', async () => {
    let round = 0;
    const flaky: Strategy = {
      name: 'flaky',
      tolerance: 'none',
      aggregate: (units, ctx) => {
        round++;
        if (round === 1) throw new Error('out of cheese');
        return { ...createFedAvg().aggregate(units, ctx), step: new Float32Array(ctx.dim + 1) };
      },
    };
    const { records, global } = await runWith({ strategy: flaky });
    expect(records.map((r) => [r.outcome, r.reason])).toEqual([
      ['aborted', 'flaky failed: out of cheese'],
      ['aborted', 'flaky failed: strategy flaky returned a step of 4 values for an adapter of 3'],
    ]);
    expect(Array.from(global)).toEqual([0, 0, 0]);
  });

  it('a throwing reference hook leaves the round to the other checks', async () => {
    const { records, global } = await runWith({ reference: () => Promise.reject(new Error('no root data today')) });
    expect(records.map((r) => r.outcome)).toEqual(['completed', 'completed']);
    // FedAvg of two equal-weight participants: each round adds the mean step.
    expect(Array.from(global)).toEqual([0.3, -0.4, 0.6].map((x) => expect.closeTo(x, 5)));
  });
});
