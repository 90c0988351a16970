/**
 * Sanity checks: the first step of every strategy. A unit is dropped, with the reason, when
 *   - its id repeats an earlier unit's id                   ("duplicate id"),
 *   - its delta length differs from ctx.dim                   ("wrong length 5 ≠ 3"),
 *   - its weight is not a positive finite number               ("weight 0"),
 *   - any coordinate is NaN or ±Infinity                        ("non-finite values"),
 *   - its update is zero or negligible (a free rider that sends nothing, or a rounded nothing, to collect the
 *     global model): norm exactly 0, or norm < minNormRatio × median norm of the units that passed the checks
 *     above ("zero update (free rider)" / "negligible norm …").
 * One pass over each delta computes the squared norm in float64; a non-finite float32 makes that sum
 * non-finite, and finite float32 squares cannot overflow float64 (3.4e38² ≈ 1.2e77), so the same pass is the
 * finiteness check. Reasons are reported in the order above, per unit: a short unit is "wrong length" even
 * if it also holds a NaN. The norms of the kept units are returned for the norm bound to reuse.
 */
import { median } from '@fedwarden/shared';
import type { AggregationUnit, UnitVerdict } from './strategy.ts';
import { squaredNorms } from './unit-math.ts';

export interface SanityOptions {
  /** A unit whose norm is below this fraction of the median norm is a free rider. Default 1e-6. */
  readonly minNormRatio?: number;
}

export const SANITY_DEFAULTS = { minNormRatio: 1e-6 } as const;

export interface SanityResult {
  readonly kept: AggregationUnit[];
  /** L2 norm of each kept unit's delta, aligned with `kept`. */
  readonly norms: Float64Array;
  readonly rejected: UnitVerdict[];
}

export function sanityCheck(units: readonly AggregationUnit[], dim: number, options: SanityOptions = {}): SanityResult {
  const minNormRatio = options.minNormRatio ?? SANITY_DEFAULTS.minNormRatio;
  if (!(minNormRatio >= 0 && minNormRatio < 1)) throw new RangeError(`sanityCheck: minNormRatio ${minNormRatio} not in [0, 1)`);
  const rejected: UnitVerdict[] = [];
  const shaped: AggregationUnit[] = [];
  const seen = new Set<string>();
  for (const u of units) {
    if (seen.has(u.id)) {
      rejected.push({ id: u.id, reason: 'duplicate id' });
      continue;
    }
    seen.add(u.id);
    if (u.delta.length !== dim) rejected.push({ id: u.id, reason: `wrong length ${u.delta.length} ≠ ${dim}` });
    else if (!(u.weight > 0) || !Number.isFinite(u.weight)) rejected.push({ id: u.id, reason: `weight ${u.weight}` });
    else shaped.push(u);
  }
  const squares = squaredNorms(shaped.map((u) => u.delta));
  const candidates: AggregationUnit[] = [];
  const candidateNorms: number[] = [];
  shaped.forEach((u, i) => {
    const sq = squares[i] as number;
    if (!Number.isFinite(sq)) rejected.push({ id: u.id, reason: 'non-finite values' });
    else if (sq === 0) rejected.push({ id: u.id, reason: 'zero update (free rider)' });
    else {
      candidates.push(u);
      candidateNorms.push(Math.sqrt(sq));
    }
  });
  if (candidates.length === 0) return { kept: [], norms: new Float64Array(0), rejected };

  const floor = minNormRatio * median(candidateNorms);
  const kept: AggregationUnit[] = [];
  const norms: number[] = [];
  candidates.forEach((u, i) => {
    const norm = candidateNorms[i] as number;
    if (norm < floor) rejected.push({ id: u.id, reason: `negligible norm ${norm.toExponential(2)} (free rider)` });
    else {
      kept.push(u);
      norms.push(norm);
    }
  });
  return { kept, norms: Float64Array.from(norms), rejected };
}
