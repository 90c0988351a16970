import { describe, expect, it } from 'vitest';
import { clipToNormBound, normBoundFactors } from './norm-bound.ts';
import { unit } from './test-helpers.ts';

describe('median-based norm bound', () => {
  const units = [unit('a', [1, 0]), unit('b', [0, 2]), unit('c', [3, 0]), unit('big', [0, 10])];
  const norms = Float64Array.of(1, 2, 3, 10);

  it('clips to c × median norm (median 2.5, c = 2: bound 5)', () => {
    const nb = normBoundFactors(units, norms);
    expect(nb.bound).toBe(5);
    expect(Array.from(nb.factors)).toEqual([1, 1, 1, 0.5]);
    expect(nb.adjusted).toEqual([{ id: 'big', reason: 'norm clipped 2.0× to 5.00e+0' }]);
    expect(normBoundFactors(units, norms, { clipFactor: 4 }).adjusted).toEqual([]);
    expect(() => normBoundFactors(units, norms, { clipFactor: 0.5 })).toThrow(/clipFactor/);
  });

  it('returns clipped copies and leaves the inputs alone', () => {
    const r = clipToNormBound(units, norms);
    expect(Array.from(r.units[3]!.delta)).toEqual([0, 5]);
    expect(Array.from(units[3]!.delta)).toEqual([0, 10]);
    expect(r.units[0]).toBe(units[0]);
  });
});
