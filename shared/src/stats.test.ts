import { describe, expect, it } from 'vitest';
import { median, medianInPlace, quantile, selectInPlace } from './stats.ts';

describe('order statistics', () => {
  it('selects the k-th smallest and partitions around it', () => {
    const a = Float64Array.of(5, 1, 4, 2, 3);
    expect(selectInPlace(a, 2)).toBe(3);
    expect(Math.max(...a.subarray(0, 2))).toBeLessThanOrEqual(3);
    expect(Math.min(...a.subarray(3))).toBeGreaterThanOrEqual(3);
    expect(selectInPlace(Float64Array.of(7, 7, 7, 1), 1)).toBe(7);
  });

  it('takes the median of odd and even counts', () => {
    expect(median([1, 2, 100])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([2, 2, 2, 1])).toBe(2);
    expect(medianInPlace(Float64Array.of(9, 0, 3, 6, 1), 1, 3)).toBe(3); // median of [0, 3, 6]
  });

  it('refuses an empty range', () => {
    expect(() => median([])).toThrow(/empty/);
  });

  it('takes nearest-rank quantiles without reordering the input', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(quantile(values, 0.9)).toBe(9);
    expect(quantile(values, 0)).toBe(1);
    expect(quantile(values, 1)).toBe(10);
    expect(quantile(values, 0.5)).toBe(5);
    expect(values).toEqual([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
    expect(() => quantile([], 0.5)).toThrow(/no values/);
    expect(() => quantile([1], 1.5)).toThrow(/not in/);
  });
});
