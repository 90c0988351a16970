/**
 * The skeleton of one train() call that every tfjs TrainableModel here shares: a seeded shuffle per epoch, one
 * step per slice of the order (the model's own maths, returning the batch's loss as a scalar), one loss read-back
 * per batch, progress yielded per batch, and trainMs counting only the time spent inside the generator (not the
 * consumer's time between batches). The caller owns its optimizer and frees it in its own `finally`.
 */
import type * as tf from '@tensorflow/tfjs';
import { FedwardenError, createRng, shuffle } from '@fedwarden/shared';
import type { TrainProgress, TrainResult } from '../trainable-model.ts';

export interface BatchLoopOptions {
  readonly count: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
  /** True once the model was disposed: the loop stops with BAD_CONFIG before its next batch. */
  readonly isDisposed: () => boolean;
  /** Train on the samples at `rows`; returns the batch's loss (the loop reads and disposes it). */
  readonly step: (rows: readonly number[]) => tf.Scalar;
}

export async function* batchLoop(options: BatchLoopOptions): AsyncGenerator<TrainProgress, TrainResult, void> {
  const { count, epochs, batchSize, seed, isDisposed, step } = options;
  let resumedAt = performance.now();
  let activeMs = 0;
  const rng = createRng(seed);
  const order = Array.from({ length: count }, (_, i) => i);
  const batchesPerEpoch = Math.ceil(count / batchSize);
  let finalEpochLoss = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    shuffle(rng, order);
    for (let batch = 0; batch < batchesPerEpoch; batch++) {
      if (isDisposed()) throw new FedwardenError('BAD_CONFIG', 'train: model was disposed during training');
      const lossTensor = step(order.slice(batch * batchSize, (batch + 1) * batchSize));
      let loss: number;
      try {
        loss = (await lossTensor.data())[0] as number;
      } finally {
        lossTensor.dispose();
      }
      if (epoch === epochs - 1) finalEpochLoss += loss;
      activeMs += performance.now() - resumedAt;
      yield { epoch, batch, loss };
      resumedAt = performance.now();
    }
  }
  activeMs += performance.now() - resumedAt;
  return { meanLoss: finalEpochLoss / batchesPerEpoch, numSamples: count, trainMs: activeMs };
}
