/**
 * Small helpers the strategies share: the (scaled) weighted mean of units with a Float64 accumulator, squared
 * norms, and the verdict lists a strategy reports when it leaves units out. The two O(n·d) loops handle four
 * units per pass (measured ≈ 2× faster than one at a time for 1,000 × 10^5 on the 2-core dev VM).
 */
import type { AggregationUnit, UnitVerdict } from './strategy.ts';

/**
 * Σ_i c_i·x_i / Σ_i w_i, where w_i are the averaging weights and c_i = w_i·scale_i (scale_i ≤ 1 shrinks a clipped
 * unit's contribution without renormalising the others). With no positive weight the step is zero: a round in
 * which every unit was rejected leaves the model where it is.
 */
export function scaledWeightedMean(
  units: readonly AggregationUnit[],
  dim: number,
  weights: ArrayLike<number>,
  scales?: ArrayLike<number>,
): Float32Array {
  if (weights.length !== units.length) throw new RangeError('scaledWeightedMean: one weight per unit');
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] as number;
    if (!(w >= 0 && Number.isFinite(w))) throw new RangeError(`scaledWeightedMean: weight ${w}`);
    total += w;
  }
  const acc = new Float64Array(dim);
  if (!(total > 0)) return new Float32Array(dim);
  const coef: number[] = [];
  const xs: Float32Array[] = [];
  for (let i = 0; i < units.length; i++) {
    const w = weights[i] as number;
    if (w === 0) continue;
    coef.push((w * (scales === undefined ? 1 : (scales[i] as number))) / total);
    xs.push((units[i] as AggregationUnit).delta);
  }
  // Four units per pass over the accumulator: a quarter of the read-modify-write traffic on acc.
  let i = 0;
  for (; i + 3 < xs.length; i += 4) {
    const x0 = xs[i] as Float32Array, x1 = xs[i + 1] as Float32Array, x2 = xs[i + 2] as Float32Array, x3 = xs[i + 3] as Float32Array;
    const c0 = coef[i] as number, c1 = coef[i + 1] as number, c2 = coef[i + 2] as number, c3 = coef[i + 3] as number;
    for (let j = 0; j < dim; j++) {
      acc[j] = (acc[j] as number) + c0 * (x0[j] as number) + c1 * (x1[j] as number) + c2 * (x2[j] as number) + c3 * (x3[j] as number);
    }
  }
  for (; i < xs.length; i++) {
    const x = xs[i] as Float32Array, c = coef[i] as number;
    for (let j = 0; j < dim; j++) acc[j] = (acc[j] as number) + c * (x[j] as number);
  }
  return Float32Array.from(acc);
}

/**
 * Σ_j x_j² of each vector in float64, four vectors per pass: four independent accumulator chains run about
 * twice as fast as one (the add latency, not memory, bounds a single chain). A non-finite coordinate makes
 * its sum non-finite.
 */
export function squaredNorms(xs: readonly Float32Array[]): Float64Array {
  const out = new Float64Array(xs.length);
  let i = 0;
  for (; i + 3 < xs.length; i += 4) {
    const x0 = xs[i] as Float32Array, x1 = xs[i + 1] as Float32Array, x2 = xs[i + 2] as Float32Array, x3 = xs[i + 3] as Float32Array;
    const len = Math.min(x0.length, x1.length, x2.length, x3.length);
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let j = 0; j < len; j++) {
      const a = x0[j] as number, b = x1[j] as number, c = x2[j] as number, e = x3[j] as number;
      s0 += a * a;
      s1 += b * b;
      s2 += c * c;
      s3 += e * e;
    }
    for (let j = len; j < x0.length; j++) s0 += (x0[j] as number) * (x0[j] as number);
    for (let j = len; j < x1.length; j++) s1 += (x1[j] as number) * (x1[j] as number);
    for (let j = len; j < x2.length; j++) s2 += (x2[j] as number) * (x2[j] as number);
    for (let j = len; j < x3.length; j++) s3 += (x3[j] as number) * (x3[j] as number);
    out[i] = s0;
    out[i + 1] = s1;
    out[i + 2] = s2;
    out[i + 3] = s3;
  }
  for (; i < xs.length; i++) {
    const x = xs[i] as Float32Array;
    let s = 0;
    for (let j = 0; j < x.length; j++) s += (x[j] as number) * (x[j] as number);
    out[i] = s;
  }
  return out;
}

/** The plain (unweighted) mean: robust rules count units, not claimed sample counts. */
export function unweightedMean(units: readonly AggregationUnit[], dim: number): Float32Array {
  return scaledWeightedMean(units, dim, new Float64Array(units.length).fill(1));
}

export function ids(units: readonly AggregationUnit[]): string[] {
  return units.map((u) => u.id);
}

export function verdicts(units: readonly AggregationUnit[], reason: (u: AggregationUnit, i: number) => string): UnitVerdict[] {
  return units.map((u, i) => ({ id: u.id, reason: reason(u, i) }));
}
