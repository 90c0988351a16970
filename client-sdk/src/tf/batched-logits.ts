/**
 * Evaluation and prediction in row batches, shared by the tfjs TrainableModels: a model supplies its logits for a
 * batch of rows (`start`..`end` of the data, so that a model with cached per-row products can slice them), and
 * these loops bound memory, sum the loss and hits, and read results back once per batch.
 */
import * as tf from '@tensorflow/tfjs';
import { FedwardenError } from '@fedwarden/shared';
import type { Evaluation, LabeledData } from '../trainable-model.ts';

/** Rows per forward pass; bounds memory, not results. */
export const EVAL_BATCH_SIZE = 1024;

/** Logits (rows × classes) of `x`, the data's rows start..end. Called inside tf.tidy. */
export type BatchLogits = (x: tf.Tensor2D, start: number, end: number) => tf.Tensor2D;

/** Mean softmax cross-entropy and accuracy on validated data; NaN for both on an empty set. */
export async function evaluateInBatches(data: LabeledData, logits: BatchLogits): Promise<Evaluation> {
  if (data.count === 0) return { loss: Number.NaN, accuracy: Number.NaN, count: 0 };
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < data.count; start += EVAL_BATCH_SIZE) {
    const end = Math.min(start + EVAL_BATCH_SIZE, data.count);
    const sums = tf.tidy(() => {
      const x = tf.tensor2d(data.inputs.subarray(start * data.inputDim, end * data.inputDim), [end - start, data.inputDim]);
      const labels = tf.tensor1d(data.labels.subarray(start, end), 'int32');
      const out = logits(x, start, end);
      const targets = tf.oneHot(labels, data.numClasses).asType('float32');
      const losses = tf.losses.softmaxCrossEntropy(targets, out, undefined, undefined, tf.Reduction.NONE);
      const hits = tf.equal(tf.argMax(out, 1).asType('int32'), labels).asType('float32');
      return tf.stack([tf.sum(losses), tf.sum(hits)]);
    });
    const [batchLoss, batchHits] = (await sums.data()) as Float32Array;
    sums.dispose();
    lossSum += batchLoss as number;
    correct += batchHits as number;
  }
  return { loss: lossSum / data.count, accuracy: correct / data.count, count: data.count };
}

/** Logits for flat `inputs` (count × inputDim), count × numClasses row-major; BAD_CONFIG on a ragged length. */
export function predictInBatches(inputs: Float32Array, inputDim: number, numClasses: number, logits: BatchLogits): Float32Array {
  if (inputs.length % inputDim !== 0) {
    throw new FedwardenError('BAD_CONFIG', `predictLogits: input length ${inputs.length} is not a multiple of ${inputDim}`);
  }
  const count = inputs.length / inputDim;
  const out = new Float32Array(count * numClasses);
  for (let start = 0; start < count; start += EVAL_BATCH_SIZE) {
    const end = Math.min(start + EVAL_BATCH_SIZE, count);
    const result = tf.tidy(() => logits(tf.tensor2d(inputs.subarray(start * inputDim, end * inputDim), [end - start, inputDim]), start, end));
    out.set(result.dataSync() as Float32Array, start * numClasses);
    result.dispose();
  }
  return out;
}
