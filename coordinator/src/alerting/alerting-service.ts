/**
 * Alerting for one coordinator: each finished round's record goes through the lifecycle (alert-book.ts), the
 * state is saved (alert-state-store.ts), and each notified transition goes to the channels whose minSeverity it
 * reaches (log-channel.ts always, webhook-channel.ts when configured). Synchronous up to the channels, which
 * queue: a round never waits for a receiver.
 *
 * Restart: the saved state holds the open alerts and the last round observed. Finished rounds after it (the
 * coordinator died between a round's end and the save) are observed at start, so their notifications still go
 * out; rounds before it are not observed again, so nothing is notified twice. A database that never ran
 * alerting (new, or upgraded to schema v5) starts after its last finished round: history is not replayed as a
 * flood of notifications. Notifications still queued when the process dies are lost: the webhook's delivery
 * survives receiver outages, not coordinator crashes.
 */
import type { Logger } from '@fedwarden/shared';
import type { Registry } from 'prom-client';
import type { AlertSeverity } from '../anomaly/alert.ts';
import { ISOLATION_FOREST } from '../anomaly/isolation-forest-detector.ts';
import type { CoordinatorConfig } from '../config.ts';
import type { RoundRecord } from '../rounds/round-record.ts';
import { AlertBook, type RoundFindings } from './alert-book.ts';
import { MemoryAlertStateStore, type AlertStateStore } from './alert-state-store.ts';
import { alertingMetrics, type AlertingMetrics } from './alerting-metrics.ts';
import { LogChannel } from './log-channel.ts';
import { notificationOf, type NotificationChannel } from './notification.ts';
import { severityRank, type AlertTransition, type TrackedAlert } from './tracked-alert.ts';
import { WebhookChannel, type DeliveryOutcome } from './webhook-channel.ts';
import { readWebhookSecret } from './webhook-secret.ts';

export type AlertingConfig = CoordinatorConfig['alerting'];

/** Who is out of the federation after a round: excluded by reputation, or no longer enrolled. */
export interface Membership {
  readonly excluded: ReadonlySet<string>;
  enrolled(participantId: string): boolean;
}

export interface AlertingOptions {
  readonly config: AlertingConfig;
  readonly log: Logger;
  /** The coordinator's key fingerprint, in every notification. */
  readonly fingerprint: string;
  /** Default: in memory (nothing survives a restart). */
  readonly store?: AlertStateStore | undefined;
  /** The coordinator's metrics registry, for alerting's series. */
  readonly registry?: Registry;
  /** ms since the epoch. Default Date.now. */
  readonly now?: () => number;
  /** Where secretEnv is looked up. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Jitter source of the webhook's backoff. Default Math.random. */
  readonly random?: () => number;
  /** Told of every transition, `updated` included (the coordinator's 'alert' event). */
  readonly onTransition?: (transition: AlertTransition) => void;
  /** Told of each webhook delivery outcome (tests). */
  readonly onDelivery?: (outcome: DeliveryOutcome, notificationId: string, reason?: string) => void;
}

export class Alerting {
  private readonly book: AlertBook;
  private readonly store: AlertStateStore;
  private readonly channels: NotificationChannel[];
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly metrics: AlertingMetrics | undefined;
  /** True while alerting has never run on the store: the first resume() sets where it starts. */
  private fresh: boolean;
  private closing: Promise<void> | undefined;
  readonly webhook: WebhookChannel | undefined;

  constructor(private readonly options: AlertingOptions) {
    const { config } = options;
    this.log = options.log.child({ subsystem: 'alerting' });
    this.now = options.now ?? Date.now;
    this.store = options.store ?? new MemoryAlertStateStore();
    const saved = this.store.load();
    this.fresh = saved === undefined;
    this.book = new AlertBook(
      {
        minSeverity: config.minSeverity,
        resolveAfterCleanRounds: config.resolveAfterCleanRounds,
        resolveOnExclusion: config.resolveOnExclusion,
        escalateAfterRepeats: config.escalateAfterRepeats,
      },
      saved,
    );
    this.metrics = options.registry ? alertingMetrics(options.registry, () => this.book.open()) : undefined;
    this.channels = [new LogChannel(this.log, config.minSeverity)];
    if (config.webhook) {
      const { secretFile, secretEnv, ...webhook } = config.webhook;
      const secret = readWebhookSecret({ secretFile, secretEnv }, options.env);
      this.webhook = new WebhookChannel(
        { ...webhook, ...(secret !== undefined ? { secret } : {}) },
        {
          log: this.log,
          ...(options.random ? { random: options.random } : {}),
          observe: (outcome, n, reason) => {
            this.metrics?.delivery(outcome);
            options.onDelivery?.(outcome, n.notificationId, reason);
          },
        },
      );
      this.channels.push(this.webhook);
    }
  }

  /** Alerts firing now, by key. */
  open(): TrackedAlert[] {
    return this.book.open();
  }

  /** The most recently changed alerts, open and resolved, newest first. */
  recent(limit = 100): TrackedAlert[] {
    return this.store.recent(limit);
  }

  /**
   * At start, with the finished rounds in storage: observe those after the saved state's last round. A store that
   * never ran alerting starts after the last of them instead. Returns the transitions.
   */
  resume(records: readonly RoundRecord[], membership: Membership): AlertTransition[] {
    if (this.fresh) {
      this.fresh = false;
      const last = records.reduce((m, r) => Math.max(m, r.round), 0);
      if (last > 0) {
        this.book.skipTo(last);
        this.log.info('alerting starts with the next round; earlier rounds are not replayed', { lastRound: last });
      }
      return [];
    }
    const missed = records.filter((r) => r.round > this.book.lastRound).sort((a, b) => a.round - b.round);
    if (missed.length > 0) this.log.info('alerting catches up on rounds finished after its last save', { rounds: missed.map((r) => r.round) });
    return missed.flatMap((r) => this.observe(r, membership));
  }

  /** Observe a finished round: rules, state saved, notifications queued. Never throws; failures are logged. */
  observe(record: RoundRecord, membership: Membership): AlertTransition[] {
    this.fresh = false;
    let transitions: AlertTransition[];
    try {
      transitions = this.book.observe(this.findings(record, membership));
    } catch (err) {
      this.log.error('alerting could not observe the round', { round: record.round, err: (err as Error).message });
      return [];
    }
    try {
      this.store.save(this.book.state(), transitions.filter((t) => t.event === 'resolved').map((t) => t.alert));
    } catch (err) {
      // The state stays in memory; the next round's save carries it.
      this.log.error('could not save the alert state', { round: record.round, err: (err as Error).message });
    }
    for (const t of transitions) this.dispatch(t);
    return transitions;
  }

  /** Flush the channels (the webhook for at most its drainMs). Idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.all(this.channels.map((c) => c.close().catch(() => undefined))).then(() => undefined);
    return this.closing;
  }

  private findings(record: RoundRecord, membership: Membership): RoundFindings {
    const removed = new Set<string>();
    for (const a of this.book.open()) for (const p of a.participants) if (!membership.enrolled(p)) removed.add(p);
    return {
      round: record.round,
      at: this.now(),
      alerts: record.alerts,
      skipped: record.isolationSkipped !== undefined ? new Set([ISOLATION_FOREST]) : new Set(),
      unitMembers: record.unitMembers,
      judged: judged(record),
      excluded: membership.excluded,
      removed,
    };
  }

  private dispatch(t: AlertTransition): void {
    try {
      this.options.onTransition?.(t);
    } catch (err) {
      this.log.warn('an alert listener threw', { err: (err as Error).message });
    }
    const notification = notificationOf(t, this.options.fingerprint);
    if (notification === undefined) {
      this.log.debug('alert repeated', { alertId: t.alert.id, round: t.round, occurrences: t.alert.occurrences, severity: t.alert.severity });
      return;
    }
    for (const channel of this.channels) {
      if (!reaches(notification.severity, channel.minSeverity)) continue;
      try {
        channel.notify(notification);
      } catch (err) {
        this.log.warn('an alert channel threw', { channel: channel.name, err: (err as Error).message });
      }
    }
  }
}

/**
 * The participants the unit-level detectors judged in a round: the members of its units, less those of secure
 * groups refused before review (their sum was never scored). The selected who dropped out are in no unit.
 */
function judged(record: RoundRecord): Set<string> {
  const unscored = new Set((record.groups ?? []).filter((g) => g.status !== 'summed').map((g) => g.id));
  const out = new Set<string>();
  for (const [unit, members] of Object.entries(record.unitMembers)) if (!unscored.has(unit)) for (const p of members) out.add(p);
  return out;
}

/** A resolution carries the alert's highest severity, so it reaches exactly the channels its firing reached. */
function reaches(severity: AlertSeverity, min: AlertSeverity): boolean {
  return severityRank(severity) >= severityRank(min);
}
