import { beforeAll, describe, expect, it } from 'vitest';
import { initTensorFlow, tf } from '@fedwarden/client';
import { type MnistTask, prepareMnistTask } from './mnist-task.ts';
import { selectSamples } from './labeled-data.ts';

let task: MnistTask;

beforeAll(async () => {
  await initTensorFlow();
  // Default cache: the first run trains the base model (seconds), later runs load it.
  task = await prepareMnistTask({ seed: 1, clients: 10, alpha: 0.5 });
});

/** Byte equality; vitest's deep equality is slow on millions of elements. */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function key(inputs: Float32Array, row: number, dim: number): string {
  return Buffer.from(inputs.buffer, inputs.byteOffset + row * dim * 4, dim * 4).toString('base64');
}

describe('MNIST domain-shift task', () => {
  it('splits the digits into disjoint base, pool and test parts, and shards the pool', () => {
    expect(task.test.count).toBe(1500);
    expect(task.pool.count).toBe(4500);
    expect(task.shards).toHaveLength(10);
    expect(task.shards.reduce((n, s) => n + s.count, 0)).toBe(task.pool.count);
    expect(Math.min(...task.shards.map((s) => s.count))).toBeGreaterThanOrEqual(20);
    const dim = task.test.inputDim;
    const poolKeys = new Set(Array.from({ length: task.pool.count }, (_, i) => key(task.pool.inputs, i, dim)));
    const shardKeys = task.shards.flatMap((s) => Array.from({ length: s.count }, (_, i) => key(s.inputs, i, dim)));
    expect(shardKeys.every((k) => poolKeys.has(k))).toBe(true);
    const testOverlap = Array.from({ length: task.test.count }, (_, i) => key(task.test.inputs, i, dim)).filter((k) => poolKeys.has(k));
    expect(testOverlap.length).toBeLessThan(5); // MNIST has a few duplicate images, nothing more
    expect(task.root.count).toBe(100);
    const rootKeys = Array.from({ length: task.root.count }, (_, i) => key(task.root.inputs, i, dim));
    const testKeys = new Set(Array.from({ length: task.test.count }, (_, i) => key(task.test.inputs, i, dim)));
    expect(rootKeys.filter((k) => poolKeys.has(k) || testKeys.has(k)).length).toBeLessThan(3);
    expect(task.adapterParams).toBe(8 * (784 + 256) + 8 * (256 + 10));
  });

  it('is deterministic from the seed', async () => {
    const again = await prepareMnistTask({ seed: 1, clients: 10, alpha: 0.5 });
    expect(again.shards.map((s) => s.labels)).toEqual(task.shards.map((s) => s.labels));
    expect(again.shards.every((s, i) => sameBytes(s.inputs, (task.shards[i] as typeof s).inputs))).toBe(true);
    expect(sameBytes(again.test.inputs, task.test.inputs)).toBe(true);
    expect(sameBytes(again.pool.inputs, task.pool.inputs)).toBe(true);
    expect(again.baseAccuracy).toBe(task.baseAccuracy);
    again.dispose();
  });

  it('has a base model that is good upright and poor on rotated digits', () => {
    expect(task.baseUprightAccuracy).toBeGreaterThan(0.85);
    expect(task.baseAccuracy).toBeLessThan(0.3);
  });

  it('recovers rotated digits by central LoRA training on a few thousand of them', async () => {
    const model = task.createModel();
    const before = await model.evaluate(task.test);
    expect(before.accuracy).toBeCloseTo(task.baseAccuracy, 6); // B = 0: the base model
    const tensors = tf.memory().numTensors;
    const train = selectSamples(task.pool, Array.from({ length: 3000 }, (_, i) => i));
    const training = model.train(train, { epochs: 2, batchSize: 32, learningRate: 3e-3, seed: 1 });
    while (!(await training.next()).done);
    const after = await model.evaluate(task.test);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(after.accuracy).toBeGreaterThan(0.75);
    expect(after.accuracy).toBeGreaterThan(before.accuracy + 0.5);
    model.dispose();
  });
});
