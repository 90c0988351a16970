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
 * nearestCosine is computed on the robust pipeline's seeded count sketch (aggregation/projection.ts; exact
 * when dim ≤ 2m, else a standard deviation of ≈ 1/√m = 0.06 per cosine at m = 256, while identical updates
 * sketch identically and still score 1) and its Gram-matrix cosines (aggregation/cosine.ts): O(n·dim) to
 * project and O(n²·m) for the pairs, not O(n²·dim), and an n × n matrix of doubles (8 MB at 1,000 units).
 * At 1,000 units × 10⁵ parameters it took ≈ 0.36 s a round (median of 5, 2-core dev VM), as much again as the
 * pipeline's own projection and cosines (bench:robust: 0.29 + 0.11 s); reusing the pipeline's sketch would
 * save the projection, but the strategy does not hand it out. The seed must be derived per round and kept
 * from participants, as the pipeline's is.
 *
 * Pure; non-finite inputs flow through as NaN, for the detectors to report.
 */
import { l2Norm } from '@fedwarden/shared';
import { cosineDistances, normaliseRows } from '../aggregation/cosine.ts';
import { PROJECTION_DEFAULTS, projectDeltas } from '../aggregation/projection.ts';

export const UNIT_FEATURES = ['norm', 'cosineToAggregate', 'cosineToPrevious', 'nearestCosine', 'meanLoss', 'trainMs', 'numSamples'] as const;
export type UnitFeature = (typeof UNIT_FEATURES)[number];

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

/** cos(a, b), or 0 when either vector is zero. */
export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`cosine: length ${a.length} != ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
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
  return units.map((u, i) => ({
    id: u.id,
    features: {
      norm: l2Norm(u.delta),
      cosineToAggregate: cosine(u.delta, aggregateStep),
      cosineToPrevious: cosine(u.delta, previousStep),
      nearestCosine: nearest[i] as number,
      meanLoss: u.meanLoss,
      trainMs: u.trainMs,
      numSamples: u.numSamples,
    },
  }));
}
