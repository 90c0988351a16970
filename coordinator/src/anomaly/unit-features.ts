/**
 * Per-unit features of one round, the rows the unit-level anomaly detectors score (DESIGN.md, "Anomaly
 * detectors"). For every aggregation unit (a participant in trusted mode, a secure group's mean update in
 * secagg mode):
 *
 *   norm               ‖Δ‖₂ of the unit's update
 *   cosineToAggregate  cos(Δ, this round's aggregated step): low or negative for updates pulling elsewhere
 *   cosineToPrevious   cos(Δ, the previous round's global step): consistency with the recent trajectory
 *   nearestCosine      the largest cos(Δ, Δ') over the round's OTHER units: collusion. Participants training on
 *                      their own data never send the same update; colluders sharing one crafted vector (Sybils,
 *                      ALIE) score 1. FoolsGold's maximum pairwise similarity (Fung, Yoon, Beschastnikh, "The
 *                      Limitations of Federated Learning in Sybil Settings", RAID 2020). A zero update, and a
 *                      lone unit, score 0.
 *   meanLoss           the unit's reported mean training loss (self-reported: a liar can fake it)
 *   trainMs            reported training time (self-reported; free riders are fast)
 *   numSamples         reported sample count (self-reported; drives FedAvg weights)
 *
 * A cosine with a zero vector is 0 (round 1 has no previous step, so cosineToPrevious is 0 for every unit
 * and carries no information that round). The aggregate includes the unit itself, which biases
 * cosineToAggregate upwards in small federations. In secagg mode the features describe group means, which
 * average an attacker's update with its group's honest ones: the deviations shrink with the group size.
 *
 * nearestCosine is computed on the robust pipeline's count sketch, drawn with a seed of its own
 * (aggregation/projection.ts; exact when dim ≤ 2m, else a standard deviation of ≈ 1/√m = 0.06 per cosine at
 * m = 256, while identical updates sketch identically and still score 1), and the pipeline's Gram-matrix
 * cosines (aggregation/cosine.ts): O(n·dim) to project and O(n²·m) for the pairs, not O(n²·dim), and an
 * n × n matrix of doubles (8 MB at 1,000 units).
 * Cost at 1,000 units × 10⁵ parameters (unit-features.bench.ts, 2-core dev VM, means of 5): nearestCosines
 * ≈ 0.29 s (0.37 s on a busier run), about what the pipeline's own projection and cosines take (bench:robust:
 * 0.29 + 0.11 s); reusing the pipeline's sketch would save the projection, but the strategy does not hand it
 * out. The other features cost one pass over each update (≈ 0.23–0.35 s; three separate passes for the norm
 * and the two cosines took ≈ 0.77 s), so computeUnitFeatures takes ≈ 0.52–0.72 s in all. The seed must be
 * derived per round and kept from participants, as the pipeline's is.
 *
 * Pure; non-finite inputs flow through as NaN, for the detectors to report.
 */
import { cosineDistances, normaliseRows } from '../aggregation/cosine.ts';
import { PROJECTION_DEFAULTS, projectDeltas } from '../aggregation/projection.ts';

export const UNIT_FEATURES = ['norm', 'cosineToAggregate', 'cosineToPrevious', 'nearestCosine', 'meanLoss', 'trainMs', 'numSamples'] as const;
export type UnitFeature = (typeof UNIT_FEATURES)[number];
/** The features the coordinator measures on the update itself; the others are what participants report. */
export const MEASURED_FEATURES: readonly UnitFeature[] = ['norm', 'cosineToAggregate', 'cosineToPrevious', 'nearestCosine'];

export interface UnitObservation {
  readonly id: string;
  readonly delta: Float32Array;
  readonly meanLoss: number;
  readonly trainMs: number;
  readonly numSamples: number;
}

export interface UnitFeatureRow {
  readonly id: string;
  readonly features: Readonly<Record<UnitFeature, number>>;
}

/**
 * For each of n updates of length `dim`, the largest cosine with any other of them, from their count sketch
 * of width `width` drawn with `seed` (exact when dim ≤ 2·width): 0 for a zero update and when n = 1; NaN for
 * an update with a non-finite value (the others ignore it).
 */
export function nearestCosines(deltas: readonly Float32Array[], dim: number, seed: number, width: number = PROJECTION_DEFAULTS.dim): Float64Array {
  const n = deltas.length;
  const nearest = new Float64Array(n);
  if (n === 0) return nearest;
  const { rows, width: w } = projectDeltas(deltas, dim, seed, width);
  const finite = Array.from(normaliseRows(rows, n, w), Number.isFinite);
  const dist = cosineDistances(rows, n, w);
  for (let i = 0; i < n; i++) {
    if (!finite[i]) {
      nearest[i] = Number.NaN;
      continue;
    }
    let best = n > 1 ? -1 : 0;
    for (let j = 0; j < n; j++) {
      if (j === i || !finite[j]) continue;
      const cos = 1 - (dist[i * n + j] as number);
      if (cos > best) best = cos;
    }
    nearest[i] = best;
  }
  return nearest;
}

/**
 * The feature rows of the round's units. `seed` draws the sketch behind nearestCosine: derive it per round and
 * keep it from participants.
 */
export function computeUnitFeatures(
  units: readonly UnitObservation[],
  aggregateStep: Float32Array,
  previousStep: Float32Array,
  seed: number,
): UnitFeatureRow[] {
  if (previousStep.length !== aggregateStep.length) {
    throw new RangeError(`computeUnitFeatures: previous step length ${previousStep.length} != ${aggregateStep.length}`);
  }
  for (const u of units) {
    if (u.delta.length !== aggregateStep.length) {
      throw new RangeError(`computeUnitFeatures: unit ${u.id} delta length ${u.delta.length} != ${aggregateStep.length}`);
    }
  }
  const nearest = nearestCosines(units.map((u) => u.delta), aggregateStep.length, seed);
  const aa = squaredNorm(aggregateStep);
  const pp = squaredNorm(previousStep);
  return units.map((u, i) => {
    // One pass over the update for its norm and both dot products (the same sums, in the same order, as
    // l2Norm and cosine): a third of the memory traffic of three separate passes.
    const x = u.delta;
    let xx = 0;
    let xa = 0;
    let xp = 0;
    for (let k = 0; k < x.length; k++) {
      const v = x[k] as number;
      xx += v * v;
      xa += v * (aggregateStep[k] as number);
      xp += v * (previousStep[k] as number);
    }
    return {
      id: u.id,
      features: {
        norm: Math.sqrt(xx),
        cosineToAggregate: xx === 0 || aa === 0 ? 0 : xa / Math.sqrt(xx * aa),
        cosineToPrevious: xx === 0 || pp === 0 ? 0 : xp / Math.sqrt(xx * pp),
        nearestCosine: nearest[i] as number,
        meanLoss: u.meanLoss,
        trainMs: u.trainMs,
        numSamples: u.numSamples,
      },
    };
  });
}

function squaredNorm(v: Float32Array): number {
  let s = 0;
  for (let k = 0; k < v.length; k++) s += (v[k] as number) * (v[k] as number);
  return s;
}
