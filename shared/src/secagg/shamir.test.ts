import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hex, loadVectorFile } from '../crypto/vector-file.ts';
import { SHAMIR_MAX_SHARES, shamirCombine, shamirSplit, type ShamirShare } from './shamir.ts';
import { seededBytes } from '../rng.ts';
import { chiSquareUniform, codeOf, histogram } from '../test-support.ts';

interface ShamirVector {
  name: string;
  secret: string;
  threshold: number;
  coefficients: string[];
  shares: { x: number; share: string }[];
}

const kat = loadVectorFile<ShamirVector>('shamir-gf256.json');

/** All k-element subsets of `items`. */
function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items as [T, ...T[]];
  return [...subsets(rest, k - 1).map((s) => [first, ...s]), ...subsets(rest, k)];
}

const fixed = (bytes: Uint8Array) => (n: number): Uint8Array => {
  expect(n).toBe(bytes.length);
  return bytes.slice();
};

describe('Shamir known answers (hand-derived, shamir-gf256.json)', () => {
  it('has the threshold-2 and threshold-3 cases', () => {
    expect(kat.vectors.map((v) => v.threshold)).toEqual([2, 3]);
  });

  for (const v of kat.vectors) {
    const secret = hex(v.secret);
    const shares: ShamirShare[] = v.shares.map((s) => ({ x: s.x, share: hex(s.share) }));

    it(`${v.name}: split`, () => {
      const coefficients = hex(v.coefficients.join(''));
      const got = shamirSplit(secret, v.threshold, shares.map((s) => s.x), fixed(coefficients));
      expect(got).toEqual(shares.map((s) => s.share));
    });

    it(`${v.name}: every ${v.threshold}-subset combines to the secret, in any order`, () => {
      for (const subset of subsets(shares, v.threshold)) {
        expect(shamirCombine(subset, v.threshold)).toEqual(secret);
        expect(shamirCombine([...subset].reverse(), v.threshold)).toEqual(secret);
      }
    });
  }
});

describe('shamirSplit / shamirCombine', () => {
  it('any t of n shares recover a random secret; t − 1 shares give a wrong one', () => {
    const random = seededBytes(1);
    for (const [n, t] of [[1, 1], [3, 1], [3, 2], [5, 3], [7, 5], [10, 10]] as const) {
      const secret = randomBytes(32);
      const xs = Array.from({ length: n }, (_, i) => i + 1);
      const shares = shamirSplit(secret, t, xs, random).map((share, i) => ({ x: xs[i] as number, share }));
      for (const subset of subsets(shares, t)) expect(shamirCombine(subset, t)).toEqual(new Uint8Array(secret));
      if (t >= 2) expect(shamirCombine(shares.slice(0, t - 1), t - 1)).not.toEqual(new Uint8Array(secret));
    }
  });

  it('uses the first t shares when given more', () => {
    const secret = randomBytes(32);
    const shares = shamirSplit(secret, 3, [1, 2, 3, 4, 5]).map((share, i) => ({ x: i + 1, share }));
    expect(shamirCombine(shares, 3)).toEqual(new Uint8Array(secret));
    // Corrupting a share beyond the first t does not matter; corrupting one of them does.
    const tail = shares.map((s, i) => (i === 4 ? { ...s, share: new Uint8Array(32) } : s));
    expect(shamirCombine(tail, 3)).toEqual(new Uint8Array(secret));
    const head = shares.map((s, i) => (i === 0 ? { ...s, share: new Uint8Array(32) } : s));
    expect(shamirCombine(head, 3)).not.toEqual(new Uint8Array(secret));
  });

  it('works at the largest group: 255 shares, threshold 170', () => {
    const secret = randomBytes(32);
    const xs = Array.from({ length: SHAMIR_MAX_SHARES }, (_, i) => SHAMIR_MAX_SHARES - i);
    const shares = shamirSplit(secret, 170, xs).map((share, i) => ({ x: xs[i] as number, share }));
    expect(shamirCombine(shares.slice(85), 170)).toEqual(new Uint8Array(secret));
  });

  it('shares are uniform per byte (chi-square, seeded), whatever the secret', () => {
    const random = seededBytes(7);
    const secret = new Uint8Array(32).fill(0xaa);
    const atX1: number[] = [];
    const atX5: number[] = [];
    for (let i = 0; i < 1024; i++) {
      const [s1, , , , s5] = shamirSplit(secret, 3, [1, 2, 3, 4, 5], random) as [Uint8Array, ...Uint8Array[]];
      atX1.push(...s1);
      atX5.push(...(s5 as Uint8Array));
    }
    for (const bytes of [atX1, atX5]) {
      const { statistic, low, high } = chiSquareUniform(histogram(bytes, 8));
      expect(statistic).toBeGreaterThan(low);
      expect(statistic).toBeLessThan(high);
    }
  });

  it('wipes the polynomial coefficients', () => {
    let drawn: Uint8Array | undefined;
    shamirSplit(new Uint8Array(32).fill(1), 4, [1, 2, 3, 4], (n) => (drawn = randomBytes(n)));
    expect(drawn).toEqual(Buffer.alloc(96));
  });

  it('checks its own arguments (INTERNAL)', () => {
    const s = new Uint8Array(4);
    expect(codeOf(() => shamirSplit(s, 0, [1, 2]))).toBe('INTERNAL');
    expect(codeOf(() => shamirSplit(s, 3, [1, 2]))).toBe('INTERNAL');
    expect(codeOf(() => shamirSplit(s, 1.5, [1, 2]))).toBe('INTERNAL');
    expect(codeOf(() => shamirSplit(s, 2, [1, 1]))).toBe('INTERNAL');
    expect(codeOf(() => shamirSplit(s, 1, [0]))).toBe('INTERNAL');
    expect(codeOf(() => shamirSplit(s, 1, [256]))).toBe('INTERNAL');
    expect(codeOf(() => shamirSplit(new Uint8Array(0), 1, [1]))).toBe('INTERNAL');
    expect(codeOf(() => shamirSplit(s, 2, [1, 2], () => new Uint8Array(3)))).toBe('INTERNAL');
    expect(() => shamirSplit(s, 2, [1, 2, 2])).toThrow(/shamirSplit: duplicate x 2/);
  });

  it('rejects share sets that cannot be interpolated (BAD_FRAME)', () => {
    const share = (x: number, len = 4): ShamirShare => ({ x, share: new Uint8Array(len).fill(x) });
    expect(codeOf(() => shamirCombine([share(1), share(2)], 3))).toBe('BAD_FRAME');
    expect(codeOf(() => shamirCombine([share(1), share(1)], 2))).toBe('BAD_FRAME');
    expect(codeOf(() => shamirCombine([share(1), share(2), share(2)], 2))).toBe('BAD_FRAME');
    expect(codeOf(() => shamirCombine([share(0), share(2)], 2))).toBe('BAD_FRAME');
    expect(codeOf(() => shamirCombine([share(1), share(256)], 2))).toBe('BAD_FRAME');
    expect(codeOf(() => shamirCombine([share(1), share(2, 5)], 2))).toBe('BAD_FRAME');
    expect(codeOf(() => shamirCombine([share(1, 0)], 1))).toBe('BAD_FRAME');
    expect(codeOf(() => shamirCombine([share(1)], 0))).toBe('INTERNAL');
    expect(() => shamirCombine([share(1)], 2)).toThrow(/shamirCombine: need 2 shares, got 1/);
  });
});
