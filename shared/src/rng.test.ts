import { describe, expect, it } from 'vitest';
import { beta, createRng, seededBytes } from './rng.ts';

describe('seededBytes', () => {
  it('replays the same bytes for a seed, continues the stream across calls, and differs between seeds', () => {
    const a = seededBytes(5);
    const b = seededBytes(5);
    const first = a(1000);
    expect(b(1000)).toEqual(first);
    expect(a(16)).toEqual(b(16));
    expect(a(16)).not.toEqual(first.subarray(0, 16));
    expect(seededBytes(6)(1000)).not.toEqual(first);
    // Every byte value turns up in 4000 draws of a uniform byte source (a missing one has odds ≈ 256·e^-15.6).
    expect(new Set(seededBytes(7)(4000)).size).toBe(256);
    expect(seededBytes(1)(0)).toHaveLength(0);
  });
});

describe('beta', () => {
  it('has the mean a/(a + b) and the variance ab/((a + b)²(a + b + 1)) of Beta(a, b), within sampling error', () => {
    for (const [a, b] of [[1, 1], [11, 1], [2, 5], [0.5, 0.5]] as const) {
      const rng = createRng(17);
      const n = 20_000;
      const draws = Array.from({ length: n }, () => beta(rng, a, b));
      const mean = draws.reduce((s, x) => s + x, 0) / n;
      const variance = draws.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
      const expectedVariance = (a * b) / ((a + b) ** 2 * (a + b + 1));
      for (const x of draws) expect(x >= 0 && x <= 1).toBe(true);
      // 5 standard errors of the mean; the variance to within 5 %.
      expect(Math.abs(mean - a / (a + b))).toBeLessThan(5 * Math.sqrt(expectedVariance / n));
      expect(Math.abs(variance / expectedVariance - 1)).toBeLessThan(0.05);
    }
  });

  it('refuses shapes that are not positive and finite', () => {
    for (const [a, b] of [[0, 1], [1, -1], [Number.NaN, 1], [1, Number.POSITIVE_INFINITY]]) {
      expect(() => beta(createRng(1), a as number, b as number)).toThrow(/beta: shapes must be positive and finite/);
    }
  });
});
