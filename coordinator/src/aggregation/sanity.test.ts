import { describe, expect, it } from 'vitest';
import { sanityCheck } from './sanity.ts';
import { unit } from './test-helpers.ts';

describe('sanityCheck', () => {
  it('drops malformed units and free riders, with reasons, and returns the kept norms', () => {
    const units = [
      unit('a', [1, 0, 0]),
      unit('short', [1, 0]),
      unit('nan', [0, Number.NaN, 1]),
      unit('inf', [Infinity, 0, 0]),
      unit('w0', [1, 1, 1], 0),
      unit('wneg', [1, 1, 1], -2),
      unit('zero', [0, 0, 0]),
      unit('tiny', [1e-9, 0, 0]), // below 1e-6 × median(1, 1e-9, 2) = 1e-6
      unit('b', [0, 2, 0]),
      unit('a', [5, 5, 5]),
    ];
    const r = sanityCheck(units, 3);
    expect(r.kept.map((u) => u.id)).toEqual(['a', 'b']);
    expect(Array.from(r.norms)).toEqual([1, 2]);
    expect(Object.fromEntries(r.rejected.map((v) => [v.id === 'a' ? 'dup' : v.id, v.reason]))).toEqual({
      short: 'wrong length 2 ≠ 3',
      nan: 'non-finite values',
      inf: 'non-finite values',
      w0: 'weight 0',
      wneg: 'weight -2',
      zero: 'zero update (free rider)',
      tiny: 'negligible norm 1.00e-9 (free rider)',
      dup: 'duplicate id',
    });
  });

  it('keeps everything sound and handles an empty round', () => {
    expect(sanityCheck([unit('x', [3, 4])], 2).norms[0]).toBe(5);
    expect(sanityCheck([], 2)).toEqual({ kept: [], norms: new Float64Array(0), rejected: [] });
  });
});
