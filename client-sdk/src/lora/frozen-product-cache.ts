/**
 * The first dense layer's frozen pre-activation x·W + b for one data set, computed once and reused.
 *
 * Why: in the LoRA forward act(x·W + s·(x·A)·B + b), x·W + b depends on the participant's data and the frozen
 * base only, and on the MNIST task it is ~87% of the arithmetic of a training step (784·256 of the 784·256 +
 * 784·8 + 8·256 + ... multiply-adds per sample). A participant trains on the same shard every epoch of every
 * round, and the coordinator evaluates on the same test set every round, so the product is computed once per
 * (data, base) instead of once per epoch.
 *
 * Invalidation: the key is a SHA-256 of the input bytes, not the array's identity, so contents changed in place
 * (a caller reusing its buffer, a poisoning wrapper) are seen. Hashing measured 1–2.5 ms per MB (Node 20, shared
 * machine): a few percent of one round's training, against a matrix product over the whole data set per epoch.
 *
 * Storage: one product per cache (one cache per model), as a Float32Array: training assembles its batches on the
 * JS side (see lora-batches.ts), because tf.gather of 32 rows on the wasm backend measured ~0.9 ms against
 * ~20 µs for a row copy and upload. `clear()` drops it; the model clears it on dispose().
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { FrozenDense } from './frozen-base.ts';

/** Rows per matrix product when filling the cache; bounds backend memory, not results. */
const CHUNK_ROWS = 1024;

export class FrozenProductCache {
  private key: string | null = null;
  private product: Float32Array | null = null;

  constructor(private readonly layer: FrozenDense) {}

  /**
   * x·W + b (count × out, row-major) for `inputs` (count × in, row-major): from the cache when `inputs` holds the
   * same bytes as last time, else computed now (and cached in place of the previous product).
   */
  productFor(inputs: Float32Array): Float32Array {
    const key = fingerprint(inputs);
    if (key === this.key && this.product !== null) return this.product;
    this.clear();
    const product = frozenProduct(inputs, this.layer);
    this.key = key;
    this.product = product;
    return product;
  }

  clear(): void {
    this.key = null;
    this.product = null;
  }
}

/** SHA-256 of the bytes of `values`, hex. */
export function fingerprint(values: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).digest('hex');
}

function frozenProduct(inputs: Float32Array, layer: FrozenDense): Float32Array {
  const { inDim, outDim, kernel, bias } = layer;
  const count = inputs.length / inDim;
  const out = new Float32Array(count * outDim);
  for (let start = 0; start < count; start += CHUNK_ROWS) {
    const end = Math.min(start + CHUNK_ROWS, count);
    const chunk = tf.tidy(() => {
      const x = tf.tensor2d(inputs.subarray(start * inDim, end * inDim), [end - start, inDim]);
      return bias === null ? tf.matMul(x, kernel) : tf.fused.matMul({ a: x, b: kernel, bias });
    });
    out.set(chunk.dataSync() as Float32Array, start * outDim);
    chunk.dispose();
  }
  return out;
}
