/**
 * The types of alerting, shared by the lifecycle (alert-book.ts), its storage (storage/alerts.ts), the channels
 * and the coordinator: a tracked alert is the operator's view of a run of detector findings about one subject
 * (alert.ts is one finding of one round). README "Alerting" documents them for operators.
 */
import type { AlertSeverity } from '../anomaly/alert.ts';

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const satisfies readonly AlertSeverity[];

/** info < warning < critical. */
export function severityRank(severity: AlertSeverity): number {
  return ALERT_SEVERITIES.indexOf(severity);
}

/**
 * What happened to a tracked alert in a round:
 *   opened     a finding at or above the rules' minSeverity for a key with no open alert
 *   updated    a repeat of an open alert at its severity (de-duplicated: channels are not notified)
 *   escalated  its severity went up: the detector reported a higher one, or it repeated escalateAfterRepeats times
 *   resolved   its key had resolveAfterCleanRounds clean rounds, or every participant behind it is excluded or no
 *              longer enrolled
 */
export type AlertEvent = 'opened' | 'updated' | 'escalated' | 'resolved';

export type AlertStatus = 'firing' | 'resolved';

export type AlertResolution = 'clean-rounds' | 'excluded' | 'removed';

export interface TrackedAlert {
  /** Stable for one lifecycle: `${key}@${firstRound}`. A key that fires again later gets a new id. */
  readonly id: string;
  /**
   * The de-duplication key: `${detector}/participant/${id}` (a secure group's finding gives one per member),
   * `${detector}/feature/${feature}`; `${detector}/group/${members joined by +}` only in state stored before that.
   */
  readonly key: string;
  readonly detector: string;
  readonly status: AlertStatus;
  /** Current severity: never lower than any finding behind it, raised by escalation. */
  readonly severity: AlertSeverity;
  /** The aggregation unit of a unit-level alert at its last finding (a participant in trusted mode, a secure group in secagg mode). */
  readonly unit?: string;
  /** The participant the alert is about (one member of a secure group); [] for round-level alerts (accuracy, loss, dropout). */
  readonly participants: readonly string[];
  /** The feature that stood out at the last finding. */
  readonly feature?: string;
  /** The detector's score at the last finding (null when it was not finite: a NaN loss). */
  readonly score: number | null;
  /** The detector's message at the last finding. */
  readonly message: string;
  readonly firstRound: number;
  /** The last round with a finding for this key. */
  readonly lastRound: number;
  /** Rounds with a finding for this key, the first included. */
  readonly occurrences: number;
  /** Occurrences since the severity last changed (escalation counts these). */
  readonly repeatsAtSeverity: number;
  /** Consecutive clean rounds since the last finding: the detector judged the round, and its participants took part without a finding. */
  readonly cleanRounds: number;
  readonly resolution?: AlertResolution;
  readonly resolvedRound?: number;
  /** ms since the epoch. */
  readonly openedAt: number;
  readonly updatedAt: number;
  readonly resolvedAt?: number;
}

export interface AlertTransition {
  readonly event: AlertEvent;
  /** The alert after the event. */
  readonly alert: TrackedAlert;
  /** The round that caused the event. */
  readonly round: number;
  /** For `escalated`: the severity before, and whether the detector or the repeats raised it. */
  readonly previousSeverity?: AlertSeverity;
  readonly escalation?: 'detector' | 'repeats';
}

/** The lifecycle rules (config.alerting, less the channels). */
export interface AlertRules {
  /** Findings below this severity are not tracked (they count as clean rounds). */
  readonly minSeverity: AlertSeverity;
  /** Clean rounds after which an open alert resolves. */
  readonly resolveAfterCleanRounds: number;
  /** Resolve an alert once every participant behind it is excluded by reputation (or no longer enrolled). */
  readonly resolveOnExclusion: boolean;
  /** Repeats at one severity after which it goes up one level; 0 never escalates on repeats. */
  readonly escalateAfterRepeats: number;
}

/** What the lifecycle keeps between rounds, and what storage persists. */
export interface AlertBookState {
  /** The last round observed (0: none); a round at or before it is not observed again. */
  readonly lastRound: number;
  readonly open: readonly TrackedAlert[];
}
