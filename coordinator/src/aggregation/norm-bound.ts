/**
 * Median-based norm bounding (the norm-clipping defence of Sun, Kairouz, Suresh, McMahan, "Can You Really
 * Backdoor Federated Learning?", arXiv:1911.07963, with the bound taken from the data): every unit's delta is
 * scaled down to at most c × (median unit norm).
 * Why c = 2 by default: with an honest majority the median is an honest norm, and honest norms under non-IID
 * data (different shard sizes, local epochs, learning-rate phases) routinely spread by a factor of two around
 * it, so c = 2 leaves most honest units untouched while capping any unit — a boosted model-replacement update,
 * a scaled Sybil — at the influence of a large honest one. Smaller c clips honest units and slows training;
 * larger c lets a boosted update through (a ×10 boost is the usual replacement attack).
 * Tolerance: f < n/2 for the bound itself (the median breaks down at one half). It limits magnitude only:
 * direction attacks (sign flips, noise) within the bound pass and are left to the clustering step.
 * `normBoundFactors` returns per-unit scale factors (the robust pipeline folds them into the weighted average
 * and never copies a delta); `clipToNormBound` returns clipped copies for callers that want the vectors.
 */
import { median } from '@fedwarden/shared';
import type { AggregationUnit, UnitVerdict } from './strategy.ts';

export interface NormBoundOptions {
  /** Clip at clipFactor × median norm. Default 2 (see the header). */
  readonly clipFactor?: number;
}

export const NORM_BOUND_DEFAULTS = { clipFactor: 2 } as const;

export interface NormBound {
  /** The bound c × median norm. */
  readonly bound: number;
  /** min(1, bound / norm_i) for each unit. */
  readonly factors: Float64Array;
  /** One verdict per clipped unit: "norm clipped 3.1× to 2.00e-1". */
  readonly adjusted: UnitVerdict[];
}

function checkedFactor(options: NormBoundOptions): number {
  const c = options.clipFactor ?? NORM_BOUND_DEFAULTS.clipFactor;
  if (!(c >= 1 && Number.isFinite(c))) throw new RangeError(`normBound: clipFactor ${c} must be a finite number ≥ 1`);
  return c;
}

/**
 * Scale factors for units with the given norms (aligned with `units`, as sanityCheck returns them). `center`
 * replaces the median when the caller has a norm it trusts more (a trusted reference update, reference.ts).
 */
export function normBoundFactors(
  units: readonly AggregationUnit[],
  norms: Float64Array,
  options: NormBoundOptions = {},
  center?: number,
): NormBound {
  if (norms.length !== units.length) throw new RangeError('normBoundFactors: one norm per unit');
  const c = checkedFactor(options);
  const factors = new Float64Array(units.length).fill(1);
  if (units.length === 0) return { bound: 0, factors, adjusted: [] };
  if (center !== undefined && !(center > 0 && Number.isFinite(center))) throw new RangeError(`normBound: center ${center}`);
  const bound = c * (center ?? median(norms));
  const adjusted: UnitVerdict[] = [];
  units.forEach((u, i) => {
    const norm = norms[i] as number;
    if (norm > bound) {
      factors[i] = bound / norm;
      adjusted.push({ id: u.id, reason: `norm clipped ${(norm / bound).toFixed(1)}× to ${bound.toExponential(2)}` });
    }
  });
  return { bound, factors, adjusted };
}

/** Clipped copies of the units (unclipped units are returned as they are) and the verdicts. */
export function clipToNormBound(
  units: readonly AggregationUnit[],
  norms: Float64Array,
  options: NormBoundOptions = {},
): NormBound & { readonly units: AggregationUnit[] } {
  const nb = normBoundFactors(units, norms, options);
  const clipped = units.map((u, i) => {
    const f = nb.factors[i] as number;
    if (f === 1) return u;
    const delta = new Float32Array(u.delta.length);
    for (let j = 0; j < delta.length; j++) delta[j] = f * (u.delta[j] as number);
    return { ...u, delta };
  });
  return { ...nb, units: clipped };
}
