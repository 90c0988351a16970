/**
 * Training batches assembled on the JS side: rows picked by index from row-major arrays, then uploaded.
 *
 * Why not tf.gather on a tensor holding the whole shard: on the wasm backend a 32-row gather from a 474 × 784
 * tensor measured ~0.9 ms, against ~20 µs to copy the rows here and upload them; one-hot targets built here also
 * save the OneHot/Cast kernels. Fresh arrays per batch: some backends (cpu) keep the array they are given.
 */
import * as tf from '@tensorflow/tfjs';

/** Rows `rows` of `source` (row-major, `width` columns), as a rows.length × width tensor. */
export function rowsTensor(source: Float32Array, width: number, rows: readonly number[]): tf.Tensor2D {
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, i) => out.set(source.subarray(row * width, (row + 1) * width), i * width));
  return tf.tensor2d(out, [rows.length, width]);
}

/**
 * The transpose of rowsTensor(source, width, rows): width × rows.length. Built here because the backward pass needs
 * xᵀ, and on the wasm backend both a transposed matMul and tf.transpose of a 32 × 784 batch cost several times a
 * plain matMul on a pre-transposed operand.
 */
export function rowsTensorTransposed(source: Float32Array, width: number, rows: readonly number[]): tf.Tensor2D {
  const n = rows.length;
  const out = new Float32Array(n * width);
  rows.forEach((row, i) => {
    const offset = row * width;
    for (let c = 0; c < width; c++) out[c * n + i] = source[offset + c] as number;
  });
  return tf.tensor2d(out, [width, n]);
}

/** One-hot rows (float32) for the labels at `rows`, as a rows.length × numClasses tensor. */
export function oneHotTensor(labels: Int32Array, numClasses: number, rows: readonly number[]): tf.Tensor2D {
  const out = new Float32Array(rows.length * numClasses);
  rows.forEach((row, i) => {
    out[i * numClasses + (labels[row] as number)] = 1;
  });
  return tf.tensor2d(out, [rows.length, numClasses]);
}
