import { describe, expect, it } from 'vitest';
import { cosine, createRng, l2Norm, median, normal, type Rng } from '@fedwarden/shared';
import { consensusCoordinates, consensusCosines, consensusNoise } from './consensus.ts';
import { createFedwardenStrategy } from './robust-pipeline.ts';
import type { AggregationUnit } from './strategy.ts';
import { context, unit } from './test-helpers.ts';

function gaussian(rng: Rng, dim: number): Float32Array {
  const v = Float32Array.from({ length: dim }, () => normal(rng));
  const n = l2Norm(v);
  return v.map((x) => x / n);
}

/**
 * Late training in a non-IID federation: each honest update is c·g + √(1 − c²)·own direction, so honest updates
 * are nearly orthogonal to one another (pairwise cosine ≈ c²) and share only the task's direction g. Sign
 * flippers send the negation of such an update. Norms vary by ±50 %.
 */
function lateRound(seed: number, honest: number, flippers: number, c = 0.25, dim = 2000) {
  const rng = createRng(seed);
  const g = gaussian(rng, dim);
  const make = (id: string, sign: number): AggregationUnit => {
    const own = gaussian(rng, dim);
    const size = 0.5 + rng.next();
    return unit(id, Array.from({ length: dim }, (_, j) => sign * size * (c * g[j]! + Math.sqrt(1 - c * c) * own[j]!)));
  };
  const units = [
    ...Array.from({ length: honest }, (_, i) => make(`honest-${i}`, 1)),
    ...Array.from({ length: flippers }, (_, i) => make(`flip-${i}`, -1)),
  ];
  return { units, g, dim };
}

const norms = (units: readonly AggregationUnit[]) => Float64Array.from(units, (u) => l2Norm(u.delta));

/** The cosine with the median of the others' directions, the slow way: a median per unit and coordinate. */
function bruteForce(units: readonly AggregationUnit[]): number[] {
  const dirs = units.map((u) => u.delta.map((x) => x / l2Norm(u.delta)));
  return dirs.map((v, i) => {
    const others = dirs.filter((_, k) => k !== i);
    const m = Float64Array.from(v, (_, j) => median(others.map((o) => o[j]!)));
    let dot = 0;
    let sq = 0;
    for (let j = 0; j < v.length; j++) {
      dot += v[j]! * m[j]!;
      sq += m[j]! * m[j]!;
    }
    return sq > 0 ? dot / Math.sqrt(sq) : 0;
  });
}

describe('consensus cosines', () => {
  it('equal the leave-one-out median computed the slow way, for odd and even counts and with ties', () => {
    const rng = createRng(5);
    for (const n of [6, 7, 10, 13]) {
      // Coordinates drawn from a few values make ties in every column.
      const units = Array.from({ length: n }, (_, i) => unit(`u${i}`, Array.from({ length: 12 }, () => Math.floor(rng.next() * 5) - 2 || 1)));
      const fast = consensusCosines(units, norms(units), 12, 1)!;
      bruteForce(units).forEach((c, i) => expect(fast[i], `n ${n}, unit ${i}`).toBeCloseTo(c, 5));
    }
  });

  it('point along what nearly orthogonal honest updates share, without the unit\'s own share', () => {
    const { units, dim } = lateRound(1, 40, 10);
    for (const u of units.slice(0, 5)) expect(Math.abs(cosine(u.delta, units[5]!.delta))).toBeLessThan(0.25);
    const cos = consensusCosines(units, norms(units), dim, 1)!;
    const honest = Array.from(cos.slice(0, 40));
    const flippers = Array.from(cos.slice(40));
    expect(Math.min(...honest)).toBeGreaterThan(0);
    expect(Math.max(...flippers)).toBeLessThan(0);
  });

  it('have no direction where the others cancel up to rounding: cosine 0, not ±1', () => {
    // d = 1: leaving the third unit out leaves −1 and +1 up to rounding (−0.0827 / 0.0827 is not exactly −1)
    const units = [unit('a', [-0.0827]), unit('b', [0.0655]), unit('c', [-0.562]), unit('d', [0.3]), unit('e', [-0.4]), unit('f', [0.2]), unit('g', [-0.1])];
    const cos = consensusCosines(units, norms(units), 1, 1)!;
    for (const c of cos) expect([-1, 0, 1]).toContain(c);
    // 7 values: leaving out a negative leaves 3 negatives and 3 positives, whose median cancels
    expect(Array.from(cos)).toEqual([0, -1, 0, -1, 0, -1, 0]);
  });

  it('give their noise as the spread of the upper half: the honest side while hostile units are fewer', () => {
    // median 0.1; distances above it 0, 0.1, 0.2, 0.3: the upper middle one, 0.2 (the hostile −5s do not count)
    expect(consensusNoise([0.1, 0.2, 0.3, 0.4, -5, -5, -5])).toBeCloseTo(1.4826 * 0.2, 12);
    expect(consensusNoise([0.5])).toBe(0);
  });

  it('above maxCells, estimate each cosine on a seeded sample of coordinates, close to the exact one', () => {
    const { units, dim } = lateRound(2, 40, 10);
    const exact = consensusCosines(units, norms(units), dim, 1)!;
    const sampled = consensusCosines(units, norms(units), dim, 1, { maxCells: 50 * 1000 })!; // 1,000 of 2,000
    expect(consensusCoordinates(50, dim, 50 * 1000, 1)).toHaveLength(1000);
    expect(consensusCoordinates(50, dim, 50 * dim, 1)).toBeUndefined();
    let worst = 0;
    exact.forEach((c, i) => (worst = Math.max(worst, Math.abs(c - sampled[i]!))));
    expect(worst).toBeLessThan(0.08); // ≈ 2/√1000
    expect(worst).toBeGreaterThan(0); // it did sample
    // the honest units and the flippers stay apart
    expect(Math.min(...sampled.slice(0, 40))).toBeGreaterThan(Math.max(...sampled.slice(40)));
  });

  it('give no consensus for too few units, and refuse mismatched norms', () => {
    const few = [unit('a', [1]), unit('b', [1]), unit('c', [1]), unit('d', [1]), unit('e', [1])];
    expect(consensusCosines(few, norms(few), 1, 1)).toBeUndefined();
    expect(() => consensusCosines(few, new Float64Array(2), 1, 1)).toThrow(/2 norms for 5 units/);
    expect(() => consensusCosines(few, norms(few), 1, 1, { minUnits: 2 })).toThrow(/minUnits 2/);
    expect(() => consensusCosines(few, norms(few), 1, 1, { maxCells: 0 })).toThrow(/maxCells 0/);
    // Leaving out a +1 leaves three of each sign: the median is 0, and the cosine 0 (not NaN). Leaving out a −1
    // leaves a majority of +1: that unit opposes the others' consensus.
    const cancel = [1, -1, 1, -1, 1, -1, 1].map((x, i) => unit(`u${i}`, [x]));
    expect(Array.from(consensusCosines(cancel, norms(cancel), 1, 1)!)).toEqual([0, -1, 0, -1, 0, -1, 0]);
  });
});

describe('the fedwarden strategy without a reference, late in training', () => {
  it('rejects or doubts sign flippers by the consensus where DBSCAN finds no majority, at 20, 30 and 40 %', () => {
    for (const [flippers, seed] of [[10, 11], [15, 12], [20, 13]] as const) {
      const { units, g, dim } = lateRound(seed, 50 - flippers, flippers);
      const r = createFedwardenStrategy().aggregate(units, context(dim));
      expect(r.diagnostics.majority, `${flippers} flippers`).toBe(false);
      const rejected = r.rejected.map((v) => v.id);
      // One round alone: a flipper within the honest cosines' spread of zero is doubted (kept, with negative
      // evidence that the recent-evidence rule turns into rejection next time), not rejected.
      const doubted = r.doubted.map((v) => v.id);
      // Measured: 10 and 15 of 10 and 15 rejected; at 40 %, 15 rejected, 4 doubted, one within the honest side.
      expect(rejected.filter((id) => id.startsWith('flip')).length, `${flippers} flippers`).toBeGreaterThanOrEqual(Math.ceil(0.75 * flippers));
      expect([...rejected, ...doubted].filter((id) => id.startsWith('flip')).length, `${flippers} flippers`).toBeGreaterThanOrEqual(Math.ceil(0.9 * flippers));
      expect(doubted.filter((id) => id.startsWith('honest'))).toEqual([]);
      expect(rejected.filter((id) => id.startsWith('honest')), `${flippers} flippers`).toEqual([]);
      expect(r.rejected[0]!.reason).toMatch(/^points away from the units' consensus \(cosine -0\.\d+ /);
      expect(cosine(r.step, g)).toBeGreaterThan(0.5);
      // Without the consensus check nothing is rejected and the flippers pull the step off.
      const off = createFedwardenStrategy({ consensus: false }).aggregate(units, context(dim));
      expect(off.rejected).toEqual([]);
      expect(cosine(off.step, g)).toBeLessThan(cosine(r.step, g) - 0.1);
    }
  });

  it('lets a bloc of small units lower the norm bound, but honest units above it are clipped, never rejected', () => {
    // 30 honest late-round units and 20 units like them but a tenth their size: the median norm, so the bound,
    // falls among the honest units' smallest, and the larger honest units exceed it.
    const { units, dim } = lateRound(31, 30, 0);
    const small = lateRound(32, 20, 0).units.map((u, i) => ({ ...u, id: `small-${i}`, members: [`small-${i}`], delta: u.delta.map((x) => 0.1 * x) }));
    const r = createFedwardenStrategy().aggregate([...units, ...small], context(dim));
    expect(r.diagnostics.majority).toBe(false);
    expect(r.rejected.filter((v) => v.id.startsWith('honest'))).toEqual([]);
    expect(r.adjusted.filter((v) => v.id.startsWith('honest')).length).toBeGreaterThan(0); // measured 4
  });

  it('keeps an honest participant whose data is unlike anyone else\'s: mostly its own direction, a little of the shared one', () => {
    const { units, g, dim } = lateRound(21, 45, 0);
    const own = gaussian(createRng(99), dim);
    // a fifth of the others' share of the task's direction (cosine with g 0.05 against 0.25)
    const odd = unit('odd', Array.from({ length: dim }, (_, j) => 0.05 * g[j]! + Math.sqrt(1 - 0.05 ** 2) * own[j]!));
    const r = createFedwardenStrategy().aggregate([...units, odd], context(dim));
    expect(r.rejected).toEqual([]);
    expect(r.kept).toContain('odd');
    // What the header says of a unit with no share at all while the cohort is aligned: an outlier.
    const none = unit('none', Array.from(own));
    expect(createFedwardenStrategy().aggregate([...units, none], context(dim)).rejected.map((v) => v.id)).toEqual(['none']);
  });
});
