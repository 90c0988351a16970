/**
 * The dashboard's view of one coordinator: it listens to the coordinator's events (rounds, the round loop's
 * stages, participants coming and going, tracked alerts changing), turns them into dashboard events
 * (dashboard-model.ts) for its subscribers — the open event streams — and makes a snapshot on request.
 *
 * Listeners run inside the coordinator's round loop (EventEmitter calls them synchronously), so nothing here may
 * throw into it: a failure is logged and the event skipped; a stream that misses one starts over from a snapshot
 * when the page reconnects. Status changes are coalesced (statusDelayMs), so that a wave of participants joining
 * sends one update rather than one per participant. Once the coordinator has stopped and closed its storage, the
 * snapshot is the last one made, brought up to date with the events since.
 */
import type { EventEmitter } from 'node:events';
import { createLogger, type Logger } from '@fedwarden/shared';
import type { AlertTransition, TrackedAlert } from '../../alerting/tracked-alert.ts';
import type { CoordinatorConfig } from '../../config.ts';
import type { CoordinatorEvents } from '../../coordinator.ts';
import type { ReputationStanding } from '../../reputation/standing.ts';
import type { RoundRecord } from '../../rounds/round-record.ts';
import type { StageChange } from '../../rounds/round-stage.ts';
import {
  DASHBOARD_DEFAULTS,
  applyEvent,
  dashboardSnapshot,
  roundEvent,
  type AuditHead,
  type DashboardEvent,
  type DashboardLimits,
  type DashboardSnapshot,
  type DashboardStatus,
  type FederationInfo,
} from './dashboard-model.ts';

/** What the feed reads of a coordinator (coordinator.ts implements it; tests fake it). */
export interface DashboardSource extends EventEmitter<CoordinatorEvents> {
  readonly config: Pick<CoordinatorConfig, 'privacy' | 'rounds'>;
  readonly strategyName: string;
  readonly hasEvaluator: boolean;
  readonly stage: StageChange;
  roundRecords(): readonly RoundRecord[];
  reputations(): ReputationStanding[];
  connectedParticipantIds(): string[];
  auditHead(): AuditHead;
  /** The most recently changed tracked alerts, firing and resolved, newest first (alerting/). */
  recentAlerts(limit: number): TrackedAlert[];
}

export interface DashboardFeedOptions extends Partial<DashboardLimits> {
  /** Status changes within this many ms go out as one event. Default 200; 0 sends each at once. */
  readonly statusDelayMs?: number;
  readonly log?: Logger;
  /** Default Date.now. */
  readonly now?: () => number;
}

type Subscriber = (event: DashboardEvent) => void;

export class DashboardFeed {
  private readonly subscribers = new Set<Subscriber>();
  /** Connected participants when each round began (for the per-round chart); only rounds this process ran. */
  private readonly connectedAtStart = new Map<number, number>();
  private readonly limits: DashboardLimits;
  private readonly statusDelayMs: number;
  private readonly log: Logger;
  private readonly now: () => number;
  private statusTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The last snapshot made, with every event since applied: what is shown when storage can no longer be read. */
  private last: DashboardSnapshot | undefined;
  private readonly listeners: { [K in keyof CoordinatorEvents]?: (...args: CoordinatorEvents[K]) => void } = {
    stage: (change) => this.onStage(change),
    round: (record) => this.onRound(record),
    participantJoined: (id) => this.presenceChanged(id, true),
    participantLeft: (id) => this.presenceChanged(id, false),
    alert: (transition) => this.onAlert(transition),
  };
  /** Arrivals and departures since the last status event (the latest word per participant). */
  private readonly presence = new Map<string, boolean>();

  constructor(
    private readonly source: DashboardSource,
    options: DashboardFeedOptions = {},
  ) {
    this.limits = {
      maxRounds: options.maxRounds ?? DASHBOARD_DEFAULTS.maxRounds,
      maxAlerts: options.maxAlerts ?? DASHBOARD_DEFAULTS.maxAlerts,
      maxTracked: options.maxTracked ?? DASHBOARD_DEFAULTS.maxTracked,
    };
    this.statusDelayMs = options.statusDelayMs ?? 200;
    this.log = options.log ?? createLogger('warn', { component: 'dashboard' });
    this.now = options.now ?? Date.now;
    source.on('stage', this.listeners.stage!);
    source.on('round', this.listeners.round!);
    source.on('participantJoined', this.listeners.participantJoined!);
    source.on('participantLeft', this.listeners.participantLeft!);
    source.on('alert', this.listeners.alert!);
  }

  get federation(): FederationInfo {
    const { config } = this.source;
    return { privacy: config.privacy, rounds: config.rounds.count, strategy: this.source.strategyName, evaluator: this.source.hasEvaluator };
  }

  status(): DashboardStatus {
    const stage = this.source.stage;
    return {
      round: stage.round,
      stage: stage.stage,
      since: stage.at,
      deadline: stage.deadline ?? null,
      connected: this.source.connectedParticipantIds().length,
      now: this.now(),
    };
  }

  snapshot(): DashboardSnapshot {
    try {
      this.last = this.freshSnapshot();
    } catch (err) {
      if (this.last === undefined) throw err;
      // Who is connected is known without storage: read afresh, like the status.
      const ids = new Set(this.source.connectedParticipantIds());
      this.last = { ...this.last, status: this.status(), reputation: this.last.reputation.map((r) => ({ ...r, connected: ids.has(r.id) })) };
    }
    return this.last;
  }

  private freshSnapshot(): DashboardSnapshot {
    return dashboardSnapshot({
      federation: this.federation,
      status: this.status(),
      records: this.source.roundRecords(),
      connectedAtStart: this.connectedAtStart,
      standings: this.source.reputations(),
      connectedIds: new Set(this.source.connectedParticipantIds()),
      audit: this.audit(),
      tracked: this.source.recentAlerts(this.limits.maxTracked),
      limits: this.limits,
    });
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Hear every event from now on; returns the unsubscribe function. */
  subscribe(subscriber: Subscriber): () => void {
    if (this.closed) return () => undefined;
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /** Publish a status change still held back by the coalescing delay (before the streams end). */
  flush(): void {
    if (this.statusTimer === undefined) return;
    clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
    this.publishStatus();
  }

  /** Stop listening to the coordinator and drop every subscriber (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.statusTimer);
    this.source.off('stage', this.listeners.stage!);
    this.source.off('round', this.listeners.round!);
    this.source.off('participantJoined', this.listeners.participantJoined!);
    this.source.off('participantLeft', this.listeners.participantLeft!);
    this.source.off('alert', this.listeners.alert!);
    this.subscribers.clear();
  }

  private onStage(change: StageChange): void {
    if (change.stage === 'selecting') {
      this.connectedAtStart.set(change.round, this.source.connectedParticipantIds().length);
      // Bounded like the snapshot: older rounds' figures are never shown again.
      for (const round of this.connectedAtStart.keys()) {
        if (this.connectedAtStart.size <= this.limits.maxRounds) break;
        this.connectedAtStart.delete(round);
      }
    }
    this.statusChanged();
  }

  private onRound(record: RoundRecord): void {
    if (this.subscribers.size === 0 && this.last === undefined) return;
    let event: DashboardEvent;
    try {
      const ids = new Set(this.source.connectedParticipantIds());
      event = roundEvent(record, this.connectedAtStart.get(record.round) ?? null, this.source.reputations(), ids, this.audit());
    } catch (err) {
      this.log.warn('dashboard: round event skipped', { round: record.round, err: err instanceof Error ? err.message : String(err) });
      return;
    }
    // A stage change still held back comes first, so that a page never shows a finished round as training.
    this.flush();
    this.publish(event);
  }

  /** Emitted after the round's record (coordinator.ts), so a page sees the round first, then its alerts change. */
  private onAlert(transition: AlertTransition): void {
    if (this.subscribers.size === 0 && this.last === undefined) return;
    this.publish({ type: 'alert', transition });
  }

  private presenceChanged(id: string, online: boolean): void {
    // Nobody to tell: a snapshot made later reads who is connected afresh.
    if (this.subscribers.size === 0) return;
    this.presence.set(id, online);
    this.statusChanged();
  }

  private statusChanged(): void {
    if (this.subscribers.size === 0 || this.closed) return;
    if (this.statusDelayMs === 0) {
      this.publishStatus();
      return;
    }
    this.statusTimer ??= setTimeout(() => {
      this.statusTimer = undefined;
      this.publishStatus();
    }, this.statusDelayMs).unref();
  }

  /** One status event for the changes gathered since the last one. */
  private publishStatus(): void {
    const presence = [...this.presence].map(([id, online]) => ({ id, online }));
    this.presence.clear();
    try {
      this.publish({ type: 'status', status: this.status(), presence });
    } catch (err) {
      this.log.warn('dashboard: status event skipped', { err: err instanceof Error ? err.message : String(err) });
    }
  }

  private publish(event: DashboardEvent): void {
    if (this.last !== undefined) this.last = applyEvent(this.last, event, this.limits);
    for (const subscriber of [...this.subscribers]) {
      try {
        subscriber(event);
      } catch (err) {
        this.subscribers.delete(subscriber);
        this.log.warn('dashboard: a subscriber failed and was dropped', { err: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  /** The audit head, or null once storage is closed (after stop()): the page keeps showing the last one it had. */
  private audit(): AuditHead | null {
    try {
      return this.source.auditHead();
    } catch {
      return null;
    }
  }
}
