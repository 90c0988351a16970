import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { FedwardenError, createRng, normal } from '@fedwarden/shared';
import { initTensorFlow } from '../tf/backend.ts';
import { createLoraModel } from './lora-model.ts';
import { SharedFrozenBase } from './shared-frozen-base.ts';

beforeAll(async () => {
  await initTensorFlow();
});

function base(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [6], units: 5, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }),
    ],
  });
}

const inputs = (() => {
  const rng = createRng(3);
  return Float32Array.from({ length: 4 * 6 }, () => normal(rng));
})();

describe('shared frozen base', () => {
  it('lets models share one copy of the base, freed when the last holder lets go', () => {
    const model = base();
    const alone = createLoraModel(model, { rank: 2, alpha: 2, seed: 1 });
    const expected = alone.predictLogits(inputs);
    alone.dispose();

    const tensorsBefore = tf.memory().numTensors;
    const bytesBefore = tf.memory().numBytes;
    const shared = SharedFrozenBase.read(model);
    expect(tf.memory().numTensors - tensorsBefore).toBe(4); // 2 kernels + 2 biases
    const baseBytes = tf.memory().numBytes - bytesBefore;
    const a = createLoraModel(shared, { rank: 2, alpha: 2, seed: 1 });
    const bytesWithOne = tf.memory().numBytes;
    const b = createLoraModel(shared, { rank: 2, alpha: 2, seed: 1 });
    expect(tf.memory().numBytes - bytesWithOne).toBeLessThan(baseBytes); // b holds its adapters, not a base copy
    model.dispose(); // the shared copy does not depend on the tfjs model

    shared.release(); // the caller's reference; the models still hold theirs
    shared.release(); // idempotent
    expect(shared.disposed).toBe(false);
    expect(a.predictLogits(inputs)).toEqual(expected);
    a.dispose();
    expect(b.predictLogits(inputs)).toEqual(expected);
    b.dispose();
    b.dispose(); // idempotent: does not drop a reference twice
    expect(shared.disposed).toBe(true);
    expect(tf.memory().numTensors).toBe(tensorsBefore - 4); // the tfjs model's own 4 weights went with model.dispose()
  });

  it('refuses new models once the caller has released it, and keeps its reference when a model is rejected', () => {
    const model = base();
    const shared = SharedFrozenBase.read(model);
    model.dispose();
    expect(() => createLoraModel(shared, { rank: 4, alpha: 1 })).toThrow(FedwardenError); // rank > min(5, 3)
    const ok = createLoraModel(shared, { rank: 1, alpha: 1 });
    shared.release();
    expect(() => createLoraModel(shared, { rank: 1, alpha: 1 })).toThrow(/released/);
    expect(shared.disposed).toBe(false);
    ok.dispose();
    expect(shared.disposed).toBe(true);
  });
});
