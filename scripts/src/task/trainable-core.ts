/**
 * The framework half of a TrainableModel whose trainable weights are a list of tf.Variables and whose output
 * is a logits function of them, trained by tfjs autodiff: flat weight I/O, data and plan validation, the training
 * loop and evaluation. Used by the full-model FedAvg baseline (full-model.ts). LoraModel has its own loop with
 * hand-derived gradients (client-sdk/src/lora/lora-gradients.ts); the procedure is the same — fresh Adam per
 * train() call, softmax cross-entropy on the logits, seeded shuffles, batches built on the JS side, one loss
 * read-back per batch, trainMs counting only the time spent inside the generator (not the consumer's time between
 * batches) — so that the two models are compared on what they train, not on how. Caller mistakes throw
 * FedwardenError BAD_CONFIG; weights of the wrong length or with non-finite values throw BAD_UPDATE.
 */
import { type LabeledData, type TrainOptions, type TrainProgress, type TrainResult, batchLoop, meanSoftmaxCrossEntropy, oneHotTensor, rowsTensor, tf } from '@fedwarden/client';
import { FedwardenError } from '@fedwarden/shared';

/** count × inputDim → count × numClasses logits; a pure function of tensors, callers own tidy. */
export type LogitsFn = (x: tf.Tensor2D) => tf.Tensor2D;

/** The variables flattened in order (a copy). */
export function readVariables(variables: readonly tf.Variable[], size: number): Float32Array {
  const out = new Float32Array(size);
  let offset = 0;
  for (const v of variables) {
    out.set(v.dataSync() as Float32Array, offset);
    offset += v.size;
  }
  return out;
}

/** Assign `weights` (flat, in variable order) to the variables; BAD_UPDATE on a wrong length or a non-finite value. */
export function writeVariables(variables: readonly tf.Variable[], size: number, weights: Float32Array): void {
  if (!(weights instanceof Float32Array) || weights.length !== size) {
    throw new FedwardenError('BAD_UPDATE', `setWeights: expected ${size} values, got ${weights?.length}`);
  }
  for (let i = 0; i < weights.length; i++) {
    if (!Number.isFinite(weights[i])) throw new FedwardenError('BAD_UPDATE', `setWeights: non-finite value at index ${i}`);
  }
  tf.tidy(() => {
    let offset = 0;
    for (const v of variables) {
      v.assign(tf.tensor(weights.subarray(offset, offset + v.size), v.shape));
      offset += v.size;
    }
  });
}

/** BAD_CONFIG unless epochs, batch size, learning rate and the optional seed are usable. */
export function checkTrainOptions(options: TrainOptions): void {
  const { epochs, batchSize, learningRate } = options;
  if (!Number.isSafeInteger(epochs) || epochs < 1) throw new FedwardenError('BAD_CONFIG', `train: epochs must be a positive integer, got ${epochs}`);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new FedwardenError('BAD_CONFIG', `train: batchSize must be a positive integer, got ${batchSize}`);
  if (!(Number.isFinite(learningRate) && learningRate > 0)) throw new FedwardenError('BAD_CONFIG', `train: learningRate must be finite and > 0, got ${learningRate}`);
  if (options.seed !== undefined && !Number.isSafeInteger(options.seed)) throw new FedwardenError('BAD_CONFIG', `train: seed must be an integer, got ${options.seed}`);
}

/** BAD_CONFIG unless `data` fits a model of `inputDim` inputs and `numClasses` classes. An empty set passes. */
export function checkLabeledData(data: LabeledData, inputDim: number, numClasses: number, method: string): void {
  const { count, inputs, labels } = data;
  if (data.inputDim !== inputDim) throw new FedwardenError('BAD_CONFIG', `${method}: inputDim ${data.inputDim} does not match the model's ${inputDim}`);
  if (data.numClasses !== numClasses) throw new FedwardenError('BAD_CONFIG', `${method}: numClasses ${data.numClasses} does not match the model's ${numClasses}`);
  if (!Number.isSafeInteger(count) || count < 0 || inputs.length !== count * inputDim || labels.length !== count) {
    throw new FedwardenError('BAD_CONFIG', `${method}: count ${count} does not match inputs (${inputs.length}) and labels (${labels.length})`);
  }
  for (let i = 0; i < count; i++) {
    const label = labels[i] as number;
    if (label < 0 || label >= numClasses) throw new FedwardenError('BAD_CONFIG', `${method}: label ${label} at index ${i} is outside [0, ${numClasses})`);
  }
}

export interface TrainLoopOptions {
  readonly data: LabeledData;
  readonly variables: readonly tf.Variable[];
  readonly logits: LogitsFn;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Shuffle seed. */
  readonly seed: number;
  /** Checked before every batch; true ends training with BAD_CONFIG. */
  readonly isDisposed: () => boolean;
}

/**
 * Train `variables` on validated data with a fresh Adam optimiser, yielding each batch's loss. Returns the
 * mean loss over the final epoch's batches and the active training time. Frees everything it allocates, also
 * when the consumer stops early.
 */
export async function* trainLoop(options: TrainLoopOptions): AsyncGenerator<TrainProgress, TrainResult, void> {
  const { data, variables, logits, epochs, batchSize, learningRate, seed, isDisposed } = options;
  const optimizer = tf.train.adam(learningRate);
  try {
    return yield* batchLoop({
      count: data.count,
      epochs,
      batchSize,
      seed,
      isDisposed,
      step: (rows) =>
        tf.tidy(() => {
          const xb = rowsTensor(data.inputs, data.inputDim, rows);
          const yb = oneHotTensor(data.labels, data.numClasses, rows);
          return optimizer.minimize(() => meanSoftmaxCrossEntropy(logits(xb), yb), true, variables as tf.Variable[]) as tf.Scalar;
        }),
    });
  } finally {
    optimizer.dispose();
  }
}
