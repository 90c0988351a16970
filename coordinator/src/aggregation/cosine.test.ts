import { describe, expect, it } from 'vitest';
import { cosineDistances } from './cosine.ts';

describe('cosineDistances', () => {
  it('computes 1 − cos for every pair (odd n exercises the block edge)', () => {
    // rows: (1, 0), (0, 1), (−1, 0), (2, 2), (0, 0)
    const rows = Float64Array.of(1, 0, 0, 1, -1, 0, 2, 2, 0, 0);
    const n = 5;
    const d = cosineDistances(rows, n, 2);
    const at = (a: number, b: number): number => d[a * n + b] as number;
    const h = 1 - Math.SQRT1_2;
    const expected = [
      [0, 1, 2, h, 1],
      [1, 0, 1, h, 1],
      [2, 1, 0, 1 + Math.SQRT1_2, 1],
      [h, h, 1 + Math.SQRT1_2, 0, 1],
      [1, 1, 1, 1, 0], // a zero row has no direction: distance 1 to all
    ];
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) expect(at(a, b)).toBeCloseTo(expected[a]![b]!, 12);
  });

  it('agrees with a direct computation on random rows', () => {
    const n = 7, w = 5;
    const rows = Float64Array.from({ length: n * w }, (_, i) => Math.sin(i * 1.7) * 3);
    const copy = rows.slice();
    const d = cosineDistances(rows, n, w);
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        let ab = 0, aa = 0, bb = 0;
        for (let k = 0; k < w; k++) {
          const x = copy[a * w + k]!, y = copy[b * w + k]!;
          ab += x * y;
          aa += x * x;
          bb += y * y;
        }
        expect(d[a * n + b]).toBeCloseTo(a === b ? 0 : 1 - ab / Math.sqrt(aa * bb), 12);
      }
    }
  });
});
