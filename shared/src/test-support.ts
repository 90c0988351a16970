/**
 * Test-only helpers for the shared suites (not exported from the package): the error code a call throws,
 * and Pearson's chi-square goodness-of-fit test against the uniform distribution. The seeded byte source
 * the suites use lives in rng.ts (`seededBytes`).
 */
import { FedwardenError } from './errors.ts';

/** The FedwardenError code `fn` throws, or undefined if it returns. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof FedwardenError ? err.code : `not a FedwardenError: ${String(err)}`;
  }
  return undefined;
}

/** Pearson's statistic of `counts` against equal expected counts, and its two-sided 0.1 % acceptance interval. */
export function chiSquareUniform(counts: ArrayLike<number>): { statistic: number; low: number; high: number } {
  const bins = counts.length;
  let total = 0;
  for (let i = 0; i < bins; i++) total += counts[i] as number;
  const expected = total / bins;
  let statistic = 0;
  for (let i = 0; i < bins; i++) statistic += ((counts[i] as number) - expected) ** 2 / expected;
  // Wilson–Hilferty: (X/df)^(1/3) is close to normal with mean 1 − 2/(9df) and variance 2/(9df).
  const df = bins - 1;
  const v = 2 / (9 * df);
  const z = 3.29; // two-sided 0.1 %
  return { statistic, low: df * (1 - v - z * Math.sqrt(v)) ** 3, high: df * (1 - v + z * Math.sqrt(v)) ** 3 };
}

/** Histogram of `values` masked to `bits` bits after shifting right by `shift`. */
export function histogram(values: ArrayLike<number>, bits: number, shift = 0): Uint32Array {
  const counts = new Uint32Array(1 << bits);
  const mask = (1 << bits) - 1;
  for (let i = 0; i < values.length; i++) {
    const bin = ((values[i] as number) >>> shift) & mask;
    counts[bin] = (counts[bin] as number) + 1;
  }
  return counts;
}
