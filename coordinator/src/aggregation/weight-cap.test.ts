import { describe, expect, it } from 'vitest';
import { capWeights } from './weight-cap.ts';

describe('capWeights', () => {
  it('caps inflated weights at factor × the median and leaves ordinary ones', () => {
    // median of [10, 20, 30, 1e9] is 25: cap 75
    expect(capWeights([10, 20, 30, 1e9], 3)).toEqual([10, 20, 30, 75]);
  });

  it('is the identity when disabled or empty', () => {
    expect(capWeights([1, 1e9], 0)).toEqual([1, 1e9]);
    expect(capWeights([])).toEqual([]);
  });
});
