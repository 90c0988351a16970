import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { FedwardenError, createRng, normal } from '@fedwarden/shared';
import type { LabeledData, TrainProgress, TrainResult } from '../trainable-model.ts';
import { initTensorFlow } from '../tf/backend.ts';
import { createLoraModel } from './lora-model.ts';

const IN = 16;
const HIDDEN = 12;
const CLASSES = 4;

beforeAll(async () => {
  await initTensorFlow();
});

/** A small frozen base: 16-12(relu)-4(softmax), seeded. */
function smallBase(seed = 1): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ name: 'hidden', inputShape: [IN], units: HIDDEN, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed }), biasInitializer: tf.initializers.randomNormal({ seed: seed + 1, stddev: 0.1 }) }),
      tf.layers.dense({ name: 'output', units: CLASSES, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 2 }), biasInitializer: tf.initializers.randomNormal({ seed: seed + 3, stddev: 0.1 }) }),
    ],
  });
}

/**
 * Labels from a teacher the base does not know: class = argmax of a random linear map of the input.
 * The base model's own weights are random, so it is near chance; adapters can learn the teacher.
 */
const TEACHER = (() => {
  const rng = createRng(99);
  return Array.from({ length: IN * CLASSES }, () => normal(rng));
})();

function teacherData(count: number, seed: number): LabeledData {
  const rng = createRng(seed);
  const inputs = new Float32Array(count * IN);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    let best = 0;
    let bestScore = -Infinity;
    for (let i = 0; i < IN; i++) inputs[n * IN + i] = normal(rng);
    for (let c = 0; c < CLASSES; c++) {
      let score = 0;
      for (let i = 0; i < IN; i++) score += (inputs[n * IN + i] as number) * (TEACHER[i * CLASSES + c] as number);
      if (score > bestScore) [best, bestScore] = [c, score];
    }
    labels[n] = best;
  }
  return { inputs, labels, count, inputDim: IN, numClasses: CLASSES };
}

function softmaxRows(logits: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / classes; r++) {
    const row = logits.subarray(r * classes, (r + 1) * classes);
    const max = Math.max(...row);
    const exps = Array.from(row, (v) => Math.exp(v - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    exps.forEach((e, c) => (out[r * classes + c] = e / sum));
  }
  return out;
}

async function drain(gen: AsyncGenerator<TrainProgress, TrainResult, void>): Promise<{ progress: TrainProgress[]; result: TrainResult }> {
  const progress: TrainProgress[] = [];
  for (;;) {
    const step = await gen.next();
    if (step.done) return { progress, result: step.value };
    progress.push(step.value);
  }
}

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FedwardenError);
    expect((err as FedwardenError).code).toBe(code);
    return;
  }
  expect.fail(`expected a FedwardenError ${code}`);
}

const PLAN = { epochs: 3, batchSize: 32, learningRate: 0.01 };

describe('LoRA model', () => {
  it('lists A then B per dense layer, in layer order, with Σ r(in + out) parameters', () => {
    const base = smallBase();
    const model = createLoraModel(base, { rank: 3, alpha: 6 });
    expect(model.manifest.entries.map((e) => [e.name, e.shape, e.init.kind])).toEqual([
      ['hidden/lora_A', [IN, 3], 'normal'],
      ['hidden/lora_B', [3, HIDDEN], 'zeros'],
      ['output/lora_A', [HIDDEN, 3], 'normal'],
      ['output/lora_B', [3, CLASSES], 'zeros'],
    ]);
    expect(model.getWeights().length).toBe(3 * (IN + HIDDEN) + 3 * (HIDDEN + CLASSES));
    expect(model.scale).toBe(2);
    model.dispose();
    base.dispose();
  });

  it('starts at the base model: B = 0 gives the base output', () => {
    const base = smallBase();
    const model = createLoraModel(base, { rank: 2, alpha: 4, seed: 5 });
    const data = teacherData(50, 2);
    const expected = tf.tidy(() => (base.predict(tf.tensor2d(data.inputs, [data.count, IN])) as tf.Tensor).dataSync() as Float32Array);
    const actual = softmaxRows(model.predictLogits(data.inputs), CLASSES);
    for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i] as number, 5);
    model.dispose();
    base.dispose();
  });

  it('reads pass-through layers (InputLayer, Flatten, Dropout) and a non-softmax output', () => {
    const input = tf.input({ shape: [4, 4] });
    let h = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
    h = tf.layers.dropout({ rate: 0.5 }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.dense({ units: 6, activation: 'tanh', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }).apply(h) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotNormal({ seed: 4 }) }).apply(h) as tf.SymbolicTensor;
    const base = tf.model({ inputs: input, outputs: out });
    const model = createLoraModel(base, { rank: 2, alpha: 2 });
    expect(model.inputDim).toBe(16);
    expect(model.numClasses).toBe(3);
    const inputs = teacherData(5, 3).inputs;
    const expected = tf.tidy(() => (base.predict(tf.tensor3d(inputs, [5, 4, 4])) as tf.Tensor).dataSync() as Float32Array);
    const actual = model.predictLogits(inputs);
    for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i] as number, 5);
    model.dispose();
    base.dispose();
  });

  it('rejects unsupported layers and activations by name', () => {
    const conv = tf.sequential({
      layers: [tf.layers.conv2d({ name: 'conv', inputShape: [4, 4, 1], filters: 2, kernelSize: 3 }), tf.layers.flatten(), tf.layers.dense({ units: 2 })],
    });
    expect(() => createLoraModel(conv, { rank: 1, alpha: 1 })).toThrow(/layer conv of type Conv2D is not supported/);
    const elu = tf.sequential({ layers: [tf.layers.dense({ name: 'odd', inputShape: [4], units: 3, activation: 'elu' })] });
    expect(() => createLoraModel(elu, { rank: 1, alpha: 1 })).toThrow(/odd has unsupported activation "elu"/);
    const base = smallBase();
    expectCode(() => createLoraModel(base, { rank: 5, alpha: 1 }), 'BAD_CONFIG'); // rank > min(12, 4) of 'output'
    expectCode(() => createLoraModel(base, { rank: 0, alpha: 1 }), 'BAD_CONFIG');
    conv.dispose();
    elu.dispose();
    base.dispose();
  });

  it('round-trips weights and rejects wrong lengths and non-finite values', () => {
    const base = smallBase();
    const model = createLoraModel(base, { rank: 2, alpha: 2 });
    const rng = createRng(7);
    const weights = Float32Array.from({ length: model.getWeights().length }, () => normal(rng));
    model.setWeights(weights);
    expect(model.getWeights()).toEqual(weights);
    const copy = model.getWeights();
    copy[0] = 123;
    expect(model.getWeights()[0]).toBe(weights[0]); // getWeights returns a copy

    expectCode(() => model.setWeights(weights.subarray(1)), 'BAD_UPDATE');
    expectCode(() => model.setWeights(new Float32Array(weights.length + 1)), 'BAD_UPDATE');
    const withNaN = weights.slice();
    withNaN[10] = Number.NaN;
    expectCode(() => model.setWeights(withNaN), 'BAD_UPDATE');
    const withInf = weights.slice();
    withInf[weights.length - 1] = Number.POSITIVE_INFINITY;
    expectCode(() => model.setWeights(withInf), 'BAD_UPDATE');
    expect(model.getWeights()).toEqual(weights); // failed writes change nothing
    model.dispose();
    base.dispose();
  });

  it('trains only the adapters, learns, and reports progress per batch', async () => {
    const base = smallBase();
    const baseWeightsBefore = base.getWeights().map((w) => w.dataSync().slice());
    const model = createLoraModel(base, { rank: 4, alpha: 8 });
    const initial = model.getWeights();
    const train = teacherData(600, 11);
    const test = teacherData(400, 12);
    const before = await model.evaluate(test);

    const { progress, result } = await drain(model.train(train, PLAN));
    const batches = Math.ceil(600 / PLAN.batchSize);
    expect(progress).toHaveLength(PLAN.epochs * batches);
    expect(progress.at(-1)).toMatchObject({ epoch: PLAN.epochs - 1, batch: batches - 1 });
    const finalEpoch = progress.filter((p) => p.epoch === PLAN.epochs - 1).map((p) => p.loss);
    expect(result.meanLoss).toBeCloseTo(finalEpoch.reduce((a, b) => a + b, 0) / batches, 5);
    expect(result.numSamples).toBe(600);
    expect(result.trainMs).toBeGreaterThan(0);

    const after = await model.evaluate(test);
    expect(after.accuracy).toBeGreaterThan(before.accuracy + 0.2);
    expect(after.loss).toBeLessThan(before.loss);
    expect(after.count).toBe(400);

    const trained = model.getWeights();
    expect(trained).not.toEqual(initial);
    // The base model is untouched...
    base.getWeights().forEach((w, i) => expect(w.dataSync()).toEqual(baseWeightsBefore[i]));
    // ...and so are the model's frozen copies: zeroing B brings back the base output exactly.
    const bOffset = IN * 4;
    const zeroB = trained.slice();
    zeroB.fill(0, bOffset, bOffset + 4 * HIDDEN);
    zeroB.fill(0, zeroB.length - 4 * CLASSES);
    model.setWeights(zeroB);
    const expected = tf.tidy(() => (base.predict(tf.tensor2d(test.inputs, [test.count, IN])) as tf.Tensor).dataSync() as Float32Array);
    const actual = softmaxRows(model.predictLogits(test.inputs), CLASSES);
    for (let i = 0; i < expected.length; i += 37) expect(actual[i]).toBeCloseTo(expected[i] as number, 5);
    model.dispose();
    base.dispose();
  });

  it('with freezeA trains B alone: A stays exactly where the global adapter put it, so B-means are exact', async () => {
    const base = smallBase();
    const model = createLoraModel(base, { rank: 2, alpha: 4, seed: 3, freezeA: true });
    const data = teacherData(64, 5);
    // A global adapter with some B already learnt, as after a round.
    const start = model.getWeights().map((w, i) => w + (i % 3 === 0 ? 0.05 : 0));
    model.setWeights(start);
    await drain(model.train(data, { epochs: 2, batchSize: 16, learningRate: 0.05, seed: 1 }));
    const after = model.getWeights();
    let offset = 0;
    let bMoved = 0;
    for (const entry of model.manifest.entries) {
      const n = entry.shape.reduce((a, b) => a * b, 1);
      const [before, now] = [start.subarray(offset, offset + n), after.subarray(offset, offset + n)];
      if (entry.name.endsWith('lora_A')) expect(Array.from(now)).toEqual(Array.from(before));
      else bMoved += now.reduce((s, v, i) => s + Math.abs(v - (before[i] as number)), 0);
      offset += n;
    }
    expect(bMoved).toBeGreaterThan(0.01);
    model.dispose();
    base.dispose();
  });

  it('is reproducible from the seeds', async () => {
    const base = smallBase();
    const data = teacherData(200, 3);
    const run = async () => {
      const model = createLoraModel(base, { rank: 2, alpha: 4, seed: 9 });
      await drain(model.train(data, { ...PLAN, seed: 42 }));
      const w = model.getWeights();
      model.dispose();
      return w;
    };
    const [a, b] = [await run(), await run()];
    expect(a).toEqual(b);
    const other = createLoraModel(base, { rank: 2, alpha: 4, seed: 9 });
    await drain(other.train(data, { ...PLAN, seed: 43 }));
    expect(other.getWeights()).not.toEqual(a);
    other.dispose();
    base.dispose();
  });

  it('validates plans and data at the call', () => {
    const base = smallBase();
    const model = createLoraModel(base, { rank: 2, alpha: 2 });
    const data = teacherData(10, 1);
    expectCode(() => model.train(data, { ...PLAN, epochs: 0 }), 'BAD_CONFIG');
    expectCode(() => model.train(data, { ...PLAN, batchSize: 1.5 }), 'BAD_CONFIG');
    expectCode(() => model.train(data, { ...PLAN, learningRate: Number.NaN }), 'BAD_CONFIG');
    expectCode(() => model.train({ ...data, inputDim: IN + 1 }, PLAN), 'BAD_CONFIG');
    expectCode(() => model.train({ ...data, count: 0, inputs: new Float32Array(0), labels: new Int32Array(0) }, PLAN), 'BAD_CONFIG');
    const badLabels = data.labels.slice();
    badLabels[3] = CLASSES;
    expectCode(() => model.train({ ...data, labels: badLabels }, PLAN), 'BAD_CONFIG');
    model.dispose();
    expectCode(() => model.getWeights(), 'BAD_CONFIG');
    base.dispose();
  });

  it('refuses setWeights while training and cleans up when training stops early', async () => {
    const base = smallBase();
    const model = createLoraModel(base, { rank: 2, alpha: 2 });
    const data = teacherData(100, 4);
    const tensorsBefore = tf.memory().numTensors;
    const gen = model.train(data, PLAN);
    await gen.next();
    expectCode(() => model.setWeights(model.getWeights()), 'BAD_CONFIG');
    await gen.return(undefined as never);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    model.setWeights(model.getWeights());
    model.dispose();
    base.dispose();
  });

  it('keeps working after the base model is disposed, and leaks no tensors', async () => {
    const tensorsAtStart = tf.memory().numTensors;
    const base = smallBase();
    const model = createLoraModel(base, { rank: 2, alpha: 2 });
    base.dispose();
    const data = teacherData(150, 5);
    const tensorsBefore = tf.memory().numTensors;
    await drain(model.train(data, PLAN));
    await model.evaluate(data);
    model.predictLogits(data.inputs);
    model.setWeights(model.getWeights());
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    model.dispose();
    expect(tf.memory().numTensors).toBe(tensorsAtStart);
  });
});
