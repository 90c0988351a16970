/**
 * Per-unit features of one round, the rows the unit-level anomaly detectors score (DESIGN.md, "Anomaly
 * detectors"). For every aggregation unit (a participant in trusted mode, a secure group's mean update in
 * secagg mode):
 *
 *   norm               ‖Δ‖₂ of the unit's update
 *   cosineToAggregate  cos(Δ, this round's aggregated step): low or negative for updates pulling elsewhere
 *   cosineToPrevious   cos(Δ, the previous round's global step): consistency with the recent trajectory
 *   meanLoss           the unit's reported mean training loss (self-reported: a liar can fake it)
 *   trainMs            reported training time (self-reported; free riders are fast)
 *   numSamples         reported sample count (self-reported; drives FedAvg weights)
 *
 * A cosine with a zero vector is 0 (round 1 has no previous step, so cosineToPrevious is 0 for every unit
 * and carries no information that round). The aggregate includes the unit itself, which biases
 * cosineToAggregate upwards in small federations. In secagg mode the features describe group means, which
 * average an attacker's update with its group's honest ones: the deviations shrink with the group size.
 *
 * Pure; non-finite inputs flow through as NaN, for the detectors to report.
 */
import { l2Norm } from '@fedwarden/shared';

export const UNIT_FEATURES = ['norm', 'cosineToAggregate', 'cosineToPrevious', 'meanLoss', 'trainMs', 'numSamples'] as const;
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

export function computeUnitFeatures(
  units: readonly UnitObservation[],
  aggregateStep: Float32Array,
  previousStep: Float32Array,
): UnitFeatureRow[] {
  if (previousStep.length !== aggregateStep.length) {
    throw new RangeError(`computeUnitFeatures: previous step length ${previousStep.length} != ${aggregateStep.length}`);
  }
  return units.map((u) => {
    if (u.delta.length !== aggregateStep.length) {
      throw new RangeError(`computeUnitFeatures: unit ${u.id} delta length ${u.delta.length} != ${aggregateStep.length}`);
    }
    return {
      id: u.id,
      features: {
        norm: l2Norm(u.delta),
        cosineToAggregate: cosine(u.delta, aggregateStep),
        cosineToPrevious: cosine(u.delta, previousStep),
        meanLoss: u.meanLoss,
        trainMs: u.trainMs,
        numSamples: u.numSamples,
      },
    };
  });
}
