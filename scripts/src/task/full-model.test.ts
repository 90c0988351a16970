import { beforeAll, describe, expect, it } from 'vitest';
import { type LabeledData, type TrainProgress, type TrainResult, createLoraModel, initTensorFlow, tf } from '@fedwarden/client';
import { FedwardenError, createRng, deriveSeed, manifestSize, normal } from '@fedwarden/shared';
import { buildBaseModel } from './base-model.ts';
import { createFullModel } from './full-model.ts';
import { selectSamples } from './labeled-data.ts';
import { MNIST_CLASSES, MNIST_INPUT_DIM, loadMnist, rotate90 } from './mnist.ts';

const PLAN = { epochs: 2, batchSize: 32, learningRate: 3e-3 };

let base: tf.Sequential;
let rotated: LabeledData;

beforeAll(async () => {
  await initTensorFlow();
  // The task's 784-256(relu)-10(softmax) architecture, seeded; biases made non-zero so that they are exercised.
  base = buildBaseModel(7, MNIST_INPUT_DIM, 256, MNIST_CLASSES);
  const rng = createRng(8);
  for (const layer of base.layers) {
    const [kernel, bias] = layer.getWeights() as [tf.Tensor, tf.Tensor];
    const noisy = tf.tensor(Float32Array.from({ length: bias.size }, () => 0.1 * normal(rng)), bias.shape);
    layer.setWeights([kernel, noisy]);
    noisy.dispose();
  }
  const digits = loadMnist();
  const order = Array.from({ length: 160 }, (_, i) => Math.floor((i * digits.count) / 160)); // every class
  rotated = rotate90(selectSamples(digits, order));
});

async function drain(gen: AsyncGenerator<TrainProgress, TrainResult, void>): Promise<TrainResult> {
  for (;;) {
    const step = await gen.next();
    if (step.done) return step.value;
  }
}

/** relu(x·W1 + b1)·W2 + b2 from the base's own weights, with the same tfjs ops. */
function baseLogits(model: tf.LayersModel, inputs: Float32Array): Float32Array {
  const out = tf.tidy(() => {
    const [w1, b1] = model.layers[0]!.getWeights();
    const [w2, b2] = model.layers[1]!.getWeights();
    const x = tf.tensor2d(inputs, [inputs.length / MNIST_INPUT_DIM, MNIST_INPUT_DIM]);
    const h = tf.relu(tf.add(tf.matMul(x, w1 as tf.Tensor2D), b1!));
    return tf.add(tf.matMul(h as tf.Tensor2D, w2 as tf.Tensor2D), b2!);
  });
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FedwardenError);
    expect((err as FedwardenError).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('full-model FedAvg baseline', () => {
  it('has one kernel and one bias delta per dense layer, zeros, as many as the base has parameters', () => {
    const model = createFullModel(base, { seed: 1 });
    expect(model.manifest.entries.map((e) => [e.name, e.shape, e.init.kind])).toEqual([
      ['hidden/kernel_delta', [784, 256], 'zeros'],
      ['hidden/bias_delta', [256], 'zeros'],
      ['output/kernel_delta', [256, 10], 'zeros'],
      ['output/bias_delta', [10], 'zeros'],
    ]);
    expect(manifestSize(model.manifest)).toBe(base.countParams());
    expect(base.countParams()).toBe(784 * 256 + 256 + 256 * 10 + 10);
    expect(model.getWeights().every((v) => v === 0)).toBe(true);
    model.dispose();
  });

  it('gives no bias delta to a layer without a bias', () => {
    const noBias = tf.sequential({ layers: [tf.layers.dense({ name: 'only', inputShape: [5], units: 3, useBias: false, activation: 'softmax' })] });
    const model = createFullModel(noBias);
    expect(model.manifest.entries.map((e) => e.name)).toEqual(['only/kernel_delta']);
    expect(manifestSize(model.manifest)).toBe(noBias.countParams());
    model.dispose();
    noBias.dispose();
  });

  it('with zero weights, computes exactly the base model (logits, and its softmax output)', () => {
    const model = createFullModel(base);
    const logits = model.predictLogits(rotated.inputs);
    expect(Buffer.from(logits.buffer).equals(Buffer.from(baseLogits(base, rotated.inputs).buffer))).toBe(true);
    // LoRA with B = 0 is the base model too (up to float summation order, which its forward pass may change).
    const lora = createLoraModel(base, { rank: 8, alpha: 16, seed: 1 });
    const loraLogits = lora.predictLogits(rotated.inputs);
    lora.dispose();
    expect(logits.reduce((m, v, i) => Math.max(m, Math.abs(v - (loraLogits[i] as number))), 0)).toBeLessThan(1e-5);
    const probs = tf.tidy(() => tf.softmax(tf.tensor2d(logits, [rotated.count, MNIST_CLASSES])).dataSync() as Float32Array);
    const predicted = tf.tidy(() => (base.predict(tf.tensor2d(rotated.inputs, [rotated.count, MNIST_INPUT_DIM])) as tf.Tensor).dataSync() as Float32Array);
    const worst = probs.reduce((m, p, i) => Math.max(m, Math.abs(p - (predicted[i] as number))), 0);
    expect(worst).toBeLessThan(1e-6);
    model.dispose();
  });

  it('training on rotated digits lowers the loss and leaks no tensors', async () => {
    const model = createFullModel(base, { seed: 3 });
    const tensors = tf.memory().numTensors;
    const before = await model.evaluate(rotated);
    const progress: TrainProgress[] = [];
    const gen = model.train(rotated, { ...PLAN, epochs: 3 });
    let result: TrainResult;
    for (;;) {
      const step = await gen.next();
      if (step.done) {
        result = step.value;
        break;
      }
      progress.push(step.value);
    }
    const after = await model.evaluate(rotated);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(progress).toHaveLength(3 * Math.ceil(rotated.count / PLAN.batchSize));
    expect(result.numSamples).toBe(rotated.count);
    expect(result.trainMs).toBeGreaterThan(0);
    expect(after.loss).toBeLessThan(before.loss * 0.5);
    expect(after.accuracy).toBeGreaterThan(before.accuracy);

    expect(model.getWeights().filter((w) => w !== 0).length / manifestSize(model.manifest)).toBeGreaterThan(0.5);
    model.dispose();
  });

  it('one full-batch step moves exactly the weights whose gradient at the base is non-zero', async () => {
    // Adam's first step is about lr·sign(gradient): non-zero wherever the gradient is. On digits, the gradient
    // is exactly zero only for a pixel never lit while the hidden unit is active (blank border pixels,
    // inactive units); the dense-input test below shows every entry moving.
    const model = createFullModel(base, { seed: 3 });
    await drain(model.train(rotated, { epochs: 1, batchSize: rotated.count, learningRate: 1e-3 }));
    const weights = model.getWeights();
    const reachable = tf.tidy(() => {
      const [w1, b1] = base.layers[0]!.getWeights();
      const x = tf.tensor2d(rotated.inputs, [rotated.count, MNIST_INPUT_DIM]);
      const active = tf.greater(tf.add(tf.matMul(x, w1 as tf.Tensor2D), b1!), 0).asType('float32'); // count × 256
      const kernel = tf.greater(tf.matMul(tf.notEqual(x, 0).asType('float32'), active, true), 0); // 784 × 256
      const unit = tf.greater(tf.sum(active, 0), 0); // 256
      const outKernel = tf.tile(tf.reshape(unit, [256, 1]), [1, MNIST_CLASSES]);
      return tf.concat([kernel.flatten(), unit, outKernel.flatten(), tf.ones([MNIST_CLASSES], 'bool')]).dataSync() as Uint8Array;
    });
    expect(reachable).toHaveLength(weights.length);
    let mismatched = 0;
    let moved = 0;
    weights.forEach((w, i) => {
      if (w !== 0) moved++;
      if ((w !== 0) !== (reachable[i] === 1)) mismatched++;
    });
    expect(mismatched).toBe(0);
    expect(moved / weights.length).toBeGreaterThan(0.5);
    model.dispose();
  });

  it('changes literally every entry when every input is active (dense synthetic inputs)', async () => {
    const rng = createRng(5);
    const count = 90;
    const data: LabeledData = {
      inputs: Float32Array.from({ length: count * MNIST_INPUT_DIM }, () => normal(rng)),
      labels: Int32Array.from({ length: count }, (_, i) => i % MNIST_CLASSES),
      count,
      inputDim: MNIST_INPUT_DIM,
      numClasses: MNIST_CLASSES,
    };
    const model = createFullModel(base, { seed: 4 });
    await drain(model.train(data, PLAN));
    expect(model.getWeights().every((w) => w !== 0 && Number.isFinite(w))).toBe(true);
    model.dispose();
  });

  it('trains reproducibly from the seed; without a train() seed, call k shuffles with deriveSeed(seed, k)', async () => {
    const a = createFullModel(base, { seed: 9 });
    const b = createFullModel(base, { seed: 9 });
    const sample = selectSamples(rotated, Array.from({ length: 64 }, (_, i) => i));
    await drain(a.train(sample, PLAN));
    await drain(b.train(sample, PLAN));
    const wa = a.getWeights();
    expect(Buffer.from(wa.buffer).equals(Buffer.from(b.getWeights().buffer))).toBe(true);
    const c = createFullModel(base, { seed: 10 });
    await drain(c.train(sample, PLAN));
    expect(Buffer.from(wa.buffer).equals(Buffer.from(c.getWeights().buffer))).toBe(false);
    const d = createFullModel(base, { seed: 0 });
    await drain(d.train(sample, { ...PLAN, seed: deriveSeed(9, 0) }));
    expect(Buffer.from(wa.buffer).equals(Buffer.from(d.getWeights().buffer))).toBe(true);
    for (const m of [a, b, c, d]) m.dispose();
  });

  it('round-trips setWeights/getWeights, and a set vector moves the model', () => {
    const model = createFullModel(base);
    const size = manifestSize(model.manifest);
    const rng = createRng(11);
    const weights = Float32Array.from({ length: size }, () => 0.01 * normal(rng));
    model.setWeights(weights);
    const read = model.getWeights();
    expect(Buffer.from(read.buffer).equals(Buffer.from(weights.buffer))).toBe(true);
    read[0] = 123; // a copy
    expect(model.getWeights()[0]).toBe(weights[0]);
    const moved = model.predictLogits(rotated.inputs.subarray(0, MNIST_INPUT_DIM));
    model.setWeights(new Float32Array(size));
    const back = model.predictLogits(rotated.inputs.subarray(0, MNIST_INPUT_DIM));
    expect(Buffer.from(back.buffer).equals(Buffer.from(baseLogits(base, rotated.inputs.subarray(0, MNIST_INPUT_DIM)).buffer))).toBe(true);
    expect(Buffer.from(moved.buffer).equals(Buffer.from(back.buffer))).toBe(false);
    model.dispose();
  });

  it('rejects bad weights with BAD_UPDATE and caller mistakes with BAD_CONFIG', async () => {
    const model = createFullModel(base);
    const size = manifestSize(model.manifest);
    expectCode(() => model.setWeights(new Float32Array(size - 1)), 'BAD_UPDATE');
    expectCode(() => model.setWeights(new Float32Array(size + 1)), 'BAD_UPDATE');
    expectCode(() => model.setWeights(new Float64Array(size) as unknown as Float32Array), 'BAD_UPDATE');
    const nan = new Float32Array(size);
    nan[size - 1] = Number.NaN;
    expectCode(() => model.setWeights(nan), 'BAD_UPDATE');
    expect(model.getWeights().every((v) => v === 0)).toBe(true); // nothing half-applied

    expectCode(() => createFullModel(base, { seed: 0.5 }), 'BAD_CONFIG');
    expectCode(() => model.train(rotated, { ...PLAN, epochs: 0 }), 'BAD_CONFIG');
    expectCode(() => model.train(rotated, { ...PLAN, batchSize: 1.5 }), 'BAD_CONFIG');
    expectCode(() => model.train(rotated, { ...PLAN, learningRate: -1 }), 'BAD_CONFIG');
    expectCode(() => model.train(rotated, { ...PLAN, seed: Number.NaN }), 'BAD_CONFIG');
    expectCode(() => model.train({ ...rotated, inputDim: 10 }, PLAN), 'BAD_CONFIG');
    expectCode(() => model.train(selectSamples(rotated, []), PLAN), 'BAD_CONFIG');
    const badLabel = { ...rotated, labels: rotated.labels.slice() };
    badLabel.labels[3] = MNIST_CLASSES;
    expectCode(() => model.train(badLabel, PLAN), 'BAD_CONFIG');
    expectCode(() => model.predictLogits(new Float32Array(MNIST_INPUT_DIM + 1)), 'BAD_CONFIG');
    expect(await model.evaluate(selectSamples(rotated, []))).toEqual({ loss: Number.NaN, accuracy: Number.NaN, count: 0 });

    const gen = model.train(rotated, PLAN);
    await gen.next();
    expectCode(() => model.setWeights(new Float32Array(size)), 'BAD_CONFIG'); // training
    await expect(model.train(rotated, PLAN).next()).rejects.toMatchObject({ code: 'BAD_CONFIG' }); // already training
    await gen.return(undefined as unknown as TrainResult);
    model.setWeights(new Float32Array(size)); // free again

    const tensors = tf.memory().numTensors;
    model.dispose();
    expect(tf.memory().numTensors).toBeLessThan(tensors);
    expectCode(() => model.getWeights(), 'BAD_CONFIG');
    model.dispose(); // idempotent
  });
});
