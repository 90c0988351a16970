import { describe, expect, it } from 'vitest';
import { createTrimmedMean, trimCount, trimmedMean } from './trimmed-mean.ts';
import { context, unit } from './test-helpers.ts';

const close = (a: Float32Array, b: readonly number[], digits = 5): void => {
  expect(a.length).toBe(b.length);
  b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, digits));
};

describe('trimmed mean (Yin et al. 2018)', () => {
  it('drops ⌊βn⌋ extremes on each side per coordinate', () => {
    const units = [unit('a', [1, -50]), unit('b', [2, 0]), unit('c', [3, 1]), unit('d', [4, 2]), unit('e', [100, 3])];
    // β = 0.2, n = 5: k = 1. Coordinate 0: mean(2, 3, 4) = 3; coordinate 1: mean(0, 1, 2) = 1.
    close(trimmedMean(units, 2, 0.2), [3, 1]);
    close(createTrimmedMean().aggregate(units, context(2)).step, [3, 1]);
    close(trimmedMean(units, 2, 0), [22, -44 / 5]); // β = 0 is the plain mean
  });

  it('always leaves one value', () => {
    expect(trimCount(5, 0.2)).toBe(1);
    expect(trimCount(3, 0.45)).toBe(1);
    expect(trimCount(2, 0.45)).toBe(0);
    expect(() => createTrimmedMean({ beta: 0.5 })).toThrow(/beta/);
  });
});
