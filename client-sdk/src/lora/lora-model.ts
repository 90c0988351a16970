/**
 * LoRA adapters on a frozen dense base model, as a TrainableModel (Hu et al. 2021, arXiv:2106.09685).
 *
 * Every Dense layer of the base gets a trainable pair A (in × r), B (r × out) and computes
 * act(x·W + (alpha/r)·(x·A)·B + b); W and b are frozen copies of the base weights (see frozen-base.ts for the
 * layer types accepted). Only A and B are trained, read and written: the flat weight vector is, per dense
 * layer in model order, `<layer>/lora_A` then `<layer>/lora_B`, each row-major.
 *
 * Initialisation (recorded in the manifest so that the coordinator draws the same start): B = 0, so that the
 * adapted model starts exactly at the base model; A ~ N(0, 1/in) — LeCun-normal scale, which keeps x·A of the
 * same order as the base layer's own pre-activations. (The reference implementation uses Kaiming-uniform for A,
 * std 1/sqrt(3·in); the manifest has no uniform initialiser, and on the MNIST demo the normal 1/sqrt(in) scale
 * converged slightly faster under FedAvg — within noise centrally.)
 *
 * Training: a fresh Adam optimiser per train() call (one call is one federated round), softmax
 * cross-entropy on the logits, seeded shuffles. Errors: caller mistakes throw FedwardenError BAD_CONFIG;
 * weights of the wrong length or with non-finite values throw BAD_UPDATE.
 *
 * Cost (issue 15): the first layer's frozen x·W + b is computed once per data set and reused across epochs,
 * train() calls and evaluate() calls (frozen-product-cache.ts: one product per model, keyed by the inputs' bytes);
 * gradients are back-propagated by hand (lora-gradients.ts) and batches assembled on the JS side
 * (lora-batches.ts). The frozen base may be shared between models (shared-frozen-base.ts).
 */
import * as tf from '@tensorflow/tfjs';
import {
  type AdapterEntry,
  type AdapterManifest,
  FedwardenError,
  createRng,
  deriveSeed,
  entrySize,
  initAdapter,
  manifestSize,
} from '@fedwarden/shared';
import type { Evaluation, LabeledData, TrainOptions, TrainProgress, TrainResult, TrainableModel } from '../trainable-model.ts';
import type { FrozenBase, FrozenDense } from './frozen-base.ts';
import { batchLoop } from '../tf/batch-loop.ts';
import { evaluateInBatches, predictInBatches } from '../tf/batched-logits.ts';
import { FrozenProductCache } from './frozen-product-cache.ts';
import { oneHotTensor, rowsTensor, rowsTensorTransposed } from './lora-batches.ts';
import { type LoraPair, loraLogits } from './lora-forward.ts';
import { disposeStepConstants, loraLossAndGradients, stepConstants } from './lora-gradients.ts';
import { type FrozenBaseLease, SharedFrozenBase } from './shared-frozen-base.ts';

export interface LoraOptions {
  /** Rank r of every adapter; at most min(in, out) of each dense layer. */
  readonly rank: number;
  /** Scale numerator: the low-rank term is multiplied by alpha / rank. */
  readonly alpha: number;
  /** Seed for the initial A draw and, when train() gets no seed, for its shuffles. Default 0. */
  readonly seed?: number;
  /**
   * Train B only and keep every A where the global adapter puts it (FFA-LoRA: Sun et al., ICLR 2024,
   * arXiv:2403.12313). With A shared by all participants, the mean of the B updates is exactly the mean of the
   * adapted layers' updates, which averaging A and B separately is not. Default false: A and B train.
   */
  readonly freezeA?: boolean;
}


/**
 * A LoRA model on `base`: either a tfjs model, whose dense layers the new model copies for itself, or a
 * SharedFrozenBase, on which the model takes a lease (released by its dispose(); see shared-frozen-base.ts).
 */
export function createLoraModel(base: tf.LayersModel | SharedFrozenBase, options: LoraOptions): LoraModel {
  return new LoraModel(base, options);
}

/** Manifest of the adapters for a frozen base: per dense layer, lora_A then lora_B. */
export function loraManifest(base: FrozenBase, rank: number): AdapterManifest {
  const entries: AdapterEntry[] = [];
  for (const layer of base.layers) {
    entries.push({ name: `${layer.name}/lora_A`, shape: [layer.inDim, rank], init: { kind: 'normal', std: 1 / Math.sqrt(layer.inDim) } });
    entries.push({ name: `${layer.name}/lora_B`, shape: [rank, layer.outDim], init: { kind: 'zeros' } });
  }
  return { entries };
}

export class LoraModel implements TrainableModel {
  readonly manifest: AdapterManifest;
  /** alpha / rank */
  readonly scale: number;
  readonly inputDim: number;
  readonly numClasses: number;
  readonly rank: number;
  private readonly frozen: FrozenBase;
  private readonly lease: FrozenBaseLease;
  /** The first dense layer, whose frozen x·W + b is cached per data set. */
  private readonly firstLayer: FrozenDense;
  /** The first layer's x·W + b for the data set last trained or evaluated on. */
  private readonly firstProducts: FrozenProductCache;
  /**
   * Every adapter in one flat variable, in manifest order (the getWeights() layout). One variable rather than one
   * per matrix because tf.train.adam runs ~14 kernels per variable per step: on wasm, Adam over four variables
   * cost ~0.7 ms a batch, as much as the whole forward and backward; the per-batch split into matrices is cheap.
   */
  private readonly weights: tf.Variable;
  /** Sizes of the manifest's entries, in order, for tf.split of the flat variable. */
  private readonly entrySizes: readonly number[];
  private readonly size: number;
  private readonly seed: number;
  /** B trains alone (LoraOptions.freezeA). */
  readonly freezeA: boolean;
  private trainCalls = 0;
  private training = false;
  private disposed = false;

  /**
   * A frozen copy of `base` to share between models: pass it to createLoraModel in place of `base`, and release()
   * it once no more models are to be made from it (ownership rule in shared-frozen-base.ts). The same as
   * SharedFrozenBase.read, reachable through the class for callers that import only LoraModel.
   */
  static shareBase(base: tf.LayersModel): SharedFrozenBase {
    return SharedFrozenBase.read(base);
  }

  constructor(base: tf.LayersModel | SharedFrozenBase, options: LoraOptions) {
    const { rank, alpha } = options;
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(rank) || rank < 1) throw new FedwardenError('BAD_CONFIG', `createLoraModel: rank must be a positive integer, got ${rank}`);
    if (!(Number.isFinite(alpha) && alpha > 0)) throw new FedwardenError('BAD_CONFIG', `createLoraModel: alpha must be finite and > 0, got ${alpha}`);
    if (!Number.isSafeInteger(seed)) throw new FedwardenError('BAD_CONFIG', `createLoraModel: seed must be an integer, got ${seed}`);

    let lease: FrozenBaseLease;
    if (base instanceof SharedFrozenBase) {
      lease = base.acquire();
    } else {
      // A private copy: the model holds the only lease.
      const own = SharedFrozenBase.read(base);
      lease = own.acquire();
      own.release();
    }
    const frozen = lease.base;
    const tooNarrow = frozen.layers.find((l) => rank > Math.min(l.inDim, l.outDim));
    if (tooNarrow !== undefined) {
      lease.release();
      throw new FedwardenError(
        'BAD_CONFIG',
        `createLoraModel: rank ${rank} exceeds min(in, out) = ${Math.min(tooNarrow.inDim, tooNarrow.outDim)} of layer ${tooNarrow.name}`,
      );
    }
    this.lease = lease;
    this.frozen = frozen;
    // readFrozenBase guarantees at least one dense layer.
    this.firstLayer = frozen.layers[0] as FrozenDense;
    this.firstProducts = new FrozenProductCache(this.firstLayer);
    this.inputDim = frozen.inputDim;
    this.numClasses = frozen.numClasses;
    this.rank = rank;
    this.scale = alpha / rank;
    this.seed = seed;
    this.freezeA = options.freezeA ?? false;
    this.manifest = loraManifest(frozen, rank);
    this.size = manifestSize(this.manifest);

    const initial = initAdapter(this.manifest, createRng(seed));
    this.weights = tf.tidy(() => tf.variable(tf.tensor1d(initial), true));
    this.entrySizes = this.manifest.entries.map(entrySize);
  }

  getWeights(): Float32Array {
    this.assertUsable('getWeights');
    return (this.weights.dataSync() as Float32Array).slice();
  }

  setWeights(weights: Float32Array): void {
    this.assertUsable('setWeights');
    if (this.training) throw new FedwardenError('BAD_CONFIG', 'setWeights: model is training');
    if (!(weights instanceof Float32Array) || weights.length !== this.size) {
      throw new FedwardenError('BAD_UPDATE', `setWeights: expected ${this.size} values, got ${weights?.length}`);
    }
    for (let i = 0; i < weights.length; i++) {
      if (!Number.isFinite(weights[i])) throw new FedwardenError('BAD_UPDATE', `setWeights: non-finite value at index ${i}`);
    }
    tf.tidy(() => this.weights.assign(tf.tensor1d(weights)));
  }

  /** The adapters as matrices, split from the flat variable: call inside tf.tidy. */
  private adapterViews(): LoraPair[] {
    const parts = tf.split(this.weights, [...this.entrySizes]);
    return this.frozen.layers.map((layer, i) => ({
      a: tf.reshape(parts[2 * i] as tf.Tensor, [layer.inDim, this.rank]),
      b: tf.reshape(parts[2 * i + 1] as tf.Tensor, [this.rank, layer.outDim]),
    }));
  }

  /** Validates eagerly (throws at the call); the returned generator trains as it is iterated. */
  train(data: LabeledData, options: TrainOptions): AsyncGenerator<TrainProgress, TrainResult, void> {
    this.assertUsable('train');
    const { epochs, batchSize, learningRate } = options;
    if (!Number.isSafeInteger(epochs) || epochs < 1) throw new FedwardenError('BAD_CONFIG', `train: epochs must be a positive integer, got ${epochs}`);
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new FedwardenError('BAD_CONFIG', `train: batchSize must be a positive integer, got ${batchSize}`);
    if (!(Number.isFinite(learningRate) && learningRate > 0)) throw new FedwardenError('BAD_CONFIG', `train: learningRate must be finite and > 0, got ${learningRate}`);
    if (options.seed !== undefined && !Number.isSafeInteger(options.seed)) throw new FedwardenError('BAD_CONFIG', `train: seed must be an integer, got ${options.seed}`);
    this.checkData(data, 'train');
    if (data.count === 0) throw new FedwardenError('BAD_CONFIG', 'train: no samples');
    const seed = options.seed ?? deriveSeed(this.seed, this.trainCalls);
    this.trainCalls++;
    return this.runTraining(data, epochs, batchSize, learningRate, seed);
  }

  private async *runTraining(
    data: LabeledData,
    epochs: number,
    batchSize: number,
    learningRate: number,
    seed: number,
  ): AsyncGenerator<TrainProgress, TrainResult, void> {
    if (this.training) throw new FedwardenError('BAD_CONFIG', 'train: model is already training');
    this.assertUsable('train');
    this.training = true;
    // A snapshot, so that the batches and the cached first-layer product agree even if the caller changes its
    // arrays while the generator is suspended between batches.
    const inputs = data.inputs.slice();
    const labels = data.labels.slice();
    const firstProduct = this.firstProducts.productFor(inputs);
    const firstWidth = this.firstLayer.outDim;
    const constants = stepConstants(this.frozen, this.scale);
    const optimizer = tf.train.adam(learningRate);
    try {
      return yield* batchLoop({
        count: data.count,
        epochs,
        batchSize,
        seed,
        isDisposed: () => this.disposed,
        step: (rows) =>
          tf.tidy(() => {
            const { loss, gradients } = loraLossAndGradients(
              {
                x: rowsTensor(inputs, data.inputDim, rows),
                xT: rowsTensorTransposed(inputs, data.inputDim, rows),
                firstProduct: rowsTensor(firstProduct, firstWidth, rows),
                targets: oneHotTensor(labels, data.numClasses, rows),
              },
              this.frozen,
              this.adapterViews(),
              constants,
            );
            // Frozen A: a zero gradient leaves Adam's moments, and so A, exactly where they are.
            const flat = tf.concat(gradients.map((g, k) => (this.freezeA && k % 2 === 0 ? tf.zeros([g.size]) : tf.reshape(g, [-1]))));
            optimizer.applyGradients([{ name: this.weights.name, tensor: flat }]);
            return loss;
          }),
      });
    } finally {
      disposeStepConstants(constants);
      optimizer.dispose();
      this.training = false;
    }
  }

  async evaluate(data: LabeledData): Promise<Evaluation> {
    this.assertUsable('evaluate');
    this.checkData(data, 'evaluate');
    if (data.count === 0) return { loss: Number.NaN, accuracy: Number.NaN, count: 0 };
    // The coordinator evaluates every round on the same test set: its first-layer product comes from the cache.
    const firstProduct = this.firstProducts.productFor(data.inputs);
    const firstWidth = this.firstLayer.outDim;
    return evaluateInBatches(data, (x, start, end) => {
      const first = tf.tensor2d(firstProduct.subarray(start * firstWidth, end * firstWidth), [end - start, firstWidth]);
      return loraLogits(x, this.frozen, this.adapterViews(), this.scale, first);
    });
  }

  /** Raw outputs (before a final softmax) for `inputs`, count × numClasses row-major. */
  predictLogits(inputs: Float32Array): Float32Array {
    this.assertUsable('predictLogits');
    return predictInBatches(inputs, this.inputDim, this.numClasses, (x) => loraLogits(x, this.frozen, this.adapterViews(), this.scale));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.weights.dispose();
    this.firstProducts.clear();
    this.lease.release();
  }

  private assertUsable(method: string): void {
    if (this.disposed) throw new FedwardenError('BAD_CONFIG', `${method}: model is disposed`);
  }

  private checkData(data: LabeledData, method: string): void {
    const { count, inputDim, numClasses, inputs, labels } = data;
    if (inputDim !== this.inputDim) throw new FedwardenError('BAD_CONFIG', `${method}: inputDim ${inputDim} does not match the model's ${this.inputDim}`);
    if (numClasses !== this.numClasses) throw new FedwardenError('BAD_CONFIG', `${method}: numClasses ${numClasses} does not match the model's ${this.numClasses}`);
    if (!Number.isSafeInteger(count) || count < 0 || inputs.length !== count * inputDim || labels.length !== count) {
      throw new FedwardenError('BAD_CONFIG', `${method}: count ${count} does not match inputs (${inputs.length}) and labels (${labels.length})`);
    }
    for (let i = 0; i < count; i++) {
      const label = labels[i] as number;
      if (label < 0 || label >= numClasses) throw new FedwardenError('BAD_CONFIG', `${method}: label ${label} at index ${i} is outside [0, ${numClasses})`);
    }
  }
}
