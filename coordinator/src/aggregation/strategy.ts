/**
 * The one interface every aggregation strategy implements, robust or not, so that simulations compare them
 * side by side and the coordinator swaps them by name. A strategy is pure: units in, one step out, plus what
 * it kept and rejected (the evidence reputation and the dashboard use). No I/O, no clocks; randomness only
 * from ctx.seed.
 */
import type { UnitEvidence } from '../reputation/beta-reputation.ts';

/** One aggregation unit: a participant's update (trusted mode) or a secure group's mean update (secagg). */
export interface AggregationUnit {
  readonly id: string;
  readonly delta: Float32Array;
  /** Non-negative weight (sample count, scaled by reputation where the coordinator applies it). */
  readonly weight: number;
  /** Participants whose updates the unit holds: [id] in trusted mode, the group's survivors in secagg. */
  readonly members: readonly string[];
}

export interface StrategyContext {
  readonly round: number;
  /** Adapter length; every unit's delta has it (sanity checks reject others). */
  readonly dim: number;
  /** Seed for any randomness (random projections), derived per round by the caller. */
  readonly seed: number;
  /** The previous round's aggregated step (zeros in round 1), for strategies that use momentum or distances to it. */
  readonly previousStep: Float32Array;
  /**
   * The round's trusted reference, when the operator trains one on a small clean root dataset (reference.ts).
   * Strategies that do not use it ignore it.
   */
  readonly reference?: TrustedReference;
}

/** The operator's reference step for a round (reference.ts). */
export interface TrustedReference {
  /** The global adapter trained on all the root data, minus the global adapter. */
  readonly delta: Float32Array;
  /**
   * The same step trained on disjoint parts of the root data (≥ 2 of them, or none): how far they disagree on
   * a unit's cosine measures how much of that cosine is the root sample's own noise.
   */
  readonly replicates: readonly Float32Array[];
}

export interface UnitVerdict {
  readonly id: string;
  /** Why the unit was excluded or down-weighted, e.g. "non-finite", "norm clipped 3.1×", "DBSCAN outlier". */
  readonly reason: string;
}

export interface AggregationResult {
  /** The step to add to the global adapter. */
  readonly step: Float32Array;
  /** Units that contributed (possibly clipped or re-weighted). */
  readonly kept: readonly string[];
  /** Units that did not contribute, with the reason. */
  readonly rejected: readonly UnitVerdict[];
  /** Units that contributed but were altered (clipped), with the reason. */
  readonly adjusted: readonly UnitVerdict[];
  /**
   * Units that contributed although the strategy doubts them (fedwarden: pointing against the trusted reference
   * within its noise), with the reason. Absent: none.
   */
  readonly doubted?: readonly UnitVerdict[];
  /**
   * The strategy's own reputation evidence, one entry per unit it judged, where its verdicts above do not say
   * everything (fedwarden's doubts, units it left out for their members' reputation). Absent: the coordinator
   * derives the evidence from kept, adjusted and rejected (reputation/evidence.ts).
   */
  readonly evidence?: readonly UnitEvidence[];
}

export interface Strategy {
  readonly name: string;
  /** Paper and the number of Byzantine units f it tolerates among n, as text for reports. */
  readonly tolerance: string;
  aggregate(units: readonly AggregationUnit[], ctx: StrategyContext): AggregationResult;
}
