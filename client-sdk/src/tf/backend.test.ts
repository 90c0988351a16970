import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { FedwardenError } from '@fedwarden/shared';
import { type BackendPreference, initTensorFlow } from './backend.ts';

describe('initTensorFlow', () => {
  it('picks tfjs-node when installed, else wasm, and is idempotent under concurrent calls', async () => {
    const names = await Promise.all([initTensorFlow(), initTensorFlow('auto'), initTensorFlow()]);
    expect(new Set(names).size).toBe(1);
    expect(['tensorflow', 'wasm']).toContain(names[0]);
    expect(tf.getBackend()).toBe(names[0]);
    expect(tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0]).toBe(3);
  });

  it('honours an explicit preference and switches back', async () => {
    expect(await initTensorFlow('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(await initTensorFlow('wasm')).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('fails with BAD_CONFIG when tfjs-node is asked for but absent, and on unknown preferences', async () => {
    const auto = await initTensorFlow();
    if (auto !== 'tensorflow') {
      await expect(initTensorFlow('tensorflow')).rejects.toSatisfy((e) => e instanceof FedwardenError && e.code === 'BAD_CONFIG');
      expect(tf.getBackend()).toBe(auto); // a failed request leaves the backend as it was
    }
    await expect(initTensorFlow('gpu' as BackendPreference)).rejects.toThrow(/unknown backend preference gpu/);
  });
});
