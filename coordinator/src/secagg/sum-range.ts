/**
 * The range a secure group's unmasked sum can reach when its members quantize honestly, and the check that
 * rejects a sum outside it in any coordinate: a member whose masked input was not an honest quantized update
 * (arbitrary words mod 2^32, wrapping the sum around). Pure; see shared/src/secagg/quantize.ts.
 *
 * Member i with weight w_i sends q_i = SR((y + c)·T / (2c)) with y = w_i·clamp(v, −c, c) and T = 2^b − 1, so
 * q_i ∈ [⌊(1 − w_i)·T/2⌋, ⌈(1 + w_i)·T/2⌉] ⊂ [0, T] whatever c is. One step of slack on each side absorbs the
 * floating-point rounding of y and of the scaling. The survivors' sum then lies in [Σ lo_i, Σ hi_i] ≤ n·T < 2^32.
 *
 * Limits: the check bounds the group's sum, not each member's part of it. One member that knows roughly what
 * the others send can still place the sum anywhere inside the range, i.e. the group's mean update anywhere in
 * [−c, c] per coordinate (measured by scripts/src/bench-sum-range.ts; README, "Secure aggregation").
 */
import { FedwardenError } from '@fedwarden/shared';

/** Inclusive bounds of every coordinate of an honest group's quantized sum. */
export interface SumRange {
  readonly lo: number;
  readonly hi: number;
}

export type SumRangeVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** Coordinates outside the range, and the first of them with its value. */
      readonly outside: number;
      readonly coordinate: number;
      readonly value: number;
      readonly reason: string;
    };

/** The bounds for survivors with these weights (each in (0, 1], as sent in saPeerShares) at `bits` bits. */
export function honestSumRange(weights: readonly number[], bits: number): SumRange {
  if (!Number.isInteger(bits) || bits < 1 || bits > 32) throw new FedwardenError('INTERNAL', `honestSumRange: bits ${bits} not in 1..32`);
  if (weights.length === 0) throw new FedwardenError('INTERNAL', 'honestSumRange: no weights');
  const top = 2 ** bits - 1;
  let lo = 0;
  let hi = 0;
  for (const w of weights) {
    if (!(Number.isFinite(w) && w > 0 && w <= 1)) throw new FedwardenError('INTERNAL', `honestSumRange: weight ${w} not in (0, 1]`);
    lo += Math.max(0, Math.floor(((1 - w) * top) / 2) - 1);
    hi += Math.min(top, Math.ceil(((1 + w) * top) / 2) + 1);
  }
  if (hi > 2 ** 32 - 1) throw new FedwardenError('INTERNAL', `honestSumRange: ${weights.length} members of ${bits} bits can wrap`);
  return { lo, hi };
}

/** Whether every coordinate of `sum` (the unmasked sum, mod 2^32) lies in `range`. */
export function checkSumRange(sum: Uint32Array, range: SumRange): SumRangeVerdict {
  const { lo, hi } = range;
  let outside = 0;
  let first = -1;
  for (let k = 0; k < sum.length; k++) {
    const v = sum[k] as number;
    if (v < lo || v > hi) {
      outside++;
      if (first < 0) first = k;
    }
  }
  if (outside === 0) return { ok: true };
  const value = sum[first] as number;
  return {
    ok: false,
    outside,
    coordinate: first,
    value,
    reason:
      `sum outside the honest range [${lo}, ${hi}] in ${outside} of ${sum.length} coordinates ` +
      `(first: coordinate ${first} = ${value}): a member's masked input was not a quantized update`,
  };
}
