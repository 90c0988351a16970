import { describe, expect, it } from 'vitest';
import { createRng, deriveSeed, normal, type Rng } from '@fedwarden/shared';
import { CollusionCheck, nearDuplicates, subMatrix } from './collusion.ts';
import { cosineDistances } from './cosine.ts';
import { projectDeltas } from './projection.ts';
import type { AggregationUnit } from './strategy.ts';

// Four units: 0 and 2 are identical (distance 0), 1 and 3 honest and distinct.
const n = 4;
const dist = Float64Array.from([
  0, 0.4, 0, 0.6,
  0.4, 0, 0.4, 0.3,
  0, 0.4, 0, 0.6,
  0.6, 0.3, 0.6, 0,
]);

const norms = [2, 1, 2, 1.5];

describe('nearDuplicates', () => {
  it('finds units that coincide with another, and only those', () => {
    expect([...nearDuplicates(dist, norms, n)].sort()).toEqual([0, 2]);
  });

  it('does not call parallel updates of different sizes copies', () => {
    expect(nearDuplicates(dist, [2, 1, 3, 1.5], n).size).toBe(0);
  });

  it('is disabled by a zero distance and rejects malformed input', () => {
    expect(nearDuplicates(dist, norms, n, 0).size).toBe(0);
    expect(() => nearDuplicates(dist, norms.slice(0, 3), 3)).toThrow(/expected 9/);
    expect(() => nearDuplicates(dist, [1], n)).toThrow(/1 norms for 4 units/);
  });

  it('subMatrix keeps the chosen rows and columns in order', () => {
    expect(Array.from(subMatrix(dist, n, [1, 3]))).toEqual([0, 0.3, 0.3, 0]);
  });
});

/**
 * A federation over rounds, for the similarity check: every participant has its own data direction uᵢ (fixed
 * over rounds) and fresh noise eᵢ,ₜ each round; g is the task's common direction. Like non-IID shards that
 * share labels, participants fall in five groups whose data directions are alike (uᵢ = (c_{i mod 5} + wᵢ)/√2,
 * cosine 0.5 within a group): honest pairs that are similar for honest reasons.
 *   early (IID agreement): g + 0.25·uᵢ + 0.35·eᵢ,ₜ   — honest pairs at cosine ≈ 0.84;
 *   late (non-IID):        0.1·g + uᵢ + 0.8·eᵢ,ₜ     — honest pairs nearly orthogonal (≈ 0.006), ≈ 0.3 within a group;
 *   unusual honest:        wᵢ + 0.8·eᵢ,ₜ            — data of its own: orthogonal to everyone in both phases;
 *   Sybils (sybil.ts):     f·(p + ν·‖p‖·nᵢ,ₜ)        — one fixed target p, independent noise of relative size ν,
 *                                                       norm jitter f ∈ [0.9, 1.1].
 * Norms vary in [0.6, 1.6] per participant and round. The Sybils' mean keeps all of p whatever ν, and their norm,
 * √(1 + ν²)·‖p‖, stays under the pipeline's 2 × median norm bound for ν ≤ 1.7: with ν = 0.3 (pairs at cosine
 * ≈ 0.92) and ν = 1 (≈ 0.5) the attack loses nothing to noise, only its exact copies.
 */
interface Federation {
  readonly honest: number;
  readonly sybils: number;
  readonly unusual?: number;
  readonly phase: 'early' | 'late';
  readonly noise: number;
  readonly seed: number;
}

const DIM = 2000;

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += (v[j] as number) ** 2;
  return Math.sqrt(s);
}

function gaussianUnit(rng: Rng): Float64Array {
  const v = new Float64Array(DIM);
  for (let j = 0; j < DIM; j++) v[j] = normal(rng);
  const s = 1 / norm(v);
  for (let j = 0; j < DIM; j++) v[j] = (v[j] as number) * s;
  return v;
}

/** g, p and the data directions of a seed's participants, drawn once. */
const directions = new Map<number, { g: Float64Array; p: Float64Array; u: Float64Array[]; own: Float64Array[] }>();
function fixedDirections(seed: number, total: number) {
  let d = directions.get(seed);
  if (d === undefined || d.u.length < total) {
    const fixed = createRng(deriveSeed(seed, 0));
    const g = gaussianUnit(fixed), p = gaussianUnit(fixed);
    const centres = Array.from({ length: 5 }, () => gaussianUnit(fixed));
    const own = Array.from({ length: total }, (_, i) => gaussianUnit(createRng(deriveSeed(seed, 1, i))));
    const u = own.map((w, i) => {
      const c = centres[i % 5] as Float64Array;
      return w.map((x, j) => (x + (c[j] as number)) * Math.SQRT1_2);
    });
    d = { g, p, u, own };
    directions.set(seed, d);
  }
  return d;
}

function federationRound(f: Federation, round: number): { units: AggregationUnit[]; sybil: Set<string> } {
  const units: AggregationUnit[] = [];
  const sybil = new Set<string>();
  const total = f.honest + (f.unusual ?? 0) + f.sybils;
  const { g, p, u: data, own } = fixedDirections(f.seed, total);
  for (let i = 0; i < total; i++) {
    const kind = i < f.honest ? 'honest' : i < f.honest + (f.unusual ?? 0) ? 'unusual' : 'sybil';
    // An unusual participant's data is its own, like no one else's.
    const u = (kind === 'unusual' ? own[i] : data[i]) as Float64Array;
    const rng = createRng(deriveSeed(f.seed, 2 + round, i));
    const e = gaussianUnit(rng);
    const size = 0.6 + rng.next();
    const [a, b, c] = kind === 'sybil' ? [0, 0, 0] : kind === 'unusual' ? [0, 1, 0.8] : f.phase === 'early' ? [1, 0.25, 0.35] : [0.1, 1, 0.8];
    const x = new Float32Array(DIM);
    if (kind === 'sybil') {
      const jitter = 0.9 + 0.2 * rng.next();
      for (let j = 0; j < DIM; j++) x[j] = jitter * ((p[j] as number) + f.noise * (e[j] as number));
    } else {
      for (let j = 0; j < DIM; j++) x[j] = a * (g[j] as number) + b * (u[j] as number) + c * (e[j] as number);
      const s = size / norm(x);
      for (let j = 0; j < DIM; j++) x[j] = (x[j] as number) * s;
    }
    const id = `${kind}-${i}`;
    if (kind === 'sybil') sybil.add(id);
    units.push({ id, delta: x, weight: 1, members: [id] });
  }
  return { units, sybil };
}

/** The check as the pipeline runs it: this round's count sketch (seeded per round) and its cosine distances. */
function checkRound(check: CollusionCheck, units: readonly AggregationUnit[], round: number, seed: number) {
  const projection = projectDeltas(units.map((u) => u.delta), DIM, deriveSeed(seed, 100 + round), 256);
  const dist = cosineDistances(projection.rows, units.length, projection.width);
  const norms = units.map((u) => norm(u.delta));
  return check.check(units, dist, norms, { round, dim: DIM, seed: deriveSeed(seed, 100 + round) });
}

/** Flags of `rounds` rounds (those from `from` on counted) over `draws` seeds: true/false positives, misses. */
function score(f: Omit<Federation, 'seed'>, draws: number, rounds: number, from = 1) {
  let tp = 0, fp = 0, fn = 0;
  for (let s = 0; s < draws; s++) {
    const check = new CollusionCheck();
    for (let round = 1; round <= rounds; round++) {
      const { units, sybil } = federationRound({ ...f, seed: 1000 + s }, round);
      const flagged = new Set([...checkRound(check, units, round, s).colluding.keys()].map((i) => (units[i] as AggregationUnit).id));
      if (round < from) continue;
      for (const u of units) {
        if (flagged.has(u.id) && sybil.has(u.id)) tp++;
        else if (flagged.has(u.id)) fp++;
        else if (sybil.has(u.id)) fn++;
      }
    }
  }
  return { tp, fp, fn, precision: tp / Math.max(1, tp + fp), recall: tp / Math.max(1, tp + fn) };
}

describe('CollusionCheck: unusually similar groups', () => {
  it('flags no honest participant, whether everyone agrees (early) or no one does (late, non-IID), nor two with data of their own', () => {
    for (const phase of ['early', 'late'] as const) {
      const r = score({ honest: 30, sybils: 0, unusual: 2, phase, noise: 0 }, 6, 6);
      expect(r.fp).toBe(0);
    }
  });

  it.each([
    [0.2, 0.3, 1],
    [0.3, 0.3, 1],
    [0.4, 0.3, 1],
    // ν = 1: one round's cosine (≈ 0.5) is within honest reach; from the third round the histories show them.
    [0.2, 1, 3],
    [0.3, 1, 3],
    [0.4, 1, 3],
  ])('flags colluding Sybils at %f of 30 with noise %f (from round %i) at precision and recall ≥ 0.9', (fraction, noise, from) => {
    const sybils = Math.round(30 * fraction);
    for (const phase of ['early', 'late'] as const) {
      const r = score({ honest: 30 - sybils - 1, unusual: 1, sybils, phase, noise }, 6, 6, from);
      expect(r.precision, `${phase}: ${JSON.stringify(r)}`).toBeGreaterThanOrEqual(0.9);
      expect(r.recall, `${phase}: ${JSON.stringify(r)}`).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('needs the histories for noisy Sybils: one round\'s similarity alone misses them', () => {
    const withHistory = score({ honest: 17, unusual: 1, sybils: 12, phase: 'late', noise: 1 }, 3, 6, 3);
    const roundOnly = (() => {
      let tp = 0;
      for (let s = 0; s < 3; s++) {
        const check = new CollusionCheck({ history: false });
        for (let round = 1; round <= 6; round++) {
          const { units, sybil } = federationRound({ honest: 17, unusual: 1, sybils: 12, phase: 'late', noise: 1, seed: 1000 + s }, round);
          if (round >= 3) tp += [...checkRound(check, units, round, s).colluding.keys()].filter((i) => sybil.has((units[i] as AggregationUnit).id)).length;
        }
      }
      return tp / (3 * 4 * 12);
    })();
    expect(withHistory.recall).toBeGreaterThanOrEqual(0.9);
    expect(roundOnly).toBeLessThan(0.5);
  });

  it('names its evidence, counts what it flagged, and still calls exact copies near-duplicates', () => {
    const { units } = federationRound({ honest: 8, sybils: 4, phase: 'late', noise: 0.3, seed: 3 }, 1);
    const copies = [...units, { ...(units[0] as AggregationUnit), id: 'copy', members: ['copy'] }];
    const v = checkRound(new CollusionCheck(), copies, 1, 3);
    const reasons = [...v.colluding].map(([i, reason]) => [(copies[i] as AggregationUnit).id, reason]);
    expect(reasons.filter(([, r]) => r === 'near-duplicate of another unit (collusion)').map(([id]) => id).sort()).toEqual(['copy', 'honest-0']);
    const similar = reasons.filter(([, r]) => r!.startsWith('collusion:'));
    expect(similar.map(([id]) => id).sort()).toEqual(['sybil-10', 'sybil-11', 'sybil-8', 'sybil-9']);
    expect(similar[0]![1]).toMatch(/^collusion: (this round|history) cosine 0\.9\d with sybil-\d+, 0\.\d\d above the typical 0\.\d\d \(threshold 0\.\d\d; (round|history) median excess -?0\.\d\d\); group of 4: sybil-8, sybil-9, sybil-10, sybil-11$/);
    expect(v.diagnostics).toMatchObject({ duplicates: 2, similar: 4, round: { threshold: expect.any(Number) }, history: { units: 13 } });
  });

  it('compares secure groups by this round alone, and can be limited to near-duplicates or larger groups', () => {
    const { units } = federationRound({ honest: 8, sybils: 4, phase: 'late', noise: 0.3, seed: 4 }, 1);
    const groups = units.map((u, i) => ({ ...u, members: [u.id, `other-${i}`] }));
    const v = checkRound(new CollusionCheck(), groups, 1, 4);
    expect(v.diagnostics.history).toBeUndefined();
    expect(v.diagnostics.similar).toBe(4);
    expect(checkRound(new CollusionCheck({ similarity: false }), units, 1, 4).colluding.size).toBe(0);
    expect(checkRound(new CollusionCheck({ minGroup: 5 }), units, 1, 4).colluding.size).toBe(0);
    expect(() => new CollusionCheck({ minGroup: 1 })).toThrow('CollusionCheck: minGroup 1 not an integer ≥ 2');
    expect(() => new CollusionCheck({ floor: 3 })).toThrow('outlyingLinks: floor 3 not in (0, 2]');
  });
});
