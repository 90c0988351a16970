/**
 * The alert lifecycle: the rules between the anomaly detectors' findings (anomaly/alert.ts, several a round) and
 * the operator's notifications. One open alert per key; each round moves every open alert through at most
 * opened/updated/escalated, then resolved. Pure: no clock (the round's time comes in), no I/O; alerting-service.ts
 * persists the state and hands the transitions to the channels.
 *
 * Per round, for the findings at or above minSeverity, grouped by key (the most severe, then highest-scoring
 * finding of a key stands for it):
 *   - no open alert for the key → opened, at the finding's severity;
 *   - an open one → its clean streak ends; if the finding is more severe → escalated ('detector'); else a repeat:
 *     after escalateAfterRepeats repeats at one severity it goes up a level → escalated ('repeats'), otherwise
 *     updated (no notification: de-duplication).
 * A finding about a secure group is a finding about each of its members (one key per member): groups are
 * re-partitioned every round, so only the member behind repeated findings keeps repeating.
 * For each open alert without a finding: a clean round only if its detector judged this round (not in `skipped`)
 * and, for a unit-level alert, every participant behind it took part (in `judged`) without a finding from that
 * detector; resolveAfterCleanRounds of them → resolved ('clean-rounds'). A round the detector skipped (the
 * isolation forest before it has history, a round aborted before review), or one its participant sat out (not
 * selected, disconnected, in a group that never reached review), neither extends nor breaks the streak: an
 * attacker cannot wait out its alert by staying away.
 * Then, with resolveOnExclusion, an open unit-level alert whose participants are all excluded by reputation or
 * no longer enrolled → resolved ('excluded' or 'removed'), in the same round it opened if that is when the
 * exclusion came: the threat it reported is out of the federation. Round-level alerts (accuracy, loss, dropout)
 * resolve by clean rounds only.
 */
import type { Alert } from '../anomaly/alert.ts';
import {
  ALERT_SEVERITIES,
  severityRank,
  type AlertBookState,
  type AlertRules,
  type AlertTransition,
  type TrackedAlert,
} from './tracked-alert.ts';

/** One round, as the lifecycle sees it (alerting-service.ts builds it from the round record). */
export interface RoundFindings {
  readonly round: number;
  /** When the round was observed, ms since the epoch. */
  readonly at: number;
  readonly alerts: readonly Alert[];
  /** Detectors that did not judge this round. */
  readonly skipped: ReadonlySet<string>;
  /** Each unit's participants (RoundRecord.unitMembers). */
  readonly unitMembers: Readonly<Record<string, readonly string[]>>;
  /** Participants whose unit the unit-level detectors judged this round: they took part and reached review. */
  readonly judged: ReadonlySet<string>;
  /** Participants excluded by reputation for the next round. */
  readonly excluded: ReadonlySet<string>;
  /** Participants no longer enrolled. */
  readonly removed: ReadonlySet<string>;
}

export const ALERT_RULE_DEFAULTS: AlertRules = {
  minSeverity: 'warning',
  resolveAfterCleanRounds: 3,
  resolveOnExclusion: true,
  escalateAfterRepeats: 3,
};

export interface AlertSubject {
  readonly key: string;
  readonly participants: string[];
  /** The finding's message, naming the secure group when the subject is one of its members. */
  readonly message: string;
}

/**
 * The de-duplication keys of a finding and the participant behind each. A secure group's finding is one subject
 * per member, keyed like a participant's: group ids are positions in one round's partition, and the partition
 * changes every round (reshuffle, reputation grouping, exclusions), so a key over the group would open a new
 * alert each round. Per member, the member behind repeated findings repeats and escalates, the others resolve.
 */
export function alertSubjects(alert: Alert, unitMembers: Readonly<Record<string, readonly string[]>>): AlertSubject[] {
  if (alert.unit === undefined) return [{ key: `${alert.detector}/feature/${alert.feature ?? 'round'}`, participants: [], message: alert.message }];
  const members = [...new Set(unitMembers[alert.unit] ?? [])].sort();
  if (members.length === 0) return [{ key: `${alert.detector}/unit/${alert.unit}`, participants: [], message: alert.message }];
  if (members.length === 1 && members[0] === alert.unit) return [{ key: `${alert.detector}/participant/${alert.unit}`, participants: members, message: alert.message }];
  const message = `secure group ${alert.unit} (${members.join(', ')}): ${alert.message}`;
  return members.map((m) => ({ key: `${alert.detector}/participant/${m}`, participants: [m], message }));
}

function checkRules(rules: AlertRules): AlertRules {
  if (!ALERT_SEVERITIES.includes(rules.minSeverity)) throw new RangeError(`alert rules: minSeverity ${String(rules.minSeverity)}`);
  if (!(Number.isSafeInteger(rules.resolveAfterCleanRounds) && rules.resolveAfterCleanRounds >= 1)) {
    throw new RangeError(`alert rules: resolveAfterCleanRounds must be an integer ≥ 1, got ${rules.resolveAfterCleanRounds}`);
  }
  if (!(Number.isSafeInteger(rules.escalateAfterRepeats) && rules.escalateAfterRepeats >= 0)) {
    throw new RangeError(`alert rules: escalateAfterRepeats must be an integer ≥ 0, got ${rules.escalateAfterRepeats}`);
  }
  return rules;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** More severe first, then the higher score. */
function outranks(a: Alert, b: Alert): boolean {
  const d = severityRank(a.severity) - severityRank(b.severity);
  if (d !== 0) return d > 0;
  return (Number.isNaN(a.score) ? Infinity : a.score) > (Number.isNaN(b.score) ? Infinity : b.score);
}

export class AlertBook {
  private readonly rules: AlertRules;
  private readonly openByKey = new Map<string, TrackedAlert>();
  private last: number;

  constructor(rules: AlertRules = ALERT_RULE_DEFAULTS, state: AlertBookState = { lastRound: 0, open: [] }) {
    this.rules = checkRules(rules);
    this.last = state.lastRound;
    for (const a of state.open) {
      if (a.status !== 'firing') throw new RangeError(`AlertBook: alert ${a.id} in the open state is ${a.status}`);
      if (this.openByKey.has(a.key)) throw new RangeError(`AlertBook: two open alerts for ${a.key}`);
      this.openByKey.set(a.key, a);
    }
  }

  get lastRound(): number {
    return this.last;
  }

  /** Open alerts, by key. */
  open(): TrackedAlert[] {
    return [...this.openByKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Treat rounds up to `round` as observed (a federation that ran before alerting did starts after them). */
  skipTo(round: number): void {
    this.last = Math.max(this.last, round);
  }

  state(): AlertBookState {
    return { lastRound: this.last, open: this.open() };
  }

  /** Apply one round; returns its transitions in key order (at most two per key: opened then resolved). A round at or before lastRound changes nothing. */
  observe(input: RoundFindings): AlertTransition[] {
    const { round, at } = input;
    if (!(Number.isSafeInteger(round) && round >= 1)) throw new RangeError(`AlertBook.observe: round ${round}`);
    if (round <= this.last) return [];
    const minRank = severityRank(this.rules.minSeverity);
    const findings = new Map<string, { alert: Alert; subject: AlertSubject }>();
    /** `${detector}/${participant}` of every tracked finding: such a participant had no clean round for that detector. */
    const named = new Set<string>();
    for (const alert of input.alerts) {
      if (severityRank(alert.severity) < minRank) continue;
      for (const subject of alertSubjects(alert, input.unitMembers)) {
        for (const p of subject.participants) named.add(`${alert.detector}/${p}`);
        const held = findings.get(subject.key);
        if (!held || outranks(alert, held.alert)) findings.set(subject.key, { alert, subject });
      }
    }

    const transitions: AlertTransition[] = [];
    const keys = [...new Set([...findings.keys(), ...this.openByKey.keys()])].sort();
    for (const key of keys) {
      const finding = findings.get(key);
      const open = this.openByKey.get(key);
      let current: TrackedAlert | undefined;
      if (finding) {
        const step = open ? this.repeat(open, finding.alert, finding.subject, round, at) : this.opened(key, finding.alert, finding.subject, round, at);
        current = step.alert;
        transitions.push(step);
      } else if (open) {
        current = cleanRound(open, input, named) ? { ...open, cleanRounds: open.cleanRounds + 1 } : open;
        if (current.cleanRounds >= this.rules.resolveAfterCleanRounds) {
          transitions.push(this.resolved(current, 'clean-rounds', round, at));
          this.openByKey.delete(key);
          continue;
        }
      }
      if (current === undefined) continue;
      const resolution = this.rules.resolveOnExclusion ? gone(current, input) : undefined;
      if (resolution) {
        transitions.push(this.resolved(current, resolution, round, at));
        this.openByKey.delete(key);
      } else {
        this.openByKey.set(key, current);
      }
    }
    this.last = round;
    return transitions;
  }

  private opened(key: string, finding: Alert, { participants, message }: AlertSubject, round: number, at: number): AlertTransition {
    const alert: TrackedAlert = {
      id: `${key}@${round}`,
      key,
      detector: finding.detector,
      status: 'firing',
      severity: finding.severity,
      ...(finding.unit !== undefined ? { unit: finding.unit } : {}),
      participants,
      ...(finding.feature !== undefined ? { feature: finding.feature } : {}),
      score: finiteOrNull(finding.score),
      message,
      firstRound: round,
      lastRound: round,
      occurrences: 1,
      repeatsAtSeverity: 0,
      cleanRounds: 0,
      openedAt: at,
      updatedAt: at,
    };
    return { event: 'opened', alert, round };
  }

  private repeat(open: TrackedAlert, finding: Alert, { participants, message }: AlertSubject, round: number, at: number): AlertTransition {
    const base: TrackedAlert = {
      ...open,
      ...(finding.unit !== undefined ? { unit: finding.unit } : {}),
      participants,
      ...(finding.feature !== undefined ? { feature: finding.feature } : {}),
      score: finiteOrNull(finding.score),
      message,
      lastRound: round,
      occurrences: open.occurrences + 1,
      cleanRounds: 0,
      updatedAt: at,
    };
    if (severityRank(finding.severity) > severityRank(open.severity)) {
      return { event: 'escalated', alert: { ...base, severity: finding.severity, repeatsAtSeverity: 0 }, round, previousSeverity: open.severity, escalation: 'detector' };
    }
    const repeats = open.repeatsAtSeverity + 1;
    const n = this.rules.escalateAfterRepeats;
    const next = ALERT_SEVERITIES[severityRank(open.severity) + 1];
    if (n > 0 && repeats >= n && next !== undefined) {
      return { event: 'escalated', alert: { ...base, severity: next, repeatsAtSeverity: 0 }, round, previousSeverity: open.severity, escalation: 'repeats' };
    }
    return { event: 'updated', alert: { ...base, repeatsAtSeverity: repeats }, round };
  }

  private resolved(alert: TrackedAlert, resolution: NonNullable<TrackedAlert['resolution']>, round: number, at: number): AlertTransition {
    return { event: 'resolved', alert: { ...alert, status: 'resolved', resolution, resolvedRound: round, resolvedAt: at, updatedAt: at }, round };
  }
}

/**
 * Was this round clean for an open alert without a finding? Its detector judged the round and, for a unit-level
 * alert, every participant behind it took part without a finding from that detector (an alert stored before
 * group findings were keyed per member may name several).
 */
function cleanRound(alert: TrackedAlert, input: RoundFindings, named: ReadonlySet<string>): boolean {
  if (input.skipped.has(alert.detector)) return false;
  return alert.participants.every((p) => input.judged.has(p) && !named.has(`${alert.detector}/${p}`));
}

/** 'excluded' or 'removed' when every participant behind a unit-level alert is out of the federation. */
function gone(alert: TrackedAlert, input: RoundFindings): 'excluded' | 'removed' | undefined {
  if (alert.participants.length === 0) return undefined;
  if (!alert.participants.every((p) => input.excluded.has(p) || input.removed.has(p))) return undefined;
  return alert.participants.some((p) => input.excluded.has(p)) ? 'excluded' : 'removed';
}
