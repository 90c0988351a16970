import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { createRng, normal } from '@fedwarden/shared';
import type { LabeledData, TrainProgress, TrainResult } from '../trainable-model.ts';
import { initTensorFlow } from '../tf/backend.ts';
import { disposeFrozenBase, readFrozenBase } from './frozen-base.ts';
import { FrozenProductCache } from './frozen-product-cache.ts';
import { createLoraModel } from './lora-model.ts';
import { referenceLogits, referenceTrain } from './test-helpers.ts';

const IN = 16;
const HIDDEN = 12;
const CLASSES = 4;
const RANK = 3;
const ALPHA = 6;
const PLAN = { epochs: 3, batchSize: 32, learningRate: 0.01 };

beforeAll(async () => {
  await initTensorFlow();
});

function smallBase(seed = 1): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ name: 'hidden', inputShape: [IN], units: HIDDEN, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed }), biasInitializer: tf.initializers.randomNormal({ seed: seed + 1, stddev: 0.1 }) }),
      tf.layers.dense({ name: 'output', units: CLASSES, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 2 }), biasInitializer: tf.initializers.randomNormal({ seed: seed + 3, stddev: 0.1 }) }),
    ],
  });
}

/** Random inputs; the label is the sign pattern of the first two inputs, something the adapters can learn. */
function randomData(count: number, seed: number): LabeledData {
  const rng = createRng(seed);
  const inputs = Float32Array.from({ length: count * IN }, () => normal(rng));
  const labels = Int32Array.from({ length: count }, (_, n) => ((inputs[n * IN] as number) > 0 ? 1 : 0) + ((inputs[n * IN + 1] as number) > 0 ? 2 : 0));
  return { inputs, labels, count, inputDim: IN, numClasses: CLASSES };
}

async function drain(gen: AsyncGenerator<TrainProgress, TrainResult, void>): Promise<TrainResult> {
  for (;;) {
    const step = await gen.next();
    if (step.done) return step.value;
  }
}

function expectAllClose(actual: Float32Array, expected: Float32Array, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
  expect(worst).toBeLessThan(tolerance);
}

describe('frozen first-layer product cache', () => {
  it('computes x·W + b once per contents, and again when the contents change in place', () => {
    const model = smallBase();
    const base = readFrozenBase(model);
    model.dispose();
    const layer = base.layers[0];
    if (layer === undefined) throw new Error('no layer');
    const cache = new FrozenProductCache(layer);
    const data = randomData(40, 2);
    const expected = (inputs: Float32Array) =>
      tf.tidy(() => tf.add(tf.matMul(tf.tensor2d(inputs, [40, IN]), layer.kernel), layer.bias as tf.Tensor1D).dataSync() as Float32Array);

    const first = cache.productFor(data.inputs);
    expectAllClose(first, expected(data.inputs), 1e-5);
    expect(cache.productFor(data.inputs)).toBe(first); // a hit: the same array back
    expect(cache.productFor(data.inputs.slice())).toBe(first); // keyed by contents, not identity

    data.inputs[7] = (data.inputs[7] as number) + 1; // one value changed in place
    const second = cache.productFor(data.inputs);
    expect(second).not.toBe(first);
    expectAllClose(second, expected(data.inputs), 1e-5);
    cache.clear();
    expect(cache.productFor(data.inputs)).not.toBe(second);
    disposeFrozenBase(base);
  });

  it('trains to the weights of the straightforward uncached loop, across train() calls that reuse the cache', async () => {
    const base = smallBase();
    const data = randomData(100, 3); // 4 batches a epoch, the last one partial
    const model = createLoraModel(base, { rank: RANK, alpha: ALPHA, seed: 5 });
    const initial = model.getWeights();

    await drain(model.train(data, { ...PLAN, seed: 42 }));
    const afterFirst = model.getWeights();
    const expectedFirst = referenceTrain(base, initial, data, { ...PLAN, seed: 42 }, RANK, model.scale);
    expect(afterFirst).not.toEqual(initial);
    expectAllClose(afterFirst, expectedFirst, 1e-5);

    await drain(model.train(data, { ...PLAN, seed: 43 })); // same data: the product comes from the cache
    expectAllClose(model.getWeights(), referenceTrain(base, afterFirst, data, { ...PLAN, seed: 43 }, RANK, model.scale), 1e-5);
    model.dispose();
    base.dispose();
  });

  it('sees inputs changed in place between train() calls', async () => {
    const base = smallBase();
    const data = randomData(100, 4);
    const model = createLoraModel(base, { rank: RANK, alpha: ALPHA, seed: 6 });
    await drain(model.train(data, { ...PLAN, seed: 7 }));
    const start = model.getWeights();

    // Same array, same length, new contents (a caller reusing its buffer): a stale product would train on the
    // old first-layer pre-activations and land elsewhere.
    const fresh = randomData(100, 5);
    data.inputs.set(fresh.inputs);
    await drain(model.train(data, { ...PLAN, seed: 8 }));
    expectAllClose(model.getWeights(), referenceTrain(base, start, data, { ...PLAN, seed: 8 }, RANK, model.scale), 1e-5);
    model.dispose();
    base.dispose();
  });

  it('evaluates from the cache, and sees test inputs changed in place', async () => {
    const base = smallBase();
    const model = createLoraModel(base, { rank: RANK, alpha: ALPHA, seed: 9 });
    await drain(model.train(randomData(100, 6), { ...PLAN, seed: 1 })); // B ≠ 0 from here on
    const test = randomData(60, 7);
    const expectedLoss = (data: LabeledData): number => {
      const frozen = readFrozenBase(base);
      const weights = model.getWeights();
      const loss = tf.tidy(() => {
        const shapes = [[IN, RANK], [RANK, HIDDEN], [HIDDEN, RANK], [RANK, CLASSES]] as const;
        let offset = 0;
        const parts = shapes.map(([r, c]) => {
          const t = tf.tensor2d(weights.subarray(offset, offset + r * c), [r, c]);
          offset += r * c;
          return t;
        });
        const adapters = [{ a: parts[0] as tf.Tensor, b: parts[1] as tf.Tensor }, { a: parts[2] as tf.Tensor, b: parts[3] as tf.Tensor }];
        const logits = referenceLogits(tf.tensor2d(data.inputs, [data.count, IN]), frozen, adapters, model.scale);
        const targets = tf.oneHot(tf.tensor1d(data.labels, 'int32'), CLASSES).asType('float32');
        return tf.losses.softmaxCrossEntropy(targets, logits).dataSync()[0] as number;
      });
      disposeFrozenBase(frozen);
      return loss;
    };

    const first = await model.evaluate(test);
    expect(first.loss).toBeCloseTo(expectedLoss(test), 5);
    expect(await model.evaluate(test)).toEqual(first); // from the cache: the same figures
    test.inputs.set(randomData(60, 8).inputs);
    const second = await model.evaluate(test);
    expect(second.loss).not.toBeCloseTo(first.loss, 3);
    expect(second.loss).toBeCloseTo(expectedLoss(test), 5);
    model.dispose();
    base.dispose();
  });
});
