/**
 * What the dashboard shows, as plain JSON-ready data: a snapshot of the federation (GET /api/state, and the first
 * message of the event stream) and the events that update it (GET /api/events). Pure: built from round records,
 * reputation standings, alerts and the audit head handed in; no sockets, timers or storage (dashboard-feed.ts
 * gathers the inputs from a coordinator, dashboard-routes.ts serves them).
 *
 * Strings that participants or an operator's strategy control (ids, verdict reasons, alert texts) pass through
 * as data: the page writes them with textContent only, never as markup.
 */
import type { AlertTransition, TrackedAlert } from '../../alerting/tracked-alert.ts';
import type { Alert } from '../../anomaly/alert.ts';
import type { ReputationStanding } from '../../reputation/standing.ts';
import type { RoundRecord } from '../../rounds/round-record.ts';
import type { LoopStage } from '../../rounds/round-stage.ts';

/**
 * Rounds the snapshot carries (the latest), detector findings (the latest) and tracked alerts (the most recently
 * changed); older ones stay in storage.
 */
export const DASHBOARD_DEFAULTS = { maxRounds: 500, maxAlerts: 200, maxTracked: 100 } as const;

export interface DashboardLimits {
  readonly maxRounds: number;
  readonly maxAlerts: number;
  readonly maxTracked: number;
}

export interface FederationInfo {
  readonly privacy: 'trusted' | 'secagg';
  /** Rounds the federation runs in all. */
  readonly rounds: number;
  readonly strategy: string;
  /** Whether the coordinator scores each round's adapter (accuracy and loss come only then). */
  readonly evaluator: boolean;
}

export interface DashboardStatus {
  readonly round: number;
  readonly stage: LoopStage;
  /** When the stage began, and its deadline if it has one; ms since the epoch (server clock). */
  readonly since: number;
  readonly deadline: number | null;
  /** Authenticated participants connected now. */
  readonly connected: number;
  /** The server's clock when this status was made, so that the page can count down a deadline on its own clock. */
  readonly now: number;
}

/** How one unit (a participant in trusted mode, a secure group in secagg mode) fared in a round. */
export type UnitFate = 'kept' | 'clipped' | 'doubted' | 'rejected';

export interface GroupRow {
  readonly id: string;
  readonly members: readonly string[];
  readonly contributors: number;
  /** aborted / sat out (a fixed home group short of members) / refused (out of range) before aggregation, else the strategy's verdict on its unit. */
  readonly outcome: 'aborted' | 'sat-out' | 'refused' | UnitFate;
  readonly reason: string;
  /** Members the secure-aggregation protocol blamed in this group. */
  readonly blamed: readonly string[];
}

export interface RoundSummary {
  readonly round: number;
  readonly outcome: RoundRecord['outcome'];
  readonly reason: string;
  /** Connected participants when the round began; null when this process did not see it begin (resumed). */
  readonly connected: number | null;
  readonly selected: number;
  readonly contributed: number;
  readonly dropped: number;
  readonly units: number;
  /**
   * Units the strategy rejected, clipped and doubted: counts only, so that a round event stays small however many
   * units there were (the verdicts and their reasons are in the round record, and per group in `groups`).
   */
  readonly rejected: number;
  readonly clipped: number;
  readonly doubted: number;
  readonly excluded: readonly string[];
  readonly accuracy: number | null;
  readonly evaluationLoss: number | null;
  /** Sample-weighted mean of the participants' reported training loss. */
  readonly meanLoss: number | null;
  readonly alerts: number;
  /** Secure groups (secagg rounds); [] in trusted rounds. */
  readonly groups: readonly GroupRow[];
  readonly durationMs: number;
}

export interface ReputationRow extends ReputationStanding {
  readonly connected: boolean;
}

export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

export interface DashboardSnapshot {
  readonly federation: FederationInfo;
  readonly status: DashboardStatus;
  /** Oldest first, the latest `maxRounds`. */
  readonly rounds: readonly RoundSummary[];
  readonly reputation: readonly ReputationRow[];
  /** Oldest first, the latest `maxAlerts`. */
  readonly alerts: readonly Alert[];
  /** The alerting subsystem's tracked alerts (alerting/tracked-alert.ts), firing and resolved, the most recently changed first. */
  readonly tracked: readonly TrackedAlert[];
  /** null when the audit log cannot be read (storage closed). */
  readonly audit: AuditHead | null;
}

/** A participant that connected (online) or left since the last status event. */
export interface PresenceChange {
  readonly id: string;
  readonly online: boolean;
}

/**
 * What the event stream sends. `snapshot` first (and whenever the page should start over), then changes:
 * `status` when the round loop moves or participants come and go (with who did), `round` when a round finishes,
 * with the reputation and audit head it changed and its alerts, `alert` when a tracked alert opens, repeats,
 * escalates or resolves.
 */
export type DashboardEvent =
  | { readonly type: 'snapshot'; readonly snapshot: DashboardSnapshot }
  | { readonly type: 'status'; readonly status: DashboardStatus; readonly presence: readonly PresenceChange[] }
  | {
      readonly type: 'round';
      readonly round: RoundSummary;
      readonly alerts: readonly Alert[];
      readonly reputation: readonly ReputationRow[];
      readonly audit: AuditHead | null;
    }
  | { readonly type: 'alert'; readonly transition: AlertTransition };

export function unitFate(record: Pick<RoundRecord, 'rejected' | 'adjusted' | 'doubted'>, unitId: string): { fate: UnitFate; reason: string } {
  const rejected = record.rejected.find((v) => v.id === unitId);
  if (rejected) return { fate: 'rejected', reason: rejected.reason };
  const doubted = record.doubted?.find((v) => v.id === unitId);
  if (doubted) return { fate: 'doubted', reason: doubted.reason };
  const adjusted = record.adjusted.find((v) => v.id === unitId);
  if (adjusted) return { fate: 'clipped', reason: adjusted.reason };
  return { fate: 'kept', reason: '' };
}

/** A secagg round's groups with their outcome; [] for trusted rounds and records stored before groups were. */
export function groupRows(record: RoundRecord): GroupRow[] {
  return (record.groups ?? []).map((g) => {
    const blamed = [...new Set((record.blamed ?? []).filter((b) => g.members.includes(b.participant)).map((b) => b.participant))];
    const base = { id: g.id, members: g.members, contributors: g.contributors.length, blamed };
    if (g.status === 'aborted' || g.status === 'sat-out') return { ...base, outcome: g.status, reason: g.reason };
    // A refused group's unit is listed as rejected too; 'refused' says it never reached the strategy.
    if (g.status === 'refused') return { ...base, outcome: 'refused', reason: unitFate(record, g.id).reason || g.reason };
    // An aborted round never ran the strategy: its summed groups have no verdict.
    if (record.outcome === 'aborted' && !record.rejected.some((v) => v.id === g.id)) return { ...base, outcome: 'kept', reason: 'round aborted before aggregation' };
    const { fate, reason } = unitFate(record, g.id);
    return { ...base, outcome: fate, reason };
  });
}

export function roundSummary(record: RoundRecord, connected: number | null = null): RoundSummary {
  return {
    round: record.round,
    outcome: record.outcome,
    reason: record.reason,
    connected,
    selected: record.selected.length,
    contributed: record.reported.length,
    dropped: record.dropped.length,
    units: record.units,
    rejected: record.rejected.length,
    clipped: record.adjusted.length,
    doubted: record.doubted?.length ?? 0,
    excluded: record.excluded,
    accuracy: finiteOrNull(record.accuracy),
    evaluationLoss: finiteOrNull(record.evaluationLoss),
    meanLoss: finiteOrNull(record.meanLoss),
    alerts: record.alerts.length,
    groups: groupRows(record),
    durationMs: record.durationMs,
  };
}

export function reputationRows(standings: readonly ReputationStanding[], connected: ReadonlySet<string>): ReputationRow[] {
  return standings.map((s) => ({ ...s, connected: connected.has(s.id) }));
}

export interface SnapshotInput {
  readonly federation: FederationInfo;
  readonly status: DashboardStatus;
  readonly records: readonly RoundRecord[];
  /** Connected participants at each round's start, where known. */
  readonly connectedAtStart: ReadonlyMap<number, number>;
  readonly standings: readonly ReputationStanding[];
  readonly connectedIds: ReadonlySet<string>;
  readonly audit: AuditHead | null;
  /** The most recently changed tracked alerts, newest first. */
  readonly tracked?: readonly TrackedAlert[];
  readonly limits?: DashboardLimits;
}

export function dashboardSnapshot(input: SnapshotInput): DashboardSnapshot {
  const { maxRounds, maxAlerts, maxTracked } = input.limits ?? DASHBOARD_DEFAULTS;
  const records = input.records.slice(-maxRounds);
  return {
    federation: input.federation,
    status: input.status,
    rounds: records.map((r) => roundSummary(r, input.connectedAtStart.get(r.round) ?? null)),
    reputation: reputationRows(input.standings, input.connectedIds),
    alerts: input.records.flatMap((r) => r.alerts).slice(-maxAlerts),
    tracked: (input.tracked ?? []).slice(0, maxTracked),
    audit: input.audit,
  };
}

/** The event for a finished round. */
export function roundEvent(
  record: RoundRecord,
  connectedAtStart: number | null,
  standings: readonly ReputationStanding[],
  connectedIds: ReadonlySet<string>,
  audit: AuditHead | null,
): DashboardEvent {
  return {
    type: 'round',
    round: roundSummary(record, connectedAtStart),
    alerts: record.alerts,
    reputation: reputationRows(standings, connectedIds),
    audit,
  };
}

/**
 * The snapshot after `event`: what the page does with each event, kept here too so that the two cannot drift
 * apart unnoticed (the unit tests fold events over a snapshot and compare with a fresh snapshot).
 */
export function applyEvent(snapshot: DashboardSnapshot, event: DashboardEvent, limits: DashboardLimits = DASHBOARD_DEFAULTS): DashboardSnapshot {
  switch (event.type) {
    case 'snapshot':
      return event.snapshot;
    case 'status': {
      if (event.presence.length === 0) return { ...snapshot, status: event.status };
      const online = new Map(event.presence.map((p) => [p.id, p.online]));
      const reputation = snapshot.reputation.map((r) => (online.has(r.id) && online.get(r.id) !== r.connected ? { ...r, connected: online.get(r.id) as boolean } : r));
      return { ...snapshot, status: event.status, reputation };
    }
    case 'round':
      return {
        ...snapshot,
        rounds: [...snapshot.rounds.filter((r) => r.round !== event.round.round), event.round].slice(-limits.maxRounds),
        alerts: [...snapshot.alerts, ...event.alerts].slice(-limits.maxAlerts),
        reputation: event.reputation,
        audit: event.audit ?? snapshot.audit,
      };
    case 'alert': {
      const changed = event.transition.alert;
      return { ...snapshot, tracked: [changed, ...snapshot.tracked.filter((a) => a.id !== changed.id)].slice(0, limits.maxTracked) };
    }
    default: {
      const unreachable: never = event;
      throw new Error(`applyEvent: unknown event ${String(unreachable)}`);
    }
  }
}

/** JSON has no NaN or Infinity: a non-finite figure becomes null rather than a string the page cannot plot. */
function finiteOrNull(x: number | null | undefined): number | null {
  return x !== undefined && x !== null && Number.isFinite(x) ? x : null;
}
