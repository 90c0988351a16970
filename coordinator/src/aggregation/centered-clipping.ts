/**
 * Centered clipping (Karimireddy, He, Jaggi, "Learning from History for Byzantine Robust Optimization",
 * ICML 2021, arXiv:2012.10333). Starting from v₀ = ctx.previousStep (the previous round's step: the
 * momentum-style centre of the paper, where consecutive steps are correlated), iterate L times
 *     v ← v + (1/n) Σᵢ clip(xᵢ − v, τ),   clip(z, τ) = z · min(1, τ / ‖z‖).
 * τ: a fixed radius if configured; by default it is data-driven, the median over units of ‖xᵢ − v‖ recomputed
 * at each iteration, so that with an honest majority the radius is an honest unit's distance and an outlier
 * moves v by at most τ/n per iteration however far it is. L defaults to 3: one iteration does from a good
 * centre, a few more recover from a poor one (round 1's zeros).
 * Tolerance: a small Byzantine fraction δ = f/n (the paper's analysis, with its fixed τ and worker momentum,
 * takes δ ≲ 0.1); every unit moves the result by at most τ/n per iteration, so f attackers bias it by at most
 * L·f·τ/n. Units count equally (claimed sample counts are ignored). Limits: the guarantee assumes bounded
 * honest variance; with a poor centre (round 1, v₀ = 0) more iterations are needed.
 */
import { sanityCheck, type SanityOptions } from './sanity.ts';
import { medianInPlace } from '@fedwarden/shared';
import type { AggregationResult, AggregationUnit, Strategy, StrategyContext, UnitVerdict } from './strategy.ts';
import { ids } from './unit-math.ts';

export interface CenteredClippingOptions extends SanityOptions {
  /** Clipping radius τ. Default: median distance of the units to the current centre, per iteration. */
  readonly tau?: number;
  /** Iterations L. Default 3. */
  readonly iterations?: number;
}

export const CENTERED_CLIPPING_DEFAULTS = { iterations: 3 } as const;

export interface CenteredClippingOutcome {
  readonly step: Float32Array;
  /** Distance of each unit to the final iteration's centre, divided by that iteration's τ (> 1: clipped). */
  readonly clipRatios: Float64Array;
}

export function centeredClipping(
  units: readonly AggregationUnit[],
  dim: number,
  start: Float32Array,
  iterations: number,
  tau?: number,
): CenteredClippingOutcome {
  const n = units.length;
  const v = new Float64Array(dim);
  if (start.length === dim) for (let j = 0; j < dim; j++) v[j] = start[j] as number;
  const dist = new Float64Array(n);
  const ratios = new Float64Array(n);
  if (n === 0) return { step: new Float32Array(dim), clipRatios: ratios };
  const acc = new Float64Array(dim);
  for (let l = 0; l < iterations; l++) {
    for (let i = 0; i < n; i++) {
      const x = (units[i] as AggregationUnit).delta;
      let s = 0;
      for (let j = 0; j < dim; j++) {
        const t = (x[j] as number) - (v[j] as number);
        s += t * t;
      }
      dist[i] = Math.sqrt(s);
    }
    const radius = tau ?? medianInPlace(Float64Array.from(dist));
    acc.fill(0);
    for (let i = 0; i < n; i++) {
      const di = dist[i] as number;
      ratios[i] = radius > 0 ? di / radius : di > 0 ? Infinity : 0;
      if (di === 0) continue;
      const c = Math.min(1, radius / di) / n;
      const x = (units[i] as AggregationUnit).delta;
      for (let j = 0; j < dim; j++) acc[j] = (acc[j] as number) + c * ((x[j] as number) - (v[j] as number));
    }
    for (let j = 0; j < dim; j++) v[j] = (v[j] as number) + (acc[j] as number);
  }
  return { step: Float32Array.from(v), clipRatios: ratios };
}

export function createCenteredClipping(options: CenteredClippingOptions = {}): Strategy {
  const iterations = options.iterations ?? CENTERED_CLIPPING_DEFAULTS.iterations;
  if (!(Number.isInteger(iterations) && iterations >= 1)) throw new RangeError(`createCenteredClipping: iterations ${iterations}`);
  if (options.tau !== undefined && !(options.tau > 0)) throw new RangeError(`createCenteredClipping: tau ${options.tau}`);
  return {
    name: 'centered-clipping',
    tolerance: 'Karimireddy, He & Jaggi, ICML 2021; small δ = f/n (analysis: δ ≲ 0.1), bias ≤ L·f·τ/n',
    aggregate(units: readonly AggregationUnit[], ctx: StrategyContext): AggregationResult {
      const { kept, rejected } = sanityCheck(units, ctx.dim, options);
      const { step, clipRatios } = centeredClipping(kept, ctx.dim, ctx.previousStep, iterations, options.tau);
      const adjusted: UnitVerdict[] = [];
      kept.forEach((u, i) => {
        const r = clipRatios[i] as number;
        if (r > 1) adjusted.push({ id: u.id, reason: `centered-clipped: distance ${r.toFixed(1)}× τ` });
      });
      return { step, kept: ids(kept), rejected, adjusted };
    },
  };
}
