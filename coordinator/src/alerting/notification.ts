/**
 * The notification of one alert transition, as the channels send it: the webhook's JSON body (schema
 * "fedwarden.alert.v1", documented in README "Alerting") and the fields of the log line. Additive changes keep
 * the schema name; a field removed or changed in meaning gets a new one.
 */
import type { AlertSeverity } from '../anomaly/alert.ts';
import type { AlertEvent, AlertResolution, AlertStatus, AlertTransition } from './tracked-alert.ts';

export const ALERT_PAYLOAD_SCHEMA = 'fedwarden.alert.v1';

export interface AlertNotification {
  readonly schema: typeof ALERT_PAYLOAD_SCHEMA;
  /** Unique per transition (`${id}:${event}:${round}`): a receiver de-duplicates retried deliveries on it. */
  readonly notificationId: string;
  /** opened / escalated → status firing; resolved → status resolved. (Updates are not notified.) */
  readonly event: Exclude<AlertEvent, 'updated'>;
  readonly status: AlertStatus;
  /** The alert's id, the same in its firing and resolved notifications. */
  readonly id: string;
  readonly key: string;
  readonly severity: AlertSeverity;
  /** For escalated: the severity before, and what raised it ('detector' or 'repeats'). */
  readonly previousSeverity: AlertSeverity | null;
  readonly escalation: 'detector' | 'repeats' | null;
  readonly detector: string;
  /** The feature that stood out (norm, cosineToAggregate, accuracy, dropoutRate…), if the detector named one. */
  readonly feature: string | null;
  /** The aggregation unit (a participant in trusted mode, a secure group id in secagg mode); null for round-level alerts. */
  readonly unit: string | null;
  readonly participants: readonly string[];
  /** The detector's score at the last finding; null when it was not finite (a NaN loss). */
  readonly score: number | null;
  readonly message: string;
  /** The round of this event. */
  readonly round: number;
  readonly firstRound: number;
  readonly lastRound: number;
  readonly occurrences: number;
  /** How it resolved (clean-rounds, excluded, removed); null while firing. */
  readonly resolution: AlertResolution | null;
  /** ISO 8601: opened, last changed, resolved (null while firing). */
  readonly startsAt: string;
  readonly updatedAt: string;
  readonly endsAt: string | null;
  /**
   * notificationIds of this alert's earlier notifications that the channel dropped undelivered (its queue was full,
   * or a newer state of the alert replaced them): the receiver never got them, a firing perhaps. [] normally.
   */
  readonly undelivered: readonly string[];
  readonly coordinator: { readonly fingerprint: string };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The notification of a transition, or undefined for `updated` (de-duplicated). */
export function notificationOf(t: AlertTransition, fingerprint: string): AlertNotification | undefined {
  if (t.event === 'updated') return undefined;
  const a = t.alert;
  return {
    schema: ALERT_PAYLOAD_SCHEMA,
    notificationId: `${a.id}:${t.event}:${t.round}`,
    event: t.event,
    status: a.status,
    id: a.id,
    key: a.key,
    severity: a.severity,
    previousSeverity: t.previousSeverity ?? null,
    escalation: t.escalation ?? null,
    detector: a.detector,
    feature: a.feature ?? null,
    unit: a.unit ?? null,
    participants: a.participants,
    score: a.score,
    message: a.message,
    round: t.round,
    firstRound: a.firstRound,
    lastRound: a.lastRound,
    occurrences: a.occurrences,
    resolution: a.resolution ?? null,
    startsAt: iso(a.openedAt),
    updatedAt: iso(a.updatedAt),
    endsAt: a.resolvedAt !== undefined ? iso(a.resolvedAt) : null,
    undelivered: [],
    coordinator: { fingerprint },
  };
}

/** Channels: where notifications go. notify() never blocks and never throws; close() flushes what it can. */
export interface NotificationChannel {
  readonly name: string;
  /** The least severity this channel is told about; a resolution goes where its firing went. */
  readonly minSeverity: AlertSeverity;
  notify(notification: AlertNotification): void;
  close(): Promise<void>;
}
