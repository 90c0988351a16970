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
 * Cost: O(n·d): one quickselect and two scans of n per coordinate.
 */
import { selectInPlace } from '@fedwarden/shared';
import type { AggregationUnit } from './strategy.ts';

export const CONSENSUS_DEFAULTS = {
  /** Fewer units than this give no consensus: a median of a handful of directions is no one's. */
  minUnits: 6,
} as const;

/**
 * For each unit (sane: length dim, finite, non-zero; `norms` their L2 norms), the cosine of its delta with the
 * coordinate-wise median of the other units' directions; undefined for fewer than `minUnits` units. A unit
 * whose leave-one-out median is the zero vector gets cosine 0 (no direction to judge it by).
 */
export function consensusCosines(
  units: readonly AggregationUnit[],
  norms: ArrayLike<number>,
  dim: number,
  minUnits: number = CONSENSUS_DEFAULTS.minUnits,
): Float64Array | undefined {
  const n = units.length;
  if (norms.length !== n) throw new RangeError(`consensusCosines: ${norms.length} norms for ${n} units`);
  if (!(Number.isInteger(minUnits) && minUnits >= 3)) throw new RangeError(`consensusCosines: minUnits ${minUnits} must be an integer ≥ 3`);
  if (n < minUnits) return undefined;
  const inv = Float64Array.from({ length: n }, (_, i) => 1 / (norms[i] as number));
  const dot = new Float64Array(n);
  const square = new Float64Array(n);
  const column = new Float64Array(n);
  // n − 1 values remain: their median is order statistic k (n − 1 odd) or the mean of k and k + 1 (even), of
  // the remaining values; those are order statistics k, k + 1 (and k + 2) of the full column (see below).
  const even = (n - 1) % 2 === 0;
  const k = even ? (n - 1) / 2 - 1 : (n - 2) / 2;
  for (let j = 0; j < dim; j++) {
    for (let i = 0; i < n; i++) column[i] = ((units[i] as AggregationUnit).delta[j] as number) * (inv[i] as number);
    const s0 = selectInPlace(column, k);
    // After the select, column[k + 1 ..] holds the larger values: their two smallest are s_{k+1} and s_{k+2}.
    let s1 = Infinity;
    let s2 = Infinity;
    for (let i = k + 1; i < n; i++) {
      const x = column[i] as number;
      if (x < s1) [s2, s1] = [s1, x];
      else if (x < s2) s2 = x;
    }
    for (let i = 0; i < n; i++) {
      const v = ((units[i] as AggregationUnit).delta[j] as number) * (inv[i] as number);
      // Removing value v: the remaining k-th order statistic is s_k when v ≥ s_{k+1}, else s_{k+1} (ties give
      // the same multiset whichever copy goes); likewise one position up.
      const low = v >= s1 ? s0 : s1;
      const median = even ? (low + (v >= s2 ? s1 : s2)) / 2 : low;
      dot[i] = (dot[i] as number) + v * median;
      square[i] = (square[i] as number) + median * median;
    }
  }
  // v is a unit vector, so the cosine is dot / ‖median‖.
  return Float64Array.from({ length: n }, (_, i) => ((square[i] as number) > 0 ? (dot[i] as number) / Math.sqrt(square[i] as number) : 0));
}
