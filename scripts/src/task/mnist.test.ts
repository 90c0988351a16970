import { describe, expect, it } from 'vitest';
import { labelCounts, selectSamples } from './labeled-data.ts';
import { MNIST_INPUT_DIM, MNIST_SIDE, loadMnist, rotate90 } from './mnist.ts';

describe('MNIST digits', () => {
  const digits = loadMnist();

  it('loads all 10,000 digits with labels 0..9 and pixels in [0, 1]', () => {
    expect(digits.count).toBe(10_000);
    expect(digits.inputDim).toBe(MNIST_INPUT_DIM);
    expect(digits.numClasses).toBe(10);
    expect(digits.inputs.length).toBe(10_000 * MNIST_INPUT_DIM);
    const counts = labelCounts(digits.labels, 10);
    expect(counts.every((c) => c > 800)).toBe(true);
    expect(digits.inputs.every((v) => v >= 0 && v <= 1)).toBe(true);
    // Real images: mostly background, some ink.
    const ink = digits.inputs.reduce((n, v) => n + (v > 0.5 ? 1 : 0), 0) / digits.count;
    expect(ink).toBeGreaterThan(50);
    expect(ink).toBeLessThan(300);
  });

  it('loads the same digits every time, as independent copies', () => {
    const again = loadMnist();
    expect(again.labels).toEqual(digits.labels);
    expect(again.inputs.subarray(0, 50 * MNIST_INPUT_DIM)).toEqual(digits.inputs.subarray(0, 50 * MNIST_INPUT_DIM));
    again.inputs[0] = 0.5;
    expect(loadMnist().inputs[0]).not.toBe(0.5);
  });

  it('rotates by 90°: four turns are the identity, one moves pixels as a clockwise turn', () => {
    const some = selectSamples(digits, [0, 1234, 5000, 9999]);
    const once = rotate90(some);
    expect(once.labels).toEqual(some.labels);
    expect(once.inputs).not.toEqual(some.inputs);
    expect(rotate90(rotate90(rotate90(once)))).toEqual(some);
    // Clockwise: the source's bottom-left corner region ends top-left; check one marked pixel.
    const marked = { ...some, count: 1, inputs: new Float32Array(MNIST_INPUT_DIM), labels: Int32Array.of(0) };
    marked.inputs[(MNIST_SIDE - 1) * MNIST_SIDE + 2] = 1; // row 27, column 2
    const turned = rotate90(marked);
    expect(turned.inputs[2 * MNIST_SIDE + 0]).toBe(1); // row 2, column 0
  });
});
