import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTensorFlow, tf } from '@fedwarden/client';
import { selectSamples } from './labeled-data.ts';
import { loadOrTrainBaseModel } from './base-model.ts';
import { loadMnist } from './mnist.ts';

const SMALL = { hiddenUnits: 32, epochs: 2, batchSize: 64, learningRate: 3e-3 };
let dir: string;

beforeAll(async () => {
  await initTensorFlow();
  dir = await mkdtemp(join(tmpdir(), 'fedwarden-base-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const digits = loadMnist();
// Every 10th digit: 1,000 upright digits of all classes.
const data = selectSamples(digits, Array.from({ length: 1000 }, (_, i) => i * 10));

function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

describe('base model', () => {
  it('trains deterministically from the seed and learns upright digits', async () => {
    const a = await loadOrTrainBaseModel({ seed: 5, data, config: SMALL, cacheDir: null });
    const b = await loadOrTrainBaseModel({ seed: 5, data, config: SMALL, cacheDir: null });
    const c = await loadOrTrainBaseModel({ seed: 6, data, config: SMALL, cacheDir: null });
    expect(a.fromCache).toBe(false);
    expect(weightsOf(a.model)).toEqual(weightsOf(b.model));
    expect(weightsOf(a.model)).not.toEqual(weightsOf(c.model));
    const accuracy = tf.tidy(() => {
      const predicted = tf.argMax(a.model.predict(tf.tensor2d(data.inputs, [data.count, data.inputDim])) as tf.Tensor, 1);
      return tf.mean(tf.equal(predicted, tf.tensor1d(data.labels, 'int32')).asType('float32')).dataSync()[0] as number;
    });
    expect(accuracy).toBeGreaterThan(0.8);
    for (const m of [a, b, c]) m.model.dispose();
  });

  it('caches its artifacts and reloads the same model; a corrupt cache is retrained', async () => {
    const progress: string[] = [];
    const trained = await loadOrTrainBaseModel({ seed: 7, data, config: SMALL, cacheDir: dir, onProgress: (m) => progress.push(m) });
    expect(trained.fromCache).toBe(false);
    expect(progress.some((m) => m.includes('epoch 2/2'))).toBe(true);
    expect(trained.path).not.toBeNull();
    const path = trained.path as string;
    expect((await readdir(path)).sort()).toEqual(['meta.json', 'model.json', 'weights.bin']);

    const loaded = await loadOrTrainBaseModel({ seed: 7, data, config: SMALL, cacheDir: dir });
    expect(loaded.fromCache).toBe(true);
    expect(loaded.path).toBe(path);
    expect(weightsOf(loaded.model)).toEqual(weightsOf(trained.model));
    expect(loaded.model.layers.map((l) => l.name)).toEqual(['hidden', 'output']);

    // A different config is a different cache entry.
    const other = await loadOrTrainBaseModel({ seed: 7, data, config: { ...SMALL, epochs: 1 }, cacheDir: dir });
    expect(other.fromCache).toBe(false);
    expect(other.path).not.toBe(path);

    await writeFile(join(path, 'weights.bin'), new Uint8Array(12));
    const repaired = await loadOrTrainBaseModel({ seed: 7, data, config: SMALL, cacheDir: dir });
    expect(repaired.fromCache).toBe(false);
    expect(weightsOf(repaired.model)).toEqual(weightsOf(trained.model));
    expect((await loadOrTrainBaseModel({ seed: 7, data, config: SMALL, cacheDir: dir })).fromCache).toBe(true);
    for (const m of [trained, loaded, other, repaired]) m.model.dispose();
  });
});
