/**
 * One round, from selection to record: select participants → open the attempt in storage → collect updates
 * (trusted or secure aggregation) while the operator's reference trains → quorum check → the defences' review
 * → new global adapter → evaluation and alerts → the record, stored before participants hear the outcome.
 * Every stage moves the round's state machine (round-state.ts), so none runs out of order.
 *
 * The runner owns the round in progress (its collector, to which the coordinator routes participant
 * messages, departures and rejoins) and nothing else: the participant registry, the global adapter and the
 * shutdown flag belong to the coordinator's lifecycle (coordinator.ts) and come in through RoundRunnerDeps.
 */
import { createRng, deriveSeed, roundFigure, shuffle, type Logger, type Message, type RoundOutcome } from '@fedwarden/shared';
import {
  initialServerOptimizerState,
  resolveServerOptimizer,
  resumableServerOptimizer,
  serverOptimizerStep,
  type ServerOptimizerState,
} from '../aggregation/server-optimizer.ts';
import type { TrustedReference } from '../aggregation/strategy.ts';
import type { CoordinatorConfig } from '../config.ts';
import { refusedVerdicts, type Defences, type Review } from '../defences.ts';
import type { CoordinatorMetrics } from '../metrics/coordinator-metrics.ts';
import type { ParticipantConnection } from '../net/participant-connection.ts';
import { SecaggCollector } from '../secagg/secagg-collector.ts';
import type { StoredServerOptimizer } from '../storage/server-optimizer-table.ts';
import type { CoordinatorStore } from '../storage/store.ts';
import { evaluateGlobal, type EvaluateHook } from './evaluation.ts';
import { trainReference, type ReferenceHook } from './reference-update.ts';
import type { CollectedRound, RoundCollector, RoundContext } from './round-context.ts';
import type { RoundRecord } from './round-record.ts';
import { RoundState, type RoundPhase } from './round-state.ts';
import { TrustedCollector } from './trusted-collector.ts';

/** The operator's hooks into every round. */
export interface RoundHooks {
  /**
   * Scores each completed round's new global adapter on the operator's held-out data (evaluation.ts): accuracy
   * and loss go into the record (so the 'round' event and the metrics), accuracy feeds the degradation detector.
   */
  readonly evaluate?: EvaluateHook;
  /**
   * Trains the round's global adapter on the operator's small clean root dataset and returns the delta: the
   * trusted reference of the fedwarden strategy (aggregation/reference.ts, FLTrust). Runs while participants
   * train. A failure or a malformed delta is logged and the round goes on without a reference.
   */
  readonly reference?: ReferenceHook;
}

export interface RoundRunnerDeps extends RoundHooks {
  readonly config: CoordinatorConfig;
  readonly log: Logger;
  readonly defences: Defences;
  readonly store: CoordinatorStore;
  readonly metrics: CoordinatorMetrics;
  /** The coordinator's live registry: selection reads it when the round starts, every send when it sends. */
  readonly participants: ReadonlyMap<string, ParticipantConnection>;
  /** The secret that orders participants into secure groups (secagg/grouping-key.ts); never logged. */
  readonly groupingKey: Uint8Array;
  /** A participant's identity key (coordinator: participant-identities.ts), for RoundContext.identityKey. */
  identityKey(participantId: string): Uint8Array | undefined;
  /** True once the coordinator is stopping: the round in progress is then recorded as interrupted. */
  stopping(): boolean;
  /** Takes the round's new global adapter, as soon as aggregation has made it. */
  adoptGlobal(global: Float32Array): void;
  /** Hears the round's phases as they begin; `deadline` (ms since the epoch) with training: the upload deadline. */
  stageChanged?(round: number, phase: RoundPhase, deadline?: number): void;
}

/** How a round ends once its updates are in. `next`, the new global adapter, is set exactly when completed. */
interface Conclusion {
  readonly outcome: RoundOutcome;
  readonly reason: string;
  readonly review?: Review;
  readonly next?: Float32Array;
  /** The server optimizer's state after the step that made `next`; committed once the round is stored. */
  readonly optimizer?: ServerOptimizerState;
}

export class RoundRunner {
  private active: RoundCollector | undefined;
  /** The server optimizer's state after the last completed round; undefined: fresh at the next step. */
  private optimizer: ServerOptimizerState | undefined;

  constructor(private readonly deps: RoundRunnerDeps) {}

  /** The collector of the round in progress, while it collects; undefined between rounds and after collection. */
  get collector(): RoundCollector | undefined {
    return this.active;
  }

  /**
   * Continue the server optimizer from storage: the state stored after `stored.round`, when that is the round of
   * the checkpoint the coordinator resumes from and the configuration still names the same optimizer; otherwise it
   * starts fresh, and the log says why.
   */
  resumeServerOptimizer(stored: StoredServerOptimizer | undefined, checkpointRound: number, dim: number): void {
    const kind = this.deps.config.aggregation.serverOptimizer.kind;
    const resumed = resumableServerOptimizer(kind, stored, checkpointRound, dim);
    if (resumed.why !== undefined) this.deps.log.warn(`server optimizer: ${resumed.why}; it starts fresh`, { kind, checkpointRound });
    this.optimizer = resumed.state;
  }

  /** Run round `round` from `global` and return its record (already stored, finished or interrupted). */
  async run(round: number, global: Float32Array): Promise<RoundRecord> {
    const { config, store, defences } = this.deps;
    const started = Date.now();
    const state = new RoundState(round, (phase) =>
      this.deps.stageChanged?.(round, phase, phase === 'training' ? Date.now() + config.rounds.deadlineMs : undefined),
    );
    this.deps.stageChanged?.(round, state.phase);
    const selected = this.select(round);
    const attempt = store.beginRound(round, config, selected);
    const log = this.deps.log.child({ round });
    const ctx: RoundContext = {
      round,
      global,
      config,
      log,
      send: (id, msg) => this.send(id, msg),
      reputationWeight: (id) => defences.weight(id, round),
      identityKey: (id) => this.deps.identityKey(id),
    };
    const { collected, reference } = await this.collect(ctx, state, selected);

    const interrupted = this.deps.stopping();
    const { outcome, review, next, optimizer, ...conclusion } = this.conclude(state, ctx, selected, collected, reference, interrupted);
    let reason = conclusion.reason;
    if (collected.notes.length > 0) reason += `; ${collected.notes.join('; ')}`;
    const { accuracy, loss: evaluationLoss } = next !== undefined ? await evaluateGlobal(this.deps.evaluate, next, round, log) : {};
    const dropoutRate = selected.length > 0 ? 1 - collected.contributors.length / selected.length : 0;
    // A round cut short by stop() says nothing about the federation: every participant counts as gone then, and
    // the detectors would read the shutdown as a 100 % dropout. They skip it (their history too); the record says why.
    const alerts = interrupted ? [] : [...(review?.alerts ?? []), ...defences.roundMetrics(round, outcome, collected.meanLoss, dropoutRate, accuracy)];
    for (const { round: _round, score, ...alert } of alerts) if (alert.severity !== 'info') log.warn('alert', { ...alert, score: roundFigure(score) });

    // Blame, and units refused before aggregation, are evidence even when the round never reached the review
    // that records evidence; not in a round cut short by stop(), which runs again under the same number.
    const blamed = collected.blamed ?? [];
    const refused = collected.refused ?? [];
    const blameExcluded = review === undefined && !interrupted ? defences.recordBlame(round, blamed.map((b) => b.participant), refused) : [];
    const contributors = new Set(collected.contributors);
    const isolationSkipped = review === undefined ? `not reviewed: ${conclusion.reason}` : review.isolationSkipped;
    const record: RoundRecord = {
      round,
      outcome,
      reason,
      privacy: config.privacy,
      selected,
      reported: collected.contributors,
      dropped: selected.filter((id) => !contributors.has(id)),
      units: collected.units.length + refused.length,
      unitMembers: Object.fromEntries([...collected.units, ...refused].map((u) => [u.id, u.members])),
      rejected: review?.rejected ?? refusedVerdicts(refused),
      adjusted: review?.adjusted ?? [],
      doubted: review?.doubted ?? [],
      alerts,
      ...(isolationSkipped !== undefined ? { isolationSkipped } : {}),
      ...(blamed.length > 0 ? { blamed } : {}),
      ...(collected.groups ? { groups: collected.groups } : {}),
      excluded: [...(review?.excluded ?? []), ...blameExcluded],
      ...(accuracy !== undefined ? { accuracy } : {}),
      ...(evaluationLoss !== undefined ? { evaluationLoss } : {}),
      meanLoss: collected.meanLoss,
      samples: collected.samples,
      uploadBytes: collected.uploadBytes,
      adapterParams: global.length,
      protocolMs: collected.protocolMs,
      durationMs: Date.now() - started,
    };
    // Stored before participants hear of it: a round they were told had ended is never lost.
    if (interrupted) store.interruptRound(attempt, record);
    else {
      store.finishRound(attempt, record, next, {
        ...(review?.isolationHistory ? { isolationRows: review.isolationHistory } : {}),
        ...(optimizer !== undefined && optimizer.kind !== 'none' ? { serverOptimizer: optimizer } : {}),
      });
      if (optimizer !== undefined) this.optimizer = optimizer;
    }
    if (interrupted) log.info('round interrupted by shutdown', { reason, durationMs: record.durationMs });
    else {
      const figures = {
        meanLoss: roundFigure(collected.meanLoss),
        ...(accuracy !== undefined ? { accuracy: roundFigure(accuracy) } : {}),
        ...(record.evaluationLoss !== undefined ? { evaluationLoss: roundFigure(record.evaluationLoss) } : {}),
      };
      const counts = { selected: selected.length, reported: record.reported.length, dropped: record.dropped.length, rejected: record.rejected.length, alerts: record.alerts.length };
      const line = `round ${round} of ${this.deps.config.rounds.count} ${outcome}`;
      const fields = { outcome, reason, ...counts, ...figures, durationMs: record.durationMs };
      if (outcome === 'completed') log.info(line, fields);
      else log.warn(line, fields);
    }
    await Promise.allSettled(selected.map((id) => this.send(id, { kind: 'roundEnd', round, outcome, reason })));
    return record;
  }

  /** Connected participants that reputation does not exclude, in a shuffle seeded by the round, capped. */
  private select(round: number): string[] {
    const { config, defences, participants } = this.deps;
    const rng = createRng(deriveSeed(config.seed, round));
    const candidates = shuffle(rng, [...participants.keys()].filter((id) => defences.selectable(id, round)).sort());
    const max = config.rounds.maxParticipants;
    return max > 0 ? candidates.slice(0, max) : candidates;
  }

  /** Training and upload: the collector of the configured privacy mode, and the reference beside it. */
  private async collect(
    ctx: RoundContext,
    state: RoundState,
    selected: readonly string[],
  ): Promise<{ collected: CollectedRound; reference: TrustedReference | undefined }> {
    const collector: RoundCollector = ctx.config.privacy === 'secagg' ? new SecaggCollector(ctx, this.deps.groupingKey) : new TrustedCollector(ctx);
    this.active = collector;
    ctx.log.info('round started', { selected: selected.length, privacy: ctx.config.privacy });

    state.transition('training');
    const collectionStarted = performance.now();
    let collected: CollectedRound;
    let reference: TrustedReference | undefined;
    try {
      [collected, reference] = await Promise.all([collector.collect(selected), trainReference(this.deps.reference, ctx.global, ctx.round, ctx.log)]);
    } finally {
      this.active = undefined;
    }
    this.deps.metrics.observeStage('collection', (performance.now() - collectionStarted) / 1000);
    return { collected, reference };
  }

  /** Quorum, then the defences' review; a completed round hands its new global adapter to the coordinator. */
  private conclude(
    state: RoundState,
    ctx: RoundContext,
    selected: readonly string[],
    collected: CollectedRound,
    reference: TrustedReference | undefined,
    interrupted: boolean,
  ): Conclusion {
    const { config, defences, metrics } = this.deps;
    const { round, global } = ctx;
    const needed = Math.max(1, Math.ceil(config.rounds.quorum * selected.length));
    if (interrupted) {
      state.transition('aborted');
      return { outcome: 'aborted', reason: 'coordinator stopping' };
    }
    if (collected.units.length === 0 && collected.contributors.length >= needed && collected.refused?.length) {
      state.transition('aborted');
      return { outcome: 'aborted', reason: `every unit was rejected before aggregation (${collected.refused.length} out of range)` };
    }
    if (collected.contributors.length < needed || collected.units.length === 0) {
      state.transition('aborted');
      return { outcome: 'aborted', reason: `quorum not met: ${collected.contributors.length} of ${selected.length} contributed, ${needed} needed` };
    }
    state.transition('aggregating');
    const aggregationStarted = performance.now();
    let review: Review;
    try {
      const blamed = (collected.blamed ?? []).map((b) => b.participant);
      review = defences.review(round, global.length, collected.units, collected.unitStats, deriveSeed(config.seed, round, 0x52), reference, collected.refused, blamed);
    } catch (err) {
      // An operator's strategy that throws or returns nonsense costs the round, not the coordinator.
      const message = err instanceof Error ? err.message : String(err);
      ctx.log.error('aggregation failed; round aborted', { strategy: defences.strategyName, err: message });
      state.transition('aborted');
      return { outcome: 'aborted', reason: `${defences.strategyName} failed: ${message}` };
    }
    metrics.observeStage('aggregation', (performance.now() - aggregationStarted) / 1000);
    if (review.kept.length === 0) {
      state.transition('aborted');
      return { outcome: 'aborted', reason: `${defences.strategyName} rejected every unit`, review };
    }
    // The aggregate is the server optimizer's pseudo-gradient (aggregation/server-optimizer.ts).
    const settings = resolveServerOptimizer(config.aggregation.serverOptimizer);
    const before = this.optimizer ?? initialServerOptimizerState(settings.kind, global.length, settings.tau);
    const { next, state: optimizer } = serverOptimizerStep(settings, before, global, review.step);
    this.deps.adoptGlobal(next);
    state.transition('completed');
    const reason =
      `${collected.contributors.length} of ${selected.length} contributed in ${collected.units.length} units, ` +
      `${review.rejected.length} rejected by ${defences.strategyName}`;
    return { outcome: 'completed', reason, review, next, optimizer };
  }

  /** Seal and send to a participant; false if it is not connected or the send failed. */
  private async send(id: string, msg: Message): Promise<boolean> {
    const conn = this.deps.participants.get(id);
    if (!conn) return false;
    try {
      await conn.send(msg);
      return true;
    } catch {
      return false;
    }
  }
}
