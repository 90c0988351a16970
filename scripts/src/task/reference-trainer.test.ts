/**
 * The operator's reference trainer: the delta on all the root data, and replicates on disjoint parts that
 * together cover it, each trained from the round's global adapter.
 */
import { describe, expect, it } from 'vitest';
import type { LabeledData, TrainableModel, TrainOptions, TrainProgress, TrainResult } from '@fedwarden/client';
import { createReferenceTrainer } from './reference-trainer.ts';

/** A model whose "training" adds the sum of the labels it saw to weight 0 and their count to weight 1. */
function countingModel(): TrainableModel & { readonly seen: number[][] } {
  let weights = new Float32Array(2);
  const seen: number[][] = [];
  return {
    seen,
    manifest: { layers: [] } as unknown as TrainableModel['manifest'],
    getWeights: () => weights.slice(),
    setWeights: (w) => {
      weights = w.slice();
    },
    async *train(data: LabeledData, _options: TrainOptions): AsyncGenerator<TrainProgress, TrainResult, void> {
      seen.push(Array.from(data.labels));
      weights[0] = (weights[0] as number) + data.labels.reduce((s, l) => s + l, 0);
      weights[1] = (weights[1] as number) + data.count;
      return { meanLoss: 0, numSamples: data.count, trainMs: 0 };
    },
    evaluate: () => Promise.reject(new Error('not used')),
    dispose: () => {},
  };
}

const root = (count: number): LabeledData => ({
  inputs: new Float32Array(count),
  labels: Int32Array.from({ length: count }, (_, i) => i),
  count,
  inputDim: 1,
  numClasses: count,
});
const plan = { epochs: 1, batchSize: 8, learningRate: 0.1 };

describe('createReferenceTrainer', () => {
  it('trains the delta on all the root data and two replicates on disjoint halves that cover it', async () => {
    const model = countingModel();
    const train = createReferenceTrainer(model, root(10), plan, 7);
    const global = Float32Array.from([100, 100]);
    const { delta, replicates } = await train(global, 3);
    expect(Array.from(delta)).toEqual([45, 10]);
    expect(replicates).toHaveLength(2);
    expect(replicates.map((r) => r[1])).toEqual([5, 5]);
    expect(replicates.reduce((s, r) => s + (r[0] as number), 0)).toBe(45);
    const [all, a, b] = model.seen as [number[], number[], number[]];
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...a, ...b].sort((x, y) => x - y)).toEqual(all);
    expect([...global]).toEqual([100, 100]);
  });

  it('trains no replicates when asked for none, and refuses one or more than the root examples', async () => {
    expect((await createReferenceTrainer(countingModel(), root(4), plan, 1, { replicates: 0 })(new Float32Array(2), 1)).replicates).toEqual([]);
    expect(() => createReferenceTrainer(countingModel(), root(4), plan, 1, { replicates: 1 })).toThrow(/replicates 1/);
    expect(() => createReferenceTrainer(countingModel(), root(4), plan, 1, { replicates: 5 })).toThrow(/replicates 5/);
    expect(() => createReferenceTrainer(countingModel(), root(0), plan, 1)).toThrow(/empty root/);
  });
});
