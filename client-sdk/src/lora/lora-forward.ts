/**
 * LoRA forward pass (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models", arXiv:2106.09685):
 * every dense layer computes  act(x·W + (alpha/r)·(x·A)·B + b)  with W, b frozen and A (in × r), B (r × out)
 * trainable. A pure function of tensors; callers own tidy/dispose.
 *
 * The network output is the logits: a final softmax is left out (training uses softmax cross-entropy on
 * logits, which is the stable form). A final activation other than softmax is applied, and its output is
 * treated as the logits.
 */
import * as tf from '@tensorflow/tfjs';
import type { DenseActivation, FrozenBase, FrozenDense } from './frozen-base.ts';

export interface LoraPair {
  /** in × r */
  readonly a: tf.Tensor;
  /** r × out */
  readonly b: tf.Tensor;
}

/**
 * `x` is count × inputDim; returns count × numClasses logits. `adapters[i]` belongs to `base.layers[i]`.
 * `firstProduct`, when given, is the first layer's frozen x·W + b for these rows (frozen-product-cache.ts), used
 * in place of computing it.
 */
export function loraLogits(
  x: tf.Tensor2D,
  base: FrozenBase,
  adapters: readonly LoraPair[],
  scale: number,
  firstProduct?: tf.Tensor2D,
): tf.Tensor2D {
  let h: tf.Tensor2D = x;
  const last = base.layers.length - 1;
  base.layers.forEach((layer, i) => {
    const adapter = adapters[i];
    if (adapter === undefined) throw new Error(`loraLogits: no adapter for layer ${layer.name}`);
    // (x·A)·B keeps the low-rank product on the batch × r side: cheaper than forming A·B for small batches.
    const low = tf.matMul(tf.mul(tf.matMul(h, adapter.a), scale), adapter.b);
    const z = tf.add(i === 0 && firstProduct !== undefined ? firstProduct : frozenProduct(h, layer), low);
    h = (i === last && layer.activation === 'softmax' ? z : activate(z, layer.activation)) as tf.Tensor2D;
  });
  return h;
}

/** h·W + b of a frozen layer. */
function frozenProduct(h: tf.Tensor2D, layer: FrozenDense): tf.Tensor {
  const product = tf.matMul(h, layer.kernel);
  return layer.bias === null ? product : tf.add(product, layer.bias);
}

/** y = act(z) for a dense layer's activation. */
export function activate(z: tf.Tensor, activation: DenseActivation): tf.Tensor {
  switch (activation) {
    case 'linear':
      return z;
    case 'relu':
      return tf.relu(z);
    case 'softmax':
      return tf.softmax(z);
    case 'sigmoid':
      return tf.sigmoid(z);
    case 'tanh':
      return tf.tanh(z);
    default: {
      const unreachable: never = activation;
      throw new Error(`activate: unsupported activation ${String(unreachable)}`);
    }
  }
}

/** Mean softmax cross-entropy of `logits` against one-hot `targets`. */
export function meanSoftmaxCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(targets, logits) as tf.Scalar;
}
