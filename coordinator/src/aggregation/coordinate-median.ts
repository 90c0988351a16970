/**
 * Coordinate-wise median (Yin, Chen, Ramchandran, Bartlett, "Byzantine-Robust Distributed Learning: Towards
 * Optimal Statistical Rates", ICML 2018, arXiv:1803.01498): each coordinate of the step is the median of that
 * coordinate over the units that pass the sanity checks.
 * Tolerance: f < n/2 Byzantine units. Units count equally; sample-count weights are ignored, since a Byzantine
 * unit could claim any weight. Limits: with non-IID data the median can be far from the mean (statistical
 * error grows with heterogeneity), and an attacker below the breakdown point can still shift each coordinate
 * by up to the spread of the honest values (a "little is enough", Baruch et al. 2019).
 * Cost O(n·d) expected (quickselect per coordinate on one scratch column).
 */
import { sanityCheck, type SanityOptions } from './sanity.ts';
import { medianInPlace } from '@fedwarden/shared';
import type { AggregationResult, AggregationUnit, Strategy, StrategyContext } from './strategy.ts';
import { ids } from './unit-math.ts';

export type CoordinateMedianOptions = SanityOptions;

/** The coordinate-wise median of the deltas (all of length dim). */
export function coordinateMedian(units: readonly AggregationUnit[], dim: number): Float32Array {
  const n = units.length;
  if (n === 0) return new Float32Array(dim);
  const deltas = units.map((u) => u.delta);
  const column = new Float64Array(n);
  const out = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    for (let i = 0; i < n; i++) column[i] = (deltas[i] as Float32Array)[j] as number;
    out[j] = medianInPlace(column);
  }
  return out;
}

export function createCoordinateMedian(options: CoordinateMedianOptions = {}): Strategy {
  return {
    name: 'coordinate-median',
    tolerance: 'Yin et al., ICML 2018; f < n/2 (coordinate-wise breakdown point 1/2)',
    aggregate(units: readonly AggregationUnit[], ctx: StrategyContext): AggregationResult {
      const { kept, rejected } = sanityCheck(units, ctx.dim, options);
      return { step: coordinateMedian(kept, ctx.dim), kept: ids(kept), rejected, adjusted: [] };
    },
  };
}
