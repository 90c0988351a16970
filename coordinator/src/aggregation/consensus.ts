/**
 * Consensus check: the direction test of reference.ts when the operator has no root data.
 *
 * Why: the pipeline's only other directional test is DBSCAN's majority cluster, and late in training honest
 * non-IID updates are nearly orthogonal to one another, so no cluster holds a majority (measured without a
 * reference on the MNIST simulation, seed 1: 21 of 30 rounds from round 10 on). The pipeline then kept every
 * unit under the norm bound, and anything pointing the wrong way got in. Honest updates that are orthogonal to
 * each other still share the component every participant's loss agrees on; what a sign flip, an inner-product
 * manipulation or a label flip sends has a negative component along it. That shared component is what a
 * coordinate-wise median of the units' *directions* estimates, robustly while fewer than half the units are
 * hostile (Yin et al., ICML 2018: each coordinate's median stays inside the honest values' range).
 *
 * What it computes: for each unit, the cosine of its delta with the coordinate-wise median of the *other*
 * units' unit vectors (directions, not deltas: a boosted unit must not weigh more than a small one; leave one
 * out, because with nearly orthogonal updates a unit's own share of an all-units median is as large as the
 * signal — measured on synthetic late rounds, it lifted sign flippers' cosines from about −0.05 to +0.05).
 * Removing one value from a column moves its median to a neighbouring order statistic, so every unit's
 * leave-one-out median comes from the two or three middle order statistics of each coordinate: O(n·d), not
 * O(n²·d). reference.ts's rules then judge the cosines (judgeByCosines), with no noise term: a unit is rejected
 * only with cosine ≤ 0 and either opposing (pushing against the consensus at least half as hard as the
 * best-aligned tenth pulls with it) or an outlier of the cohort's cosines. A unit with unusual data has a
 * smaller share of the shared direction, not a negative one: it stays in; a unit with no share at all (cosine ≤
 * 0) while the cohort is clearly aligned is an outlier, as against a trusted reference. The consensus has no meaningful norm (a median of unit vectors is
 * shorter than any of them), so the pipeline keeps its median-based norm bound.
 *
 * Tolerance and limits: f < n/2 hostile units pulling one way (at 40 % a coordinated bloc shifts each median
 * towards itself, which is why colluding blocs are removed before the consensus is taken). Attackers that stay
 * inside the honest spread ("a little is enough", ALIE) have positive cosines and pass; the norm bound caps
 * them. When most units are hostile (a secure-aggregation round where every group holds an attacker), the
 * consensus is theirs: only a trusted reference, or bounding each member inside its group, helps there.
 * Cost: O(n·d): one quickselect and two scans of n per coordinate, about 60 ns per value on this machine (1,000
 * units × 2·10^4 coordinates: 1.2 s). Above maxCells values (2^23 by default) the cosines are taken on a seeded
 * random sample of ⌊maxCells / n⌋ coordinates, which bounds the cost (≈ 0.5 s) and estimates each cosine to
 * within about 1/√(sample) (0.01 at 8,388 coordinates for 1,000 units), far inside the gap the rules need.
 */
import { createRng, selectInPlace, shuffle } from '@fedwarden/shared';
import { MAD_TO_SD } from '../anomaly/robust-stats.ts';
import type { AggregationUnit } from './strategy.ts';

/** Coordinates transposed at a time (see consensusCosines). */
const CONSENSUS_BLOCK = 64;

export const CONSENSUS_DEFAULTS = {
  /**
   * Fewer units than this give no consensus: a median of a handful of directions is no one's. Small federations
   * pay for the noise of a few others' median: with the 10 participants of the default demo (seed 1) an honest
   * participant was rejected in 2 of 10 rounds (final 88.9 % against 89.7 % without the step). A minimum of 20
   * avoided that but left a 6-participant federation without any directional check once DBSCAN found no
   * majority (an on-off attacker went unflagged in test/dashboard-browser.test.ts).
   */
  minUnits: 6,
  /**
   * Above this many values (units × coordinates) the cosines are taken on a seeded random subset of
   * ⌊maxCells / n⌋ coordinates (header). 2^23: exact for 100 units of 80,000 parameters.
   */
  maxCells: 2 ** 23,
} as const;

export interface ConsensusOptions {
  readonly minUnits?: number;
  readonly maxCells?: number;
}

/** The coordinates to judge on: all of them, or a sorted seeded sample of ⌊maxCells / n⌋ when n·dim is larger. */
export function consensusCoordinates(n: number, dim: number, maxCells: number, seed: number): Uint32Array | undefined {
  if (n * dim <= maxCells) return undefined;
  const count = Math.max(1, Math.floor(maxCells / n));
  const all = Array.from({ length: dim }, (_, j) => j);
  return Uint32Array.from(shuffle(createRng(seed), all).slice(0, count)).sort();
}

/**
 * For each unit (sane: length dim, finite, non-zero; `norms` their L2 norms), the cosine of its delta with the
 * coordinate-wise median of the other units' directions; undefined for fewer than `minUnits` units. A unit
 * whose leave-one-out median is the zero vector gets cosine 0 (no direction to judge it by).
 */
export function consensusCosines(
  units: readonly AggregationUnit[],
  norms: ArrayLike<number>,
  dim: number,
  seed: number,
  options: ConsensusOptions = {},
): Float64Array | undefined {
  const n = units.length;
  const minUnits = options.minUnits ?? CONSENSUS_DEFAULTS.minUnits;
  const maxCells = options.maxCells ?? CONSENSUS_DEFAULTS.maxCells;
  if (norms.length !== n) throw new RangeError(`consensusCosines: ${norms.length} norms for ${n} units`);
  if (!(Number.isInteger(minUnits) && minUnits >= 3)) throw new RangeError(`consensusCosines: minUnits ${minUnits} must be an integer ≥ 3`);
  if (!(Number.isSafeInteger(maxCells) && maxCells >= 1)) throw new RangeError(`consensusCosines: maxCells ${maxCells} must be a positive integer`);
  if (n < minUnits) return undefined;
  const coords = consensusCoordinates(n, dim, maxCells, seed);
  const width = coords?.length ?? dim;
  const inv = Float64Array.from({ length: n }, (_, i) => 1 / (norms[i] as number));
  const dot = new Float64Array(n);
  const square = new Float64Array(n);
  const own = new Float64Array(n);
  const column = new Float64Array(n);
  // Coordinates go in blocks: a block's values are copied unit by unit (consecutive reads) into a
  // coordinate-major scratch, so that each coordinate's n values are then read from one place, not from n
  // arrays (at 1,000 units × 10^5 the direct reads cost 7.5 s in cache misses; see bench:robust).
  const block = new Float64Array(CONSENSUS_BLOCK * n);
  // n − 1 values remain: their median is order statistic k (n − 1 odd) or the mean of k and k + 1 (even), of
  // the remaining values; those are order statistics k, k + 1 (and k + 2) of the full column (see below).
  const even = (n - 1) % 2 === 0;
  const k = even ? (n - 1) / 2 - 1 : (n - 2) / 2;
  for (let j0 = 0; j0 < width; j0 += CONSENSUS_BLOCK) {
    const span = Math.min(CONSENSUS_BLOCK, width - j0);
    for (let i = 0; i < n; i++) {
      const delta = (units[i] as AggregationUnit).delta;
      const scale = inv[i] as number;
      for (let c = 0; c < span; c++) block[c * n + i] = (delta[coords ? (coords[j0 + c] as number) : j0 + c] as number) * scale;
    }
    for (let c = 0; c < span; c++) {
      const base = c * n;
      column.set(block.subarray(base, base + n));
      const s0 = selectInPlace(column, k);
      // After the select, column[k + 1 ..] holds the larger values: their two smallest are s_{k+1} and s_{k+2}.
      let s1 = Infinity;
      let s2 = Infinity;
      for (let i = k + 1; i < n; i++) {
        const x = column[i] as number;
        if (x < s1) {
          s2 = s1;
          s1 = x;
        } else if (x < s2) s2 = x;
      }
      for (let i = 0; i < n; i++) {
        const v = block[base + i] as number;
        // Removing value v: the remaining k-th order statistic is s_k when v ≥ s_{k+1}, else s_{k+1} (ties give
        // the same multiset whichever copy goes); likewise one position up.
        const low = v >= s1 ? s0 : s1;
        const median = even ? (low + (v >= s2 ? s1 : s2)) / 2 : low;
        dot[i] = (dot[i] as number) + v * median;
        square[i] = (square[i] as number) + median * median;
        own[i] = (own[i] as number) + v * v;
      }
    }
  }
  // A median whose norm is rounding residue (the others' values cancel up to 1e-16 after scaling) has no
  // direction: cosine 0, not ±1. Real medians are far above 1e-9 of a unit vector's typical coordinate 1/√dim.
  const least = (width * 1e-18) / dim;
  return Float64Array.from({ length: n }, (_, i) => {
    const sq = square[i] as number;
    const norm2 = sq * (own[i] as number);
    return sq > least && norm2 > 0 ? (dot[i] as number) / Math.sqrt(norm2) : 0;
  });
}

/**
 * The noise of the consensus cosines, for judgeByCosines: the robust spread of the upper half of the cosines
 * (1.4826 × the median distance above the median). The upper half is the honest side while fewer than half the
 * units are hostile, and its spread says how far chance alone moves a unit's cosine: late in training, when the
 * shared direction is weak and honest cosines scatter around a small positive value, a unit must then oppose by
 * more than that scatter to be rejected, and is only doubted otherwise (measured by review: with a weak shared
 * signal and no such guard, a fifth of honest units were rejected per round).
 */
export function consensusNoise(cosines: ArrayLike<number>): number {
  const sorted = Float64Array.from(cosines).sort();
  if (sorted.length < 2) return 0;
  const mid = sorted[sorted.length >> 1] as number;
  const above = Float64Array.from(sorted.subarray(sorted.length >> 1), (c) => c - mid);
  return MAD_TO_SD * (above[above.length >> 1] as number);
}
