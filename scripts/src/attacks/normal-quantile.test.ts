import { describe, expect, it } from 'vitest';
import { normalQuantile } from './normal-quantile.ts';

describe('normalQuantile', () => {
  it('matches standard normal table values to 1e-8', () => {
    // Reference quantiles from Python's statistics.NormalDist().inv_cdf (Wichura's AS 241), rounded to 10 digits.
    const table: Array<[number, number]> = [
      [0.5, 0],
      [0.6, 0.2533471031],
      [0.65, 0.3853204664],
      [0.68, 0.4676987991],
      [0.8413447461, 1.0],
      [0.975, 1.959963985],
      [0.99, 2.326347874],
      [0.02, -2.053748911], // just below the central region
      [0.001, -3.090232306],
      [1e-10, -6.361340902],
    ];
    for (const [p, z] of table) {
      expect(Math.abs(normalQuantile(p) - z)).toBeLessThan(1e-8 * Math.max(1, Math.abs(z)));
    }
  });

  it('is antisymmetric about 1/2 and infinite at the ends', () => {
    for (const p of [0.001, 0.01, 0.3, 0.49]) expect(normalQuantile(1 - p)).toBeCloseTo(-normalQuantile(p), 8);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(() => normalQuantile(1.5)).toThrow(/normalQuantile/);
    expect(() => normalQuantile(Number.NaN)).toThrow(/normalQuantile/);
  });
});
