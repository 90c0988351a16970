import { describe, expect, it } from 'vitest';
import { coordinateMedian, createCoordinateMedian } from './coordinate-median.ts';
import { context, unit } from './test-helpers.ts';

const close = (a: Float32Array, b: readonly number[], digits = 5): void => {
  expect(a.length).toBe(b.length);
  b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, digits));
};

describe('coordinate-wise median (Yin et al. 2018)', () => {
  it('takes each coordinate\'s median, ignoring one wild unit', () => {
    // coordinate 0: [1, 2, 100] → 2; coordinate 1: [10, 20, −5] → 10
    close(coordinateMedian([unit('a', [1, 10]), unit('b', [2, 20]), unit('c', [100, -5])], 2), [2, 10]);
    close(coordinateMedian([unit('a', [1]), unit('b', [2]), unit('c', [3]), unit('d', [10])], 1), [2.5]);
  });

  it('runs sanity first', () => {
    const r = createCoordinateMedian().aggregate([unit('a', [1]), unit('b', [3]), unit('w', [1e9], 0)], context(1));
    close(r.step, [2]);
    expect(r.rejected.map((v) => v.id)).toEqual(['w']);
  });
});
