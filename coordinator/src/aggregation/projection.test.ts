import { describe, expect, it } from 'vitest';
import { countSketch, projectDeltas } from './projection.ts';

describe('count-sketch projection', () => {
  it('is deterministic per (d, m, seed), cached, and differs across seeds', () => {
    const a = countSketch(1000, 16, 42);
    expect(countSketch(1000, 16, 42)).toBe(a);
    expect(Array.from(countSketch(1000, 16, 43).bucket)).not.toEqual(Array.from(a.bucket));
    expect(a.bucket.every((b) => b >= 0 && b < 16)).toBe(true);
    expect(a.sign.every((s) => s === 1 || s === -1)).toBe(true);
    // both signs and all buckets are used
    expect(new Set(a.bucket).size).toBe(16);
    expect(a.sign.filter((s) => s > 0).length).toBeGreaterThan(400);
  });

  it('maps a basis vector e_j to s(j) in bucket h(j), and is linear', () => {
    const d = 100, m = 8;
    const { bucket, sign } = countSketch(d, m, 5);
    const e7 = new Float32Array(d);
    e7[7] = 1;
    const x = Float32Array.from({ length: d }, (_, j) => j - 50);
    const y = Float32Array.from({ length: d }, (_, j) => (j * 7) % 13);
    const sum = x.map((v, j) => 2 * v + (y[j] as number));
    const p = projectDeltas([e7, x, y, sum, x], d, 5, m);
    expect(p.exact).toBe(false);
    const row = (i: number): number[] => Array.from(p.rows.subarray(i * m, (i + 1) * m));
    const expected = new Array<number>(m).fill(0);
    expected[bucket[7] as number] = sign[7] as number;
    expect(row(0)).toEqual(expected);
    row(3).forEach((v, b) => expect(v).toBeCloseTo(2 * (row(1)[b] as number) + (row(2)[b] as number), 9));
    expect(row(4)).toEqual(row(1)); // the 4-unit block and the remainder loop agree
  });

  it('preserves inner products in expectation (cosines to about 1/√m)', () => {
    const d = 4096, m = 256;
    const x = Float32Array.from({ length: d }, (_, j) => Math.sin(j * 0.37) + 0.2);
    const y = Float32Array.from({ length: d }, (_, j) => Math.sin(j * 0.37 + 0.8) + 0.2);
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>, o = 0, p = 0, n = a.length): number => {
      let s = 0;
      for (let k = 0; k < n; k++) s += (a[o + k] as number) * (b[p + k] as number);
      return s;
    };
    const exact = dot(x, y) / Math.sqrt(dot(x, x) * dot(y, y));
    let mean = 0;
    const seeds = 40;
    for (let seed = 0; seed < seeds; seed++) {
      const { rows } = projectDeltas([x, y], d, seed, m);
      const est = dot(rows, rows, 0, m, m) / Math.sqrt(dot(rows, rows, 0, 0, m) * dot(rows, rows, m, m, m));
      expect(Math.abs(est - exact)).toBeLessThan(0.25);
      mean += est / seeds;
    }
    expect(Math.abs(mean - exact)).toBeLessThan(0.05);
  });

  it('uses the vectors as they are when d ≤ 2m', () => {
    const p = projectDeltas([Float32Array.of(1, 2, 3), Float32Array.of(4, 5, 6)], 3, 1, 256);
    expect(p).toEqual({ rows: Float64Array.of(1, 2, 3, 4, 5, 6), width: 3, exact: true });
    expect(() => projectDeltas([Float32Array.of(1)], 3, 1)).toThrow(/length/);
  });
});
