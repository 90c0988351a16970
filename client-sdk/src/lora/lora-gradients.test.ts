import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { type Rng, createRng, normal } from '@fedwarden/shared';
import { initTensorFlow } from '../tf/backend.ts';
import { type DenseActivation, disposeFrozenBase, readFrozenBase } from './frozen-base.ts';
import { loraLogits } from './lora-forward.ts';
import { disposeStepConstants, loraLossAndGradients, stepConstants } from './lora-gradients.ts';
import { referenceLogits, referenceLoss } from './test-helpers.ts';

beforeAll(async () => {
  await initTensorFlow();
});

/** A dense base with the given hidden activations, biases on all but the second layer. */
function makeBase(dims: readonly number[], activations: readonly DenseActivation[], seed: number): tf.Sequential {
  return tf.sequential({
    layers: activations.map((activation, i) =>
      tf.layers.dense({
        name: `d${i}`,
        units: dims[i + 1] as number,
        activation,
        useBias: i !== 1,
        kernelInitializer: tf.initializers.glorotNormal({ seed: seed + i }),
        biasInitializer: tf.initializers.randomNormal({ seed: seed + 10 + i, stddev: 0.3 }),
        ...(i === 0 ? { inputShape: [dims[0] as number] } : {}),
      }),
    ),
  });
}

function randomMatrix(rng: Rng, rows: number, cols: number, std: number): tf.Tensor2D {
  return tf.tensor2d(Float32Array.from({ length: rows * cols }, () => std * normal(rng)), [rows, cols]);
}

function oneHot(rng: Rng, n: number, classes: number): tf.Tensor2D {
  const out = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) out[i * classes + Math.floor(rng.next() * classes)] = 1;
  return tf.tensor2d(out, [n, classes]);
}

function expectClose(actual: tf.Tensor, expected: tf.Tensor, tolerance: number): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  const scale = Math.max(1e-3, ...Array.from(e, Math.abs));
  for (let i = 0; i < e.length; i++) expect(Math.abs((a[i] as number) - (e[i] as number))).toBeLessThan(tolerance * scale);
}

const CASES: readonly { name: string; dims: number[]; activations: DenseActivation[] }[] = [
  { name: 'relu → softmax output (the MNIST shape)', dims: [20, 16, 5], activations: ['relu', 'softmax'] },
  { name: 'tanh → sigmoid → linear output', dims: [12, 10, 9, 4], activations: ['tanh', 'sigmoid', 'linear'] },
  { name: 'hidden softmax → sigmoid output', dims: [8, 7, 3], activations: ['softmax', 'sigmoid'] },
];

describe('LoRA gradients by hand', () => {
  for (const { name, dims, activations } of CASES) {
    it(`match tf.grads of the straightforward maths: ${name}`, () => {
      const model = makeBase(dims, activations, 3);
      const base = readFrozenBase(model);
      model.dispose();
      const rng = createRng(17);
      const n = 13;
      const rank = 2;
      const scale = 1.7;
      const variables = base.layers.flatMap((l) => [
        tf.variable(randomMatrix(rng, l.inDim, rank, 1 / Math.sqrt(l.inDim))),
        tf.variable(randomMatrix(rng, rank, l.outDim, 0.5)), // B ≠ 0, so that every path carries gradient
      ]);
      const adapters = base.layers.map((_, i) => ({ a: variables[2 * i] as tf.Variable, b: variables[2 * i + 1] as tf.Variable }));
      const x = randomMatrix(rng, n, dims[0] as number, 1);
      const targets = oneHot(rng, n, dims.at(-1) as number);
      const first = base.layers[0];
      if (first === undefined) throw new Error('no layer');
      const firstProduct = tf.tidy(() => (first.bias === null ? tf.matMul(x, first.kernel) : tf.add(tf.matMul(x, first.kernel), first.bias)) as tf.Tensor2D);
      const constants = stepConstants(base, scale);
      const tensorsBefore = tf.memory().numTensors;

      tf.tidy(() => {
        const expectedLogits = referenceLogits(x, base, adapters, scale);
        expectClose(loraLogits(x, base, adapters, scale), expectedLogits, 1e-5);
        expectClose(loraLogits(x, base, adapters, scale, firstProduct), expectedLogits, 1e-5);

        const expected = tf.variableGrads(() => referenceLoss(x, targets, base, adapters, scale), variables);
        const actual = loraLossAndGradients({ x, xT: tf.transpose(x), firstProduct, targets }, base, adapters, constants);
        expectClose(actual.loss, expected.value, 1e-5);
        expect(actual.gradients).toHaveLength(variables.length);
        variables.forEach((v, i) => expectClose(actual.gradients[i] as tf.Tensor, expected.grads[v.name] as tf.Tensor, 1e-4));
      });
      expect(tf.memory().numTensors).toBe(tensorsBefore);

      disposeStepConstants(constants);
      tf.dispose([x, targets, firstProduct, ...variables]);
      disposeFrozenBase(base);
    });
  }
});
