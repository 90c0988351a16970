/**
 * Coordinate-wise trimmed mean (Yin, Chen, Ramchandran, Bartlett, ICML 2018, arXiv:1803.01498): for each
 * coordinate, drop the k = ⌊β·n⌋ smallest and the k largest values and average the n − 2k left.
 * Tolerance: f ≤ k = ⌊β·n⌋ Byzantine units (f < β·n in the paper's notation), β < 1/2. Default β = 0.2, so
 * up to a fifth of the units. Units count equally (claimed sample counts are ignored). Like the median, it
 * bounds each coordinate separately and not the direction of the whole update.
 * Cost O(n·d) expected: two quickselects per coordinate on one scratch column.
 */
import { sanityCheck, type SanityOptions } from './sanity.ts';
import { selectInPlace } from '@fedwarden/shared';
import type { AggregationResult, AggregationUnit, Strategy, StrategyContext } from './strategy.ts';
import { ids } from './unit-math.ts';

export interface TrimmedMeanOptions extends SanityOptions {
  /** Fraction trimmed from each side, in [0, 0.5). Default 0.2. */
  readonly beta?: number;
}

export const TRIMMED_MEAN_DEFAULTS = { beta: 0.2 } as const;

/** Number of values trimmed from each side for n units; always leaves at least one value. */
export function trimCount(n: number, beta: number): number {
  return Math.min(Math.floor(beta * n), Math.floor((n - 1) / 2));
}

export function trimmedMean(units: readonly AggregationUnit[], dim: number, beta: number): Float32Array {
  if (!(beta >= 0 && beta < 0.5)) throw new RangeError(`trimmedMean: beta ${beta} not in [0, 0.5)`);
  const n = units.length;
  if (n === 0) return new Float32Array(dim);
  const k = trimCount(n, beta);
  const kept = n - 2 * k;
  const deltas = units.map((u) => u.delta);
  const column = new Float64Array(n);
  const out = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    for (let i = 0; i < n; i++) column[i] = (deltas[i] as Float32Array)[j] as number;
    if (k > 0) {
      selectInPlace(column, k); // column[0..k-1] are the k smallest
      selectInPlace(column, n - k - 1, k, n - 1); // column[n-k..n-1] are the k largest
    }
    let s = 0;
    for (let i = k; i < n - k; i++) s += column[i] as number;
    out[j] = s / kept;
  }
  return out;
}

export function createTrimmedMean(options: TrimmedMeanOptions = {}): Strategy {
  const beta = options.beta ?? TRIMMED_MEAN_DEFAULTS.beta;
  if (!(beta >= 0 && beta < 0.5)) throw new RangeError(`createTrimmedMean: beta ${beta} not in [0, 0.5)`);
  return {
    name: 'trimmed-mean',
    tolerance: `Yin et al., ICML 2018; f ≤ ⌊${beta}·n⌋ per coordinate (β = ${beta})`,
    aggregate(units: readonly AggregationUnit[], ctx: StrategyContext): AggregationResult {
      const { kept, rejected } = sanityCheck(units, ctx.dim, options);
      return { step: trimmedMean(kept, ctx.dim, beta), kept: ids(kept), rejected, adjusted: [] };
    },
  };
}
