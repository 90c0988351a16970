/**
 * Test support for the LoRA model: the straightforward maths and training loop that the optimised paths
 * (frozen-product-cache.ts, lora-gradients.ts, lora-batches.ts) must agree with. Not part of the build.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng, entrySize, shuffle } from '@fedwarden/shared';
import type { LabeledData, TrainOptions } from '../trainable-model.ts';
import { type DenseActivation, type FrozenBase, disposeFrozenBase, readFrozenBase } from './frozen-base.ts';
import type { LoraPair } from './lora-forward.ts';
import { loraManifest } from './lora-model.ts';

/**
 * The straightforward maths, as lora-forward.ts had it before issue 15: every layer computes
 * act(x·W + scale·(x·A)·B + b) from scratch, a final softmax left out. The optimised paths are checked against it.
 */
export function referenceLogits(x: tf.Tensor2D, base: FrozenBase, adapters: readonly LoraPair[], scale: number): tf.Tensor2D {
  let h: tf.Tensor2D = x;
  const last = base.layers.length - 1;
  base.layers.forEach((layer, i) => {
    const { a, b } = adapters[i] as LoraPair;
    const low = tf.matMul(tf.mul(tf.matMul(h, a), scale), b);
    let z = tf.add(tf.matMul(h, layer.kernel), low);
    if (layer.bias !== null) z = tf.add(z, layer.bias);
    if (i === last && layer.activation === 'softmax') {
      h = z as tf.Tensor2D;
      return;
    }
    const act: Record<DenseActivation, (t: tf.Tensor) => tf.Tensor> = {
      linear: (t) => t,
      relu: tf.relu,
      softmax: tf.softmax,
      sigmoid: tf.sigmoid,
      tanh: tf.tanh,
    };
    h = act[layer.activation](z) as tf.Tensor2D;
  });
  return h;
}

export function referenceLoss(x: tf.Tensor2D, targets: tf.Tensor2D, base: FrozenBase, adapters: readonly LoraPair[], scale: number): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(targets, referenceLogits(x, base, adapters, scale)) as tf.Scalar;
}

/**
 * Train adapters the straightforward way: the whole data set on the backend, batches by tf.gather, autodiff of
 * referenceLoss through optimizer.minimize (fresh Adam), the same seeded shuffle as LoraModel. Starts from
 * `initial` (the flat weights, manifest order) and returns the trained flat weights.
 */
export function referenceTrain(
  model: tf.LayersModel,
  initial: Float32Array,
  data: LabeledData,
  plan: TrainOptions & { readonly seed: number },
  rank: number,
  scale: number,
): Float32Array {
  const base = readFrozenBase(model);
  const manifest = loraManifest(base, rank);
  let offset = 0;
  const variables = manifest.entries.map((entry) => {
    const n = entrySize(entry);
    const v = tf.variable(tf.tensor(initial.subarray(offset, offset + n), [...entry.shape]));
    offset += n;
    return v;
  });
  const adapters = base.layers.map((_, i) => ({ a: variables[2 * i] as tf.Variable, b: variables[2 * i + 1] as tf.Variable }));
  const x = tf.tensor2d(data.inputs, [data.count, data.inputDim]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(data.labels, 'int32'), data.numClasses).asType('float32')) as tf.Tensor2D;
  const optimizer = tf.train.adam(plan.learningRate);
  const rng = createRng(plan.seed);
  const order = Array.from({ length: data.count }, (_, i) => i);
  for (let epoch = 0; epoch < plan.epochs; epoch++) {
    shuffle(rng, order);
    for (let start = 0; start < data.count; start += plan.batchSize) {
      tf.tidy(() => {
        const idx = tf.tensor1d(order.slice(start, start + plan.batchSize), 'int32');
        const xb = tf.gather(x, idx) as tf.Tensor2D;
        const yb = tf.gather(y, idx) as tf.Tensor2D;
        optimizer.minimize(() => referenceLoss(xb, yb, base, adapters, scale), false, variables);
      });
    }
  }
  const out = new Float32Array(initial.length);
  offset = 0;
  for (const v of variables) {
    out.set(v.dataSync() as Float32Array, offset);
    offset += v.size;
  }
  tf.dispose([x, y, ...variables]);
  optimizer.dispose();
  disposeFrozenBase(base);
  return out;
}
