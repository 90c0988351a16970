/**
 * Frozen base for LoRA: reads a sequential tfjs LayersModel into a list of dense layers with frozen copies of
 * their kernels and biases, so that the LoRA forward pass (lora-forward.ts) is a plain function of tensors.
 *
 * Supported: Dense with activation linear | relu | softmax | sigmoid | tanh, and the pass-through layers
 * InputLayer, Flatten and Dropout. Dropout is the identity: the base is frozen and runs in inference mode.
 * Every other layer type fails with an error naming it. Inputs are flat rows (count × inputDim); a Dense layer
 * must see rank-2 input (put a Flatten before it otherwise).
 */
import * as tf from '@tensorflow/tfjs';
import { FedwardenError } from '@fedwarden/shared';

export type DenseActivation = 'linear' | 'relu' | 'softmax' | 'sigmoid' | 'tanh';

const DENSE_ACTIVATIONS: readonly DenseActivation[] = ['linear', 'relu', 'softmax', 'sigmoid', 'tanh'];
const PASS_THROUGH_LAYERS = new Set(['InputLayer', 'Flatten', 'Dropout']);

export interface FrozenDense {
  readonly name: string;
  readonly inDim: number;
  readonly outDim: number;
  readonly activation: DenseActivation;
  /** in × out, a copy of the base kernel (not a variable: nothing trains it). */
  readonly kernel: tf.Tensor2D;
  /** out, or null when the base layer has no bias. */
  readonly bias: tf.Tensor1D | null;
}

export interface FrozenBase {
  readonly inputDim: number;
  readonly numClasses: number;
  readonly layers: readonly FrozenDense[];
}

/**
 * Copy the dense layers of `base`. The copies share no state with the model: training or disposing the base
 * afterwards does not affect them. Dispose them with `disposeFrozenBase`.
 */
export function readFrozenBase(base: tf.LayersModel): FrozenBase {
  if (base.inputs.length !== 1 || base.outputs.length !== 1) {
    throw new FedwardenError('BAD_CONFIG', 'createLoraModel: base model must have exactly one input and one output');
  }
  const inputShape = base.inputs[0]?.shape ?? [];
  const featureDims = inputShape.slice(1);
  if (featureDims.some((d) => d == null || d <= 0)) {
    throw new FedwardenError('BAD_CONFIG', `createLoraModel: base input shape [${inputShape.join(', ')}] must be fully defined`);
  }
  const inputDim = (featureDims as number[]).reduce((a, b) => a * b, 1);

  const layers: FrozenDense[] = [];
  try {
    let rank = inputShape.length;
    let width = inputDim;
    for (const layer of base.layers) {
      const type = layer.getClassName();
      if (type === 'Flatten') {
        rank = 2;
        continue;
      }
      if (PASS_THROUGH_LAYERS.has(type)) continue;
      if (type !== 'Dense') {
        throw new FedwardenError(
          'BAD_CONFIG',
          `createLoraModel: layer ${layer.name} of type ${type} is not supported (Dense, Flatten, Dropout, InputLayer only)`,
        );
      }
      if (rank !== 2) {
        throw new FedwardenError('BAD_CONFIG', `createLoraModel: Dense layer ${layer.name} sees rank-${rank} input; add a Flatten before it`);
      }
      const config = layer.getConfig();
      const activation = config['activation'];
      if (typeof activation !== 'string' || !(DENSE_ACTIVATIONS as readonly string[]).includes(activation)) {
        throw new FedwardenError(
          'BAD_CONFIG',
          `createLoraModel: Dense layer ${layer.name} has unsupported activation ${JSON.stringify(activation)}`,
        );
      }
      const weights = layer.getWeights();
      const kernel = weights[0];
      if (kernel === undefined || kernel.rank !== 2) {
        throw new FedwardenError('BAD_CONFIG', `createLoraModel: Dense layer ${layer.name} has no rank-2 kernel`);
      }
      const [inDim, outDim] = kernel.shape as [number, number];
      if (inDim !== width) {
        throw new FedwardenError('BAD_CONFIG', `createLoraModel: Dense layer ${layer.name} expects ${inDim} inputs, gets ${width}`);
      }
      const biasSource = config['useBias'] === false ? undefined : weights[1];
      layers.push({
        name: layer.name,
        inDim,
        outDim,
        activation: activation as DenseActivation,
        kernel: tf.keep(kernel.clone()) as tf.Tensor2D,
        bias: biasSource === undefined ? null : (tf.keep(biasSource.clone()) as tf.Tensor1D),
      });
      width = outDim;
    }
    if (layers.length === 0) throw new FedwardenError('BAD_CONFIG', 'createLoraModel: base model has no Dense layer');
    return { inputDim, numClasses: width, layers };
  } catch (err) {
    disposeFrozenBase({ inputDim, numClasses: 0, layers });
    throw err;
  }
}

export function disposeFrozenBase(base: FrozenBase): void {
  for (const layer of base.layers) {
    layer.kernel.dispose();
    layer.bias?.dispose();
  }
}
