import { describe, expect, it } from 'vitest';
import { createKrum, createMultiKrum, krumF, krumScores } from './krum.ts';
import { context, unit } from './test-helpers.ts';

const close = (a: Float32Array, b: readonly number[], digits = 5): void => {
  expect(a.length).toBe(b.length);
  b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, digits));
};

describe('Krum and Multi-Krum (Blanchard et al. 2017)', () => {
  // 1-D units 10, 11, 12, 13, 110 (not 0: a zero update is a free rider); n = 5, f = ⌊(5 − 3)/2⌋ = 1, so each
  // score sums the n − f − 2 = 2 nearest squared distances: 10 → 1 + 4 = 5, 11 → 1 + 1 = 2, 12 → 2, 13 → 5,
  // 110 → 97² + 98² = 19013.
  const units = [unit('u0', [10]), unit('u1', [11]), unit('u2', [12]), unit('u3', [13]), unit('bad', [110])];

  it('scores by the nearest n − f − 2 squared distances', () => {
    expect(Array.from(krumScores(units, 1))).toEqual([5, 2, 2, 5, 19013]);
  });

  it('Krum picks the lowest score (ties by order)', () => {
    const r = createKrum().aggregate(units, context(1));
    close(r.step, [11]);
    expect(r.kept).toEqual(['u1']);
    expect(r.rejected).toHaveLength(4);
  });

  it('Multi-Krum averages the m = n − f best', () => {
    const r = createMultiKrum().aggregate(units, context(1));
    close(r.step, [11.5]); // mean of 11, 12, 10, 13
    expect(r.rejected.map((v) => v.id)).toEqual(['bad']);
    expect(createMultiKrum({ m: 2 }).aggregate(units, context(1)).kept).toEqual(['u1', 'u2']);
  });

  it('derives f from the options, capped by n > 2f + 2', () => {
    expect(krumF(5)).toBe(1);
    expect(krumF(10)).toBe(3);
    expect(krumF(2)).toBe(0);
    expect(krumF(10, { byzantineFraction: 0.2 })).toBe(2);
    expect(krumF(5, { f: 10 })).toBe(1);
  });
});
