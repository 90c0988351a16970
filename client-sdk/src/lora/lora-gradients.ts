/**
 * Loss and adapter gradients of one LoRA training batch, by hand-written back-propagation (no gradient tape).
 *
 * Why not tf.grads / optimizer.minimize: on the wasm backend (issue 15) autodiff of the LoRA forward ran ~156
 * kernels per batch of 32, most of them on rank-8 tensors where the per-kernel cost dominates, and the tape
 * copies (Identity) every tensor it saves for the backward pass, the frozen 784 × 256 kernel included, on every
 * batch. Here the forward keeps exactly what the backward needs, and the backward computes only the adapter
 * gradients and the gradients flowing down to them. lora-gradients.test.ts checks the result against tf.grads of
 * the straightforward maths (loraLogits + softmax cross-entropy).
 *
 * Kernel choices, measured on wasm (batch 32, 784-256-10, rank 8): a matMul with a transposed operand costs 3–10×
 * an explicit tf.transpose plus a plain matMul, so every product here is plain: xᵀ comes with the batch, frozen
 * Wᵀ are transposed once per run, the rest per batch. tf.logSoftmax and tf.fused.matMul go through customGrad,
 * which costs ~100 µs per call on [32, 10]; their few element-wise kernels are cheaper.
 *
 * Maths, per dense layer i with input h (h = x for i = 0), adapters A (in × r), B (r × out), scale s:
 *   u = h·A,  v = s·u,  z = F + v·B,  y = act(z),   F = h·W + b (for i = 0 given: the cached frozen product);
 *   dz = act'(z) ⊙ dy,  dB = vᵀ·dz,  du = s·(dz·Bᵀ),  dA = hᵀ·du,  dh = dz·Wᵀ + du·Aᵀ (i > 0 only).
 * The logits L are the last layer's z when its activation is softmax (left out, as in lora-forward.ts), else
 * act(z). Loss: mean softmax cross-entropy, loss = −(1/n)·Σ t ⊙ logSoftmax(L), dL = (softmax(L) − t)/n.
 */
import * as tf from '@tensorflow/tfjs';
import type { DenseActivation, FrozenBase } from './frozen-base.ts';
import { type LoraPair, activate } from './lora-forward.ts';

export interface LoraBatch {
  /** n × inputDim */
  readonly x: tf.Tensor2D;
  /** inputDim × n: xᵀ, for dA of the first layer. */
  readonly xT: tf.Tensor2D;
  /** n × out of the first layer: its frozen x·W + b (see frozen-product-cache.ts). */
  readonly firstProduct: tf.Tensor2D;
  /** n × numClasses, one-hot (float32). */
  readonly targets: tf.Tensor2D;
}

/** Tensors that stay the same for a whole training run: made once per run, disposed by the caller. */
export interface LoraStepConstants {
  /** alpha / rank */
  readonly scale: tf.Scalar;
  /** Wᵀ per layer; null for the first, whose dx is never needed. */
  readonly kernelsT: readonly (tf.Tensor2D | null)[];
}

export interface LossAndGradients {
  /** Mean softmax cross-entropy over the batch. */
  readonly loss: tf.Scalar;
  /** Per layer, dA then dB: the manifest's order. */
  readonly gradients: readonly tf.Tensor[];
}

/** What the backward pass needs of one layer's forward. */
interface LayerTrace {
  /** The layer's input, transposed: in × n. */
  readonly hT: tf.Tensor2D;
  readonly v: tf.Tensor2D;
  readonly z: tf.Tensor2D;
  readonly y: tf.Tensor2D;
}

export function stepConstants(base: FrozenBase, scale: number): LoraStepConstants {
  return {
    scale: tf.scalar(scale),
    kernelsT: base.layers.map((layer, i) => (i === 0 ? null : (tf.transpose(layer.kernel) as tf.Tensor2D))),
  };
}

export function disposeStepConstants(constants: LoraStepConstants): void {
  constants.scale.dispose();
  for (const t of constants.kernelsT) t?.dispose();
}

/** A pure function of tensors: run it inside tf.tidy. */
export function loraLossAndGradients(
  batch: LoraBatch,
  base: FrozenBase,
  adapters: readonly LoraPair[],
  constants: LoraStepConstants,
): LossAndGradients {
  const { scale, kernelsT } = constants;
  const n = batch.x.shape[0];
  const last = base.layers.length - 1;
  const traces: LayerTrace[] = [];
  let h = batch.x;
  base.layers.forEach((layer, i) => {
    const { a, b } = adapterOf(adapters, i, layer.name);
    let frozen = batch.firstProduct;
    if (i > 0) {
      frozen = tf.matMul(h, layer.kernel);
      if (layer.bias !== null) frozen = tf.add(frozen, layer.bias);
    }
    const v = tf.mul(tf.matMul(h, a), scale) as tf.Tensor2D;
    const z = tf.add(frozen, tf.matMul(v, b)) as tf.Tensor2D;
    const y = i === last && layer.activation === 'softmax' ? z : (activate(z, layer.activation) as tf.Tensor2D);
    traces.push({ hT: i === 0 ? batch.xT : tf.transpose(h), v, z, y });
    h = y;
  });

  // Log-softmax by hand (see the header): shifted = L − max, logSoftmax = shifted − log Σ exp(shifted).
  const shifted = tf.sub(h, tf.max(h, 1, true));
  const exps = tf.exp(shifted);
  const sums = tf.sum(exps, 1, true);
  const logSoftmax = tf.sub(shifted, tf.log(sums));
  const loss = tf.mul(tf.sum(tf.mul(batch.targets, logSoftmax)), tf.scalar(-1 / n)) as tf.Scalar;
  let dy = tf.mul(tf.sub(tf.div(exps, sums), batch.targets), tf.scalar(1 / n)) as tf.Tensor2D;

  const gradients: tf.Tensor[] = new Array<tf.Tensor>(2 * base.layers.length);
  for (let i = last; i >= 0; i--) {
    const layer = base.layers[i];
    const trace = traces[i];
    if (layer === undefined || trace === undefined) throw new Error(`loraLossAndGradients: no layer ${i}`);
    const { a, b } = adapterOf(adapters, i, layer.name);
    const dz = i === last && layer.activation === 'softmax' ? dy : activationGradient(dy, trace.z, trace.y, layer.activation);
    const du = tf.mul(tf.matMul(dz, tf.transpose(b)), scale) as tf.Tensor2D;
    gradients[2 * i] = tf.matMul(trace.hT, du);
    gradients[2 * i + 1] = tf.matMul(tf.transpose(trace.v), dz);
    const kernelT = kernelsT[i];
    if (i > 0) {
      if (kernelT == null) throw new Error(`loraLossAndGradients: no transposed kernel for layer ${layer.name}`);
      dy = tf.add(tf.matMul(dz, kernelT), tf.matMul(du, tf.transpose(a))) as tf.Tensor2D;
    }
  }
  return { loss, gradients };
}

function adapterOf(adapters: readonly LoraPair[], i: number, name: string): LoraPair {
  const adapter = adapters[i];
  if (adapter === undefined) throw new Error(`loraLossAndGradients: no adapter for layer ${name}`);
  return adapter;
}

/** dz from dy for y = act(z): the same formulas as tfjs's own gradients of these ops. */
function activationGradient(dy: tf.Tensor2D, z: tf.Tensor2D, y: tf.Tensor2D, activation: DenseActivation): tf.Tensor2D {
  switch (activation) {
    case 'linear':
      return dy;
    case 'relu':
      return tf.mul(dy, tf.step(z));
    case 'sigmoid':
      return tf.mul(dy, tf.mul(y, tf.sub(1, y)));
    case 'tanh':
      return tf.mul(dy, tf.sub(1, tf.square(y)));
    case 'softmax': {
      const dyTimesY = tf.mul(dy, y);
      return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, 1, true), y));
    }
    default: {
      const unreachable: never = activation;
      throw new Error(`activationGradient: unsupported activation ${String(unreachable)}`);
    }
  }
}
