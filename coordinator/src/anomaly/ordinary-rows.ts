/**
 * Feature rows of ordinary units for the detector's tests and benchmark: seven independent Gaussian features
 * around typical values, as unit-features.ts produces them for honest units, reproducible from a seed.
 */
import { createRng, normal, type Rng } from '@fedwarden/shared';
import type { FeatureRow } from './isolation-forest-detector.ts';
import type { UnitFeature } from './unit-features.ts';

/** One ordinary unit's features, drawn from `rng`. */
export function ordinaryFeatures(rng: Rng): Record<UnitFeature, number> {
  return {
    norm: 1 + 0.1 * normal(rng),
    cosineToAggregate: 0.8 + 0.05 * normal(rng),
    cosineToPrevious: 0.5 + 0.1 * normal(rng),
    nearestCosine: 0.6 + 0.1 * normal(rng),
    meanLoss: 0.5 + 0.05 * normal(rng),
    trainMs: 1000 + 100 * normal(rng),
    numSamples: 500 + 50 * normal(rng),
  };
}

/** `count` ordinary rows with ids prefix0, prefix1, … */
export function ordinaryRows(count: number, seed: number, prefix = 'u'): FeatureRow[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, (_, i) => ({ id: `${prefix}${i}`, features: ordinaryFeatures(rng) }));
}
