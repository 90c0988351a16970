/**
 * Full-model FedAvg baseline: every dense weight of the base is trained and sent, as DISCO and most federated
 * frameworks do, in the same TrainableModel harness as fedwarden's LoRA federation (issue 15, item 5).
 *
 * The coordinator draws the initial global vector from the manifest's initialisers (initAdapter), which cannot
 * express "the base weights"; so the trainable weights are deltas from the frozen base: per dense layer ΔW
 * (in × out) and Δb (out), and the layer computes  act(x·(W + ΔW) + (b + Δb)). The manifest has, per dense
 * layer in model order, `<layer>/kernel_delta` then `<layer>/bias_delta` (row-major, init zeros), so a model
 * with zero weights is exactly the base model. A layer without a bias gets no bias_delta: the baseline trains
 * the base's weights, it does not add new ones. Averaging deltas is averaging full weights (W is common to
 * every participant), so FedAvg over this vector is full-model FedAvg; its size is the base's parameter count.
 *
 * The network output is the logits: a final softmax is left out, as in the LoRA forward pass.
 *
 * Training, evaluation and errors are LoraModel's (client-sdk/src/lora/lora-model.ts), through
 * trainable-core.ts: a fresh Adam optimiser per train() call, softmax cross-entropy on the logits, seeded
 * shuffles (train()'s seed, else deriveSeed(options.seed, call number)); BAD_CONFIG for caller mistakes,
 * BAD_UPDATE for weights of the wrong length or with non-finite values.
 */
import {
  type Evaluation,
  type FrozenBase,
  type LabeledData,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  type TrainableModel,
  activate,
  evaluateInBatches,
  predictInBatches,
  disposeFrozenBase,
  readFrozenBase,
  tf,
} from '@fedwarden/client';
import { type AdapterEntry, type AdapterManifest, FedwardenError, createRng, deriveSeed, entrySize, initAdapter, manifestSize } from '@fedwarden/shared';
import { checkLabeledData, checkTrainOptions, readVariables, trainLoop, writeVariables } from './trainable-core.ts';

export interface FullModelOptions {
  /** Seed for train()'s shuffles when it gets none. Default 0. (The initial weights are zeros: no draw.) */
  readonly seed?: number;
}

/** The trainable deltas of one dense layer; `bias` is null when the base layer has no bias. */
export interface DenseDelta {
  /** in × out */
  readonly kernel: tf.Tensor;
  /** out */
  readonly bias: tf.Tensor | null;
}

export function createFullModel(base: tf.LayersModel, options: FullModelOptions = {}): FullModel {
  return new FullModel(base, options);
}

/** Manifest of the full-model deltas for a frozen base: per dense layer, kernel_delta then bias_delta, zeros. */
export function fullModelManifest(base: FrozenBase): AdapterManifest {
  const entries: AdapterEntry[] = [];
  for (const layer of base.layers) {
    entries.push({ name: `${layer.name}/kernel_delta`, shape: [layer.inDim, layer.outDim], init: { kind: 'zeros' } });
    if (layer.bias !== null) entries.push({ name: `${layer.name}/bias_delta`, shape: [layer.outDim], init: { kind: 'zeros' } });
  }
  return { entries };
}

/** `x` is count × inputDim; returns count × numClasses logits. `deltas[i]` belongs to `base.layers[i]`. */
export function fullModelLogits(x: tf.Tensor2D, base: FrozenBase, deltas: readonly DenseDelta[]): tf.Tensor2D {
  let h: tf.Tensor2D = x;
  const last = base.layers.length - 1;
  base.layers.forEach((layer, i) => {
    const delta = deltas[i];
    if (delta === undefined) throw new Error(`fullModelLogits: no delta for layer ${layer.name}`);
    // W + ΔW once per batch (in × out) is cheaper than a second batch × in × out product x·ΔW.
    let z = tf.matMul(h, tf.add(layer.kernel, delta.kernel));
    if (layer.bias !== null) z = tf.add(z, delta.bias === null ? layer.bias : tf.add(layer.bias, delta.bias));
    h = (i === last && layer.activation === 'softmax' ? z : activate(z, layer.activation)) as tf.Tensor2D;
  });
  return h;
}

export class FullModel implements TrainableModel {
  readonly manifest: AdapterManifest;
  readonly inputDim: number;
  readonly numClasses: number;
  private readonly frozen: FrozenBase;
  private readonly deltas: readonly DenseDelta[];
  /** The deltas in manifest order. */
  private readonly variables: readonly tf.Variable[];
  private readonly size: number;
  private readonly seed: number;
  private readonly logits = (x: tf.Tensor2D): tf.Tensor2D => fullModelLogits(x, this.frozen, this.deltas);
  private trainCalls = 0;
  private training = false;
  private disposed = false;

  constructor(base: tf.LayersModel, options: FullModelOptions) {
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new FedwardenError('BAD_CONFIG', `createFullModel: seed must be an integer, got ${seed}`);
    const frozen = readFrozenBase(base);
    this.frozen = frozen;
    this.inputDim = frozen.inputDim;
    this.numClasses = frozen.numClasses;
    this.seed = seed;
    this.manifest = fullModelManifest(frozen);
    this.size = manifestSize(this.manifest);

    // Drawn from the manifest as the coordinator does (all zeros: the rng is not consumed).
    const initial = initAdapter(this.manifest, createRng(seed));
    const variables: tf.Variable[] = [];
    let offset = 0;
    for (const entry of this.manifest.entries) {
      const n = entrySize(entry);
      variables.push(tf.tidy(() => tf.variable(tf.tensor(initial.subarray(offset, offset + n), [...entry.shape]), true)));
      offset += n;
    }
    this.variables = variables;
    const deltas: DenseDelta[] = [];
    let next = 0;
    for (const layer of frozen.layers) {
      const kernel = variables[next++] as tf.Variable;
      const bias = layer.bias === null ? null : (variables[next++] as tf.Variable);
      deltas.push({ kernel, bias });
    }
    this.deltas = deltas;
  }

  getWeights(): Float32Array {
    this.assertUsable('getWeights');
    return readVariables(this.variables, this.size);
  }

  setWeights(weights: Float32Array): void {
    this.assertUsable('setWeights');
    if (this.training) throw new FedwardenError('BAD_CONFIG', 'setWeights: model is training');
    writeVariables(this.variables, this.size, weights);
  }

  /** Validates eagerly (throws at the call); the returned generator trains as it is iterated. */
  train(data: LabeledData, options: TrainOptions): AsyncGenerator<TrainProgress, TrainResult, void> {
    this.assertUsable('train');
    checkTrainOptions(options);
    checkLabeledData(data, this.inputDim, this.numClasses, 'train');
    if (data.count === 0) throw new FedwardenError('BAD_CONFIG', 'train: no samples');
    const seed = options.seed ?? deriveSeed(this.seed, this.trainCalls);
    this.trainCalls++;
    return this.runTraining(data, options, seed);
  }

  private async *runTraining(data: LabeledData, options: TrainOptions, seed: number): AsyncGenerator<TrainProgress, TrainResult, void> {
    if (this.training) throw new FedwardenError('BAD_CONFIG', 'train: model is already training');
    this.assertUsable('train');
    this.training = true;
    try {
      return yield* trainLoop({
        data,
        variables: this.variables,
        logits: this.logits,
        epochs: options.epochs,
        batchSize: options.batchSize,
        learningRate: options.learningRate,
        seed,
        isDisposed: () => this.disposed,
      });
    } finally {
      this.training = false;
    }
  }

  async evaluate(data: LabeledData): Promise<Evaluation> {
    this.assertUsable('evaluate');
    checkLabeledData(data, this.inputDim, this.numClasses, 'evaluate');
    return evaluateInBatches(data, (x) => this.logits(x));
  }

  /** Raw outputs (before a final softmax) for `inputs`, count × numClasses row-major. */
  predictLogits(inputs: Float32Array): Float32Array {
    this.assertUsable('predictLogits');
    return predictInBatches(inputs, this.inputDim, this.numClasses, (x) => this.logits(x));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.variables) v.dispose();
    disposeFrozenBase(this.frozen);
  }

  private assertUsable(method: string): void {
    if (this.disposed) throw new FedwardenError('BAD_CONFIG', `${method}: model is disposed`);
  }
}
