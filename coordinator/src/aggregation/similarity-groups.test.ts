import { describe, expect, it } from 'vitest';
import { linkedGroups, outlyingLinks, typicalSimilarity } from './similarity-groups.ts';

/** Symmetric n × n matrix with unit diagonal from the upper triangle, row by row. */
function symmetric(n: number, upper: readonly number[]): Float64Array {
  const m = new Float64Array(n * n);
  let k = 0;
  for (let a = 0; a < n; a++) {
    m[a * n + a] = 1;
    for (let b = a + 1; b < n; b++) {
      const v = upper[k++] as number;
      m[a * n + b] = v;
      m[b * n + a] = v;
    }
  }
  if (k !== upper.length) throw new Error('symmetric: wrong number of entries');
  return m;
}

// Six units: 0–3 honest (cosines 0.1–0.3 among them), 4 and 5 colluding (0.9 with each other, ≈ 0 with the rest).
//               01   02   03   04    05    12   13   14    15   23   24   25    34   35   45
const SIX = symmetric(6, [0.2, 0.3, 0.1, 0.0, 0.05, 0.2, 0.3, 0.05, 0.0, 0.2, 0.0, -0.05, 0.0, 0.05, 0.9]);

describe('typicalSimilarity', () => {
  it('is the median magnitude of each row off the diagonal', () => {
    // unit 0: |0.2, 0.3, 0.1, 0, 0.05| → 0.1; unit 4: |0, 0.05, 0, 0, 0.9| → 0.0; unit 5: |0.05, 0, −0.05, 0.05, 0.9| → 0.05
    expect(Array.from(typicalSimilarity(SIX, 6), (x) => +x.toFixed(6))).toEqual([0.1, 0.2, 0.2, 0.1, 0, 0.05]);
  });

  it('counts opposition as much as agreement: a sign-flipped unit is typical of nothing less', () => {
    expect(Array.from(typicalSimilarity(symmetric(3, [-0.6, -0.4, 0.5]), 3))).toEqual([0.5, 0.55, 0.45]);
  });
});

describe('outlyingLinks', () => {
  it('links only the pair far more alike than their typical similarity, with the threshold from the pairs', () => {
    const view = outlyingLinks(SIX, 6);
    expect(view).toBeDefined();
    // Excess of 4–5 = 0.9 − min(0, 0.05) = 0.9; every other pair's is small. threshold = max(0.6, median + 3·MAD).
    expect(view!.links).toEqual([{ a: 4, b: 5, cosine: 0.9, typical: 0, excess: 0.9 }]);
    expect(view!.threshold).toBe(0.6);
    expect(view!.median).toBeCloseTo(0, 6); // excess of the 15 pairs, sorted: the 8th is 0.0 (e.g. pair 0–4)
  });

  it('raises the threshold above the floor when the round\'s pairs spread widely', () => {
    // The same round, with the floor out of the way: threshold = median + mads · 1.4826 · MAD.
    const view = outlyingLinks(SIX, 6, { floor: 0.01, mads: 3 });
    // Sorted |excess − 0|: seven 0s, 0.05, 0.05, … → MAD 0.05: threshold 3 · 1.4826 · 0.05 ≈ 0.222.
    expect(view!.mad).toBeCloseTo(1.4826 * 0.05, 12);
    expect(view!.threshold).toBeCloseTo(3 * 1.4826 * 0.05, 12);
    expect(view!.links.map((l) => [l.a, l.b])).toEqual([[4, 5]]);
    // One MAD (0.074) would link the honest pairs with excess 0.1 and 0.2 too.
    expect(outlyingLinks(SIX, 6, { floor: 0.01, mads: 1 })!.links.map((l) => [l.a, l.b])).toEqual([[0, 1], [0, 2], [1, 3], [2, 3], [4, 5]]);
    // A huge number of MADs links nothing.
    expect(outlyingLinks(SIX, 6, { floor: 0.01, mads: 1000 })!.links).toEqual([]);
  });

  it('links no one when everyone agrees (IID data), nor an honest unit that is unlike everyone', () => {
    // Five units at cosine 0.95 ± 0.02 with each other, and a sixth orthogonal to all.
    const agree = symmetric(6, [0.95, 0.93, 0.97, 0.96, 0, 0.94, 0.95, 0.97, 0, 0.96, 0.93, 0, 0.95, 0, 0]);
    expect(outlyingLinks(agree, 6)!.links).toEqual([]);
  });

  it('needs four units to know what is typical, and refuses bad input naming it', () => {
    expect(outlyingLinks(symmetric(3, [0.99, 0, 0]), 3)).toBeUndefined();
    expect(() => outlyingLinks(new Float64Array(8), 3)).toThrow('outlyingLinks: matrix has 8 entries, expected 9');
    expect(() => outlyingLinks(SIX, 6, { floor: 0 })).toThrow('outlyingLinks: floor 0 not in (0, 2]');
    expect(() => outlyingLinks(SIX, 6, { mads: -1 })).toThrow('outlyingLinks: mads -1 not a finite number ≥ 0');
    expect(() => typicalSimilarity(new Float64Array(3), 2)).toThrow('typicalSimilarity: matrix has 3 entries, expected 4');
  });
});

describe('linkedGroups', () => {
  it('joins links into connected groups of two or more', () => {
    const links = [{ a: 5, b: 6 }, { a: 1, b: 3 }, { a: 3, b: 4 }];
    expect(linkedGroups(links, 8)).toEqual([[1, 3, 4], [5, 6]]);
    expect(linkedGroups([], 3)).toEqual([]);
    expect(() => linkedGroups([{ a: 0, b: 3 }], 3)).toThrow('linkedGroups: link 0–3 outside 0..2');
  });
});
