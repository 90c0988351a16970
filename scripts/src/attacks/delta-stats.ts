/**
 * Coordinate-wise statistics over a set of deltas, the estimates the attacks build on: mean, standard
 * deviation, mean L2 norm. Accumulates in float64 and returns Float32Array like the deltas themselves.
 */
import { l2Norm } from '@fedwarden/shared';

/** Throws unless `deltas` is non-empty and every delta has length `dim`; `who` names the caller in errors. */
export function checkDeltas(who: string, deltas: readonly Float32Array[], dim: number): void {
  if (deltas.length === 0) throw new RangeError(`${who}: no benign deltas to craft from`);
  for (const d of deltas) {
    if (d.length !== dim) throw new RangeError(`${who}: delta length ${d.length} != adapter length ${dim}`);
  }
}

export function meanDelta(deltas: readonly Float32Array[]): Float32Array {
  const first = deltas[0];
  if (first === undefined) throw new RangeError('meanDelta: no deltas');
  const sum = new Float64Array(first.length);
  for (const d of deltas) for (let i = 0; i < d.length; i++) sum[i] = (sum[i] as number) + (d[i] as number);
  return Float32Array.from(sum, (s) => s / deltas.length);
}

/**
 * Coordinate-wise sample standard deviation (divisor k − 1, as torch.std) around `mean`; zeros for a single
 * delta, where no spread can be estimated.
 */
export function stdDelta(deltas: readonly Float32Array[], mean: Float32Array): Float32Array {
  const out = new Float32Array(mean.length);
  if (deltas.length < 2) return out;
  const sq = new Float64Array(mean.length);
  for (const d of deltas) {
    for (let i = 0; i < d.length; i++) {
      const e = (d[i] as number) - (mean[i] as number);
      sq[i] = (sq[i] as number) + e * e;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt((sq[i] as number) / (deltas.length - 1));
  return out;
}

export function meanNorm(deltas: readonly Float32Array[]): number {
  if (deltas.length === 0) throw new RangeError('meanNorm: no deltas');
  return deltas.reduce((s, d) => s + l2Norm(d), 0) / deltas.length;
}

/** A new vector s·v. */
export function scaled(v: Float32Array, s: number): Float32Array {
  return Float32Array.from(v, (x) => s * x);
}

/** Throws unless `value` is a finite number in [min, max]; for validating attack options. */
export function checkOption(who: string, name: string, value: number, min: number, max = Infinity): number {
  if (!(Number.isFinite(value) && value >= min && value <= max)) {
    throw new RangeError(`${who}: option ${name} must be a finite number in [${min}, ${max}], got ${value}`);
  }
  return value;
}
