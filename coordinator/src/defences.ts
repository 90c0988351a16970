/**
 * The coordinator's defences around aggregation, for one federation: the configured strategy, the beta
 * reputation book it feeds (and that weights and excludes participants), and the anomaly detectors that
 * watch every round. The isolation forest's reliable findings are doubt evidence (anomaly/anomaly-doubt.ts),
 * recorded with the rest of the round's evidence in one recordRound, so that they are stored with the round
 * and never counted twice. Pure bookkeeping over the round's units: no sockets, storage or clocks.
 */
import { deriveSeed, type RoundOutcome } from '@fedwarden/shared';
import { createStrategy } from './aggregation/registry.ts';
import { checkAggregationResult } from './aggregation/result-check.ts';
import { capWeights } from './aggregation/weight-cap.ts';
import type { AggregationResult, AggregationUnit, Strategy, TrustedReference, UnitVerdict } from './aggregation/strategy.ts';
import type { Alert } from './anomaly/alert.ts';
import { anomalyDoubts, type AnomalyDoubtOptions } from './anomaly/anomaly-doubt.ts';
import { DegradationDetector } from './anomaly/degradation-detector.ts';
import { IsolationForestDetector, type FeatureRow } from './anomaly/isolation-forest-detector.ts';
import { computeUnitFeatures } from './anomaly/unit-features.ts';
import type { CoordinatorConfig } from './config.ts';
import { createBetaReputation, type BetaReputation, type UnitEvidence } from './reputation/beta-reputation.ts';
import { evidenceFromResult, withDoubts } from './reputation/evidence.ts';
import type { ReputationStore } from './reputation/reputation-store.ts';

/** What participants reported about the training behind a unit (a group's means in secagg mode). */
export interface UnitStats {
  readonly meanLoss: number;
  readonly trainMs: number;
  readonly numSamples: number;
}

/**
 * A unit rejected before the strategy saw it (a secure group whose sum is outside the honest range,
 * secagg/sum-range.ts): a verdict in the round record, and 'rejected' evidence for its members.
 */
export interface RefusedUnit {
  readonly id: string;
  readonly members: readonly string[];
  readonly reason: string;
}

export interface Review extends AggregationResult {
  /**
   * Units kept with doubt evidence against their members: pointing against the trusted reference (or the
   * consensus) within its noise, or anomalous to a reliable isolation forest.
   */
  readonly doubted: readonly UnitVerdict[];
  readonly alerts: Alert[];
  /** Participants this round's evidence excluded from the next rounds. */
  readonly excluded: readonly string[];
  /** Why the isolation forest did not score this round's units (too little history…); absent when it did. */
  readonly isolationSkipped?: string;
  /** The rows this round added to the isolation forest's history: stored with the round, for resume() after a restart. */
  readonly isolationHistory: readonly FeatureRow[];
}

export class Defences {
  readonly reputation: BetaReputation;
  private readonly strategy: Strategy;
  private readonly isolation: IsolationForestDetector;
  private readonly degradation: DegradationDetector;
  private previousStep: Float32Array | undefined;
  private readonly weightCap: number;
  private readonly anomalyDoubt: AnomalyDoubtOptions;

  /** `strategy`: the operator's own (extensions), in place of the one config.aggregation names. */
  constructor(config: CoordinatorConfig, store?: ReputationStore, strategy?: Strategy) {
    this.weightCap = config.aggregation.weightCap;
    this.reputation = createBetaReputation({ ...config.reputation, ...(store ? { store } : {}) });
    this.strategy = strategy ?? createStrategy(config.aggregation, this.reputation);
    this.isolation = new IsolationForestDetector({
      windowRounds: config.anomaly.windowRounds,
      threshold: config.anomaly.isolationThreshold,
    });
    this.degradation = new DegradationDetector({ accuracyDrop: config.anomaly.accuracyDrop });
    this.anomalyDoubt = { minHistoryRounds: config.anomaly.evidenceMinRounds, minHistoryRows: config.anomaly.evidenceMinRows };
  }

  /**
   * Take up where a stopped coordinator left off: the isolation forest's history from the rows its reviewed
   * rounds added (each review's isolationHistory, oldest first, as storage kept them), and the last completed
   * round's global step (the cosineToPrevious feature's reference), when known. The reputation book resumes
   * from its own store.
   */
  resume(isolationHistory: ReadonlyArray<readonly FeatureRow[]>, previousStep?: Float32Array): void {
    this.isolation.restore(isolationHistory);
    if (previousStep !== undefined) this.previousStep = previousStep.slice();
  }

  get strategyName(): string {
    return this.strategy.name;
  }

  /** May this participant be selected in `round`? (Not while excluded by reputation.) */
  selectable(id: string, round: number): boolean {
    return !this.reputation.isExcluded(id, round);
  }

  /** Reputation multiplier in [0, 1] for the weight a participant is assigned (secure aggregation). */
  weight(id: string, round: number): number {
    return this.reputation.weightMultiplier(id, round);
  }

  /**
   * Aggregate the round's units, record the evidence in the reputation book, and score the units. `dim` is
   * the global adapter's length: never taken from a unit, which an attacker controls. `reference` is the
   * round's trusted reference delta, if the operator supplies one (aggregation/reference.ts). The isolation
   * forest learns normal from the units the strategy kept: rejected units' rows never enter its history.
   * Throws, before anything is recorded, when the strategy throws or returns a malformed result. `refused`
   * units never reach the strategy: they are listed as rejected, and their members get 'rejected' evidence.
   * `blamed`: participants the secure-aggregation protocol found at fault this round (negative evidence, like a
   * rejection). Units the isolation forest reliably finds anomalous give doubt evidence (anomaly/anomaly-doubt.ts)
   * and are listed as doubted; the forest never rejects a unit.
   */
  review(
    round: number,
    dim: number,
    units: readonly AggregationUnit[],
    stats: ReadonlyMap<string, UnitStats>,
    seed: number,
    reference?: TrustedReference,
    refused: readonly RefusedUnit[] = [],
    blamed: readonly string[] = [],
  ): Review {
    const previousStep = this.previousStep ?? new Float32Array(dim);
    const weights = capWeights(units.map((u) => u.weight), this.weightCap);
    const capped = units.map((u, i) => (weights[i] === u.weight ? u : { ...u, weight: weights[i] as number }));
    if (reference !== undefined && reference.delta.length !== dim) throw new RangeError(`review: reference has ${reference.delta.length} ≠ ${dim} values`);
    const result: AggregationResult = checkAggregationResult(
      this.strategy.aggregate(capped, { round, dim, seed, previousStep, ...(reference ? { reference } : {}) }),
      dim,
      this.strategy.name,
    );
    const evidence = [...refusedEvidence(refused), ...(result.evidence ?? evidenceFromResult(units, result)), ...blameEvidence(blamed)];
    // Malformed units were rejected by the strategy's sanity check; the detectors score the well-formed ones.
    const observations = units
      .filter((u) => u.delta.length === dim)
      .map((u) => ({ id: u.id, delta: u.delta, ...(stats.get(u.id) ?? { meanLoss: 0, trainMs: 0, numSamples: 0 }) }));
    // The collusion feature's sketch and the forest's subsamples get their own streams, apart from the one the
    // strategy drew from `seed`.
    const rows = computeUnitFeatures(observations, result.step, previousStep, deriveSeed(seed, 0x6e636f73));
    const report = this.isolation.observe(round, rows, deriveSeed(seed, 0x69666f72), new Set(result.kept));
    const kept = new Set(result.kept);
    const anomalous = [...anomalyDoubts(report, this.anomalyDoubt).units].filter(([id]) => kept.has(id));
    const excluded = this.reputation.recordRound(round, withDoubts(evidence, new Set(anomalous.map(([id]) => id))));
    const doubted = result.doubted ?? [];
    const alsoDoubted = anomalous
      .filter(([id]) => !doubted.some((v) => v.id === id))
      .map(([id, f]) => ({ id, reason: `anomalous to the isolation forest (${f.alert.severity}, score ${f.alert.score.toFixed(3)}, ${f.feature} robust z ${f.z >= 0 ? '+' : ''}${f.z.toFixed(1)})` }));
    if (result.kept.length > 0) this.previousStep = result.step;
    return {
      step: result.step,
      kept: result.kept,
      rejected: [...refusedVerdicts(refused), ...result.rejected],
      adjusted: result.adjusted,
      doubted: [...doubted, ...alsoDoubted],
      alerts: report.alerts,
      excluded,
      ...(report.skipped !== undefined ? { isolationSkipped: report.skipped } : {}),
      isolationHistory: report.remembered,
    };
  }

  /**
   * Record protocol blame for a round that ends without review (aborted before aggregation): the culprits get
   * their negative evidence all the same, and so do the members of `refused` units. Returns the participants it
   * excluded. Call at most once per round, and never for a round that was reviewed.
   */
  recordBlame(round: number, blamed: readonly string[], refused: readonly RefusedUnit[] = []): string[] {
    const evidence = [...refusedEvidence(refused), ...blameEvidence(blamed)];
    return evidence.length > 0 ? this.reputation.recordRound(round, evidence) : [];
  }

  /** Round-level degradation checks once the outcome (and, where an evaluator exists, accuracy) is known. */
  roundMetrics(round: number, outcome: RoundOutcome, meanLoss: number | null, dropoutRate: number, accuracy?: number): Alert[] {
    return this.degradation.observe({
      round,
      dropoutRate,
      ...(meanLoss !== null && outcome === 'completed' ? { meanLoss } : {}),
      ...(accuracy !== undefined ? { accuracy } : {}),
    });
  }

  flagged(round?: number): string[] {
    return this.reputation.flagged(round);
  }
}

/** One 'rejected' piece of evidence per blamed participant, however many faults it committed in the round. */
function blameEvidence(blamed: readonly string[]): UnitEvidence[] {
  return [...new Set(blamed)].map((id) => ({ unitId: `blame:${id}`, members: [id], outcome: 'rejected' as const }));
}

/** Verdicts for units rejected before aggregation, for the round record. */
export function refusedVerdicts(refused: readonly RefusedUnit[]): UnitVerdict[] {
  return refused.map(({ id, reason }) => ({ id, reason }));
}

function refusedEvidence(refused: readonly RefusedUnit[]): UnitEvidence[] {
  return refused.map((u) => ({ unitId: u.id, members: u.members, outcome: 'rejected' as const }));
}
