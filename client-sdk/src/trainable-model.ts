/**
 * TrainableModel: the one seam between the SDK and a training framework (TensorFlow.js here).
 *
 * Weights move in and out as one flat Float32Array laid out by the model's AdapterManifest. Everything the
 * SDK does above this interface (connection, masking, retries) is independent of the framework.
 */
import type { AdapterManifest, TrainingPlan } from '@fedwarden/shared';

/** Labelled examples as flat typed arrays: `inputs` is count × inputDim row-major, `labels` are class indices. */
export interface LabeledData {
  readonly inputs: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly inputDim: number;
  readonly numClasses: number;
}

export interface TrainProgress {
  readonly epoch: number;
  readonly batch: number;
  readonly loss: number;
}

export interface TrainResult {
  /** Mean training loss over the batches of the final epoch. */
  readonly meanLoss: number;
  readonly numSamples: number;
  readonly trainMs: number;
}

export interface Evaluation {
  readonly loss: number;
  readonly accuracy: number;
  readonly count: number;
}

export interface TrainOptions extends TrainingPlan {
  /** Seed for batch shuffling, so that a simulation is reproducible. */
  readonly seed?: number;
}

export interface TrainableModel {
  readonly manifest: AdapterManifest;
  /** Current trainable weights, flat, in manifest order (a copy). */
  getWeights(): Float32Array;
  /** Replace the trainable weights; throws if the length does not match the manifest. */
  setWeights(weights: Float32Array): void;
  /** Train the trainable weights on `data`, yielding progress per batch; returns a summary. */
  train(data: LabeledData, options: TrainOptions): AsyncGenerator<TrainProgress, TrainResult, void>;
  evaluate(data: LabeledData): Promise<Evaluation>;
  /** Free framework resources; the model is unusable afterwards. */
  dispose(): void;
}
