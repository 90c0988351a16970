import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRng, normal } from '@fedwarden/shared';
import { averagePathLength, drawSample, fitSubsampleForest, isolationScore, withRandom } from './subsample-forest.ts';

const COLUMNS = ['a', 'b', 'c'];

/** `count` rows of three standard Gaussian features, row-major. */
function gaussianRows(count: number, seed: number): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: 3 * count }, () => normal(rng));
}

const identity = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('averagePathLength', () => {
  it('is c(n) of Liu et al. with the package’s harmonic-number approximation', () => {
    expect(averagePathLength(0)).toBe(0);
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
    // c(256) = 2(ln 255 + 0.57721) − 2·255/256
    expect(averagePathLength(256)).toBeCloseTo(2 * (Math.log(255) + 0.57721) - 510 / 256, 12);
  });
});

describe('drawSample', () => {
  it('draws distinct indices, and the same ones again from the same seed', () => {
    const first = drawSample(identity(1000), 256, createRng(5));
    expect(first).toHaveLength(256);
    expect(new Set(first).size).toBe(256);
    for (const i of first) expect(i >= 0 && i < 1000).toBe(true);
    expect(drawSample(identity(1000), 256, createRng(5))).toEqual(first);
    expect(drawSample(identity(1000), 256, createRng(6))).not.toEqual(first);
  });

  it('reaches every index: 2,000 draws of 10 from 50 pick each index 400 times on average', () => {
    const order = identity(50);
    const rng = createRng(11);
    const counts = new Array<number>(50).fill(0);
    for (let k = 0; k < 2000; k++) for (const i of drawSample(order, 10, rng)) counts[i] = (counts[i] as number) + 1;
    // Binomial(2000, 1/5): standard deviation ≈ 18; ±100 is more than 5 of them.
    for (const c of counts) expect(Math.abs(c - 400)).toBeLessThan(100);
  });

  it('refuses a sample larger than the population', () => {
    expect(() => drawSample(identity(3), 4, createRng(1))).toThrow(/size 4 not in 0…3/);
  });
});

describe('fitSubsampleForest', () => {
  it('fits each tree on its own ψ distinct rows of a larger window', () => {
    const forest = fitSubsampleForest(gaussianRows(1000, 1), COLUMNS, 20, 256, createRng(3));
    expect(forest.sampleSize).toBe(256);
    expect(forest.trees).toHaveLength(20);
    for (const tree of forest.trees) {
      expect(new Set(tree.sample).size).toBe(256);
      for (const i of tree.sample) expect(i >= 0 && i < 1000).toBe(true);
    }
    // Different trees, different samples: two samples of 256 from 1,000 share ≈ 66 rows, not all.
    const [a, b] = forest.trees.map((t) => new Set(t.sample));
    const shared = [...(a as Set<number>)].filter((i) => (b as Set<number>).has(i)).length;
    expect(shared).toBeLessThan(256);
  });

  it('draws the same samples from the same seed, others from another', () => {
    const rows = gaussianRows(600, 2);
    const samples = (seed: number) => fitSubsampleForest(rows, COLUMNS, 5, 256, createRng(seed)).trees.map((t) => [...t.sample].sort((x, y) => x - y));
    expect(samples(8)).toEqual(samples(8));
    expect(samples(9)).not.toEqual(samples(8));
  });

  it('grows the same trees, splits included, from the same seed, and other trees from another', () => {
    const rows = gaussianRows(300, 5);
    const splits = (seed: number) => fitSubsampleForest(rows, COLUMNS, 5, 256, createRng(seed)).trees.map((t) => [[...t.feature], [...t.split]]);
    expect(splits(8)).toEqual(splits(8));
    expect(splits(9)).not.toEqual(splits(8));
  });

  it('fits on the whole window when it has no more than ψ rows', () => {
    const forest = fitSubsampleForest(gaussianRows(100, 4), COLUMNS, 5, 256, createRng(1));
    expect(forest.sampleSize).toBe(100);
    for (const tree of forest.trees) expect(new Set(tree.sample).size).toBe(100);
  });

  it('validates its arguments', () => {
    const rows = gaussianRows(10, 1);
    expect(() => fitSubsampleForest(rows, COLUMNS, 0, 256, createRng(1))).toThrow(/trees/);
    expect(() => fitSubsampleForest(rows, COLUMNS, 10, 1, createRng(1))).toThrow(/maxSamples/);
    expect(() => fitSubsampleForest(rows.slice(0, 3), COLUMNS, 10, 256, createRng(1))).toThrow(/at least 2 rows/);
    expect(() => fitSubsampleForest(rows.slice(0, 4), COLUMNS, 10, 256, createRng(1))).toThrow(/4 values do not make rows of 3/);
    expect(() => fitSubsampleForest(rows, [], 10, 256, createRng(1))).toThrow(/feature/);
  });
});

describe('isolationScore', () => {
  // Two rows, one feature: the single split falls between 0 and 1 and isolates both (height limit ⌈log2 2⌉ = 1),
  // so the tree is the same whatever Math.random draws, and c(ψ = 2) = 1.
  const forest = fitSubsampleForest(Float64Array.of(0, 1), ['a'], 3, 2, createRng(1));

  it('gives a row of the sample its path length: one split, s = 2^−1', () => {
    expect(isolationScore(forest, [1], 1)).toBeCloseTo(0.5, 12);
  });

  it('counts a row outside the sample into the leaf it reaches: h = 1 + c(2) = 2, s = 2^−2', () => {
    expect(isolationScore(forest, [0.5], -1)).toBeCloseTo(0.25, 12);
  });

  it('isolates a row beyond the sample’s range with probability gap/(gap + range)', () => {
    // a = 3: gap 2, range 1, p = 2/3 of a split in (1, 3] isolating it at depth 1; else depth 1 + c(2).
    // E[h] = 2/3·1 + 1/3·2 = 4/3.
    expect(isolationScore(forest, [3], -1)).toBeCloseTo(Math.pow(2, -4 / 3), 12);
    expect(isolationScore(forest, [-2], -1)).toBeCloseTo(Math.pow(2, -4 / 3), 12);
  });

  it('scores a far outlier outside the samples as it would score inside them', () => {
    // Walked down the trees as they stand, it would only follow the most extreme rows of each sample. Measured
    // over 40 runs: in every sample (255 ordinary rows + itself) it scored ≥ 0.87, outside them ≥ 0.87, at most
    // 0.013 apart; the ordinary point at most 0.40.
    const outlier = [20, -30, 0];
    const inside = fitSubsampleForest(Float64Array.of(...gaussianRows(255, 7), ...outlier), COLUMNS, 200, 256, createRng(7));
    const outside = fitSubsampleForest(gaussianRows(5000, 8), COLUMNS, 200, 256, createRng(8));
    const inSample = isolationScore(inside, outlier, 255);
    const outOfSample = isolationScore(outside, outlier, -1);
    expect(inSample).toBeGreaterThan(0.7);
    expect(outOfSample).toBeGreaterThan(0.7);
    expect(Math.abs(outOfSample - inSample)).toBeLessThan(0.05);
    expect(isolationScore(outside, [0.1, -0.2, 0.3], -1)).toBeLessThan(0.5);
  });

  it('knows which rows each tree was fitted on: a row of the window counts itself in its leaf', () => {
    // ψ ≥ rows: every row is in every sample, so its path is the tree's own, h = depth + c(m), shorter than
    // h = depth + c(m + 1) for the same values arriving from outside (−1). Rows 31 and 63 end a bitset word.
    const values = gaussianRows(64, 12);
    const whole = fitSubsampleForest(values, COLUMNS, 20, 256, createRng(2));
    for (const r of [0, 31, 32, 63]) {
      const row = values.subarray(3 * r, 3 * r + 3);
      expect(isolationScore(whole, row, r)).toBeGreaterThan(isolationScore(whole, row, -1));
    }
  });

  it('wants a value for each feature', () => {
    expect(() => isolationScore(forest, [1, 2], -1)).toThrow(/2 values for 1 features/);
  });
});

describe('withRandom', () => {
  it('makes Math.random draw from the generator during the call, and restores it after', () => {
    const random = Math.random;
    const expected = createRng(4);
    const drawn = withRandom(createRng(4), () => [Math.random(), Math.random()]);
    expect(drawn).toEqual([expected.next(), expected.next()]);
    expect(Math.random).toBe(random);
  });

  it('restores Math.random when the call throws', () => {
    const random = Math.random;
    expect(() =>
      withRandom(createRng(4), () => {
        throw new Error('fit failed');
      }),
    ).toThrow('fit failed');
    expect(Math.random).toBe(random);
  });
});
