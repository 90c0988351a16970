import { describe, expect, it } from 'vitest';
import { mad, median, robustScale, robustZ } from './robust-stats.ts';

describe('robust statistics', () => {
  it('median and MAD, ignoring non-finite values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 7, Infinity])).toBe(7);
    expect(median([])).toBeNaN();
    // |x − 3| = 2, 1, 0, 1, 97 → median 1: the outlier does not move it.
    expect(mad([1, 2, 3, 4, 100])).toBe(1);
  });

  it('scale = 1.4826·MAD, falling back to 1.2533·mean absolute deviation when MAD = 0', () => {
    expect(robustScale([1, 2, 3, 4, 100])).toEqual({ center: 3, scale: 1.4826 });
    // Four equal values: MAD = 0; mean |x − 5| = 4/5 → 1.2533 · 0.8 = 1.00264.
    const s = robustScale([5, 5, 5, 5, 9]);
    expect(s.center).toBe(5);
    expect(s.scale).toBeCloseTo(1.00264, 10);
    expect(robustZ(9, s)).toBeCloseTo(4 / 1.00264, 10);
    expect(robustScale([2, 2, 2]).scale).toBe(0);
    expect(robustZ(3, { center: 2, scale: 0 })).toBe(0);
    expect(robustZ(Number.NaN, s)).toBe(0);
  });
});
