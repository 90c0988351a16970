/**
 * Cost of one round's unit features at the size the coordinator is budgeted for, 1,000 units × 10⁵
 * parameters (and 100 units), on synthetic units (aggregation/synthetic-units.ts): nearestCosines alone (count
 * sketch + Gram cosines) and computeUnitFeatures in all. A benchmark, not a test: it prints vitest's timing
 * table.
 *
 *   pnpm vitest bench --run coordinator/src/anomaly/unit-features.bench.ts
 */
import { bench, describe } from 'vitest';
import { syntheticUnits } from '../aggregation/synthetic-units.ts';
import { computeUnitFeatures, nearestCosines } from './unit-features.ts';

const dim = 100_000;

for (const n of [100, 1000]) {
  describe(`${n} units × 10^5 parameters`, () => {
    const { units } = syntheticUnits({ dim, counts: { honest: 0.8 * n, 'sign-flip': 0.1 * n, sybil: 0.1 * n }, seed: 1 });
    const deltas = units.map((u) => u.delta);
    const observations = units.map((u) => ({ id: u.id, delta: u.delta, meanLoss: 1, trainMs: 1, numSamples: 1 }));
    const previous = new Float32Array(dim);
    let seed = 0;
    const options = { iterations: 5, time: 0, warmupIterations: 1, warmupTime: 0 };
    // A new seed per iteration, as every round draws its own sketch.
    bench('nearestCosines', () => void nearestCosines(deltas, dim, ++seed), options);
    bench('computeUnitFeatures', () => void computeUnitFeatures(observations, deltas[0] as Float32Array, previous, ++seed), options);
  });
}
