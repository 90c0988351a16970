/**
 * Caps unit weights at a multiple of the median weight. Weights come from participant-reported sample counts,
 * which nothing verifies: without a cap, one participant claiming a huge dataset would dominate any weighted
 * mean that lets its update through (and, inside a secure group, scale its group-mates' weights to nothing).
 * A cap relative to the median keeps honest differences in dataset size (up to `factor` ×) intact.
 */
import { median } from '@fedwarden/shared';

export const WEIGHT_CAP_DEFAULTS = { factor: 3 } as const;

/** min(wᵢ, factor · median(w)); a non-positive factor disables the cap. */
export function capWeights(weights: readonly number[], factor: number = WEIGHT_CAP_DEFAULTS.factor): number[] {
  if (!(factor > 0) || weights.length === 0) return [...weights];
  const cap = factor * median(weights);
  return weights.map((w) => Math.min(w, cap));
}
