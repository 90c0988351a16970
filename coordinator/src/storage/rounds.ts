/**
 * The rounds table: one row per attempt at a round.
 *
 *   started ──finish──▶ finished       (completed, or aborted for a reason of its own: quorum, all rejected)
 *      └────interrupt─▶ interrupted    (the coordinator stopped or died mid-round: the round runs again,
 *                                       same number, next attempt; nothing of it was applied)
 *
 * A round number is finished at most once (a partial unique index), and a round may begin only right after
 * the last finished one, so no round is skipped or applied twice. The finished row keeps the coordinator's
 * whole round record as JSON, and the config the round ran under.
 */
import { FedwardenError, type RoundOutcome } from '@fedwarden/shared';
import type { Db } from './database.ts';

export type RoundStatus = 'started' | 'finished' | 'interrupted';

export interface RoundRow {
  readonly round: number;
  readonly attempt: number;
  readonly status: RoundStatus;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly outcome: RoundOutcome | null;
  readonly reason: string | null;
  /** The round record as stored (JSON text), for finished and interrupted attempts. */
  readonly record: string | null;
  /** The config the round ran under (JSON text). */
  readonly config: string;
}

interface Row {
  round: number;
  attempt: number;
  status: RoundStatus;
  started_at: number;
  ended_at: number | null;
  outcome: RoundOutcome | null;
  reason: string | null;
  record: string | null;
  config: string;
}

export class RoundsTable {
  constructor(private readonly db: Db) {}

  /** The highest finished round, 0 before any. */
  lastFinished(): number {
    return (this.db.prepare("SELECT coalesce(max(round), 0) AS r FROM rounds WHERE status = 'finished'").get() as { r: number }).r;
  }

  /** Attempts left 'started' by a coordinator that did not stop cleanly. */
  unfinished(): RoundRow[] {
    return (this.db.prepare("SELECT * FROM rounds WHERE status = 'started' ORDER BY round, attempt").all() as Row[]).map(fromRow);
  }

  /** Start an attempt at `round`, which must follow the last finished round. Returns the attempt number. */
  begin(round: number, config: string, now: number): number {
    const next = this.lastFinished() + 1;
    if (round !== next) throw new FedwardenError('INTERNAL', `rounds: cannot start round ${round}; the next round is ${next}`);
    if (this.unfinished().length > 0) throw new FedwardenError('INTERNAL', `rounds: an attempt is still open; interrupt it first`);
    const { a } = this.db.prepare('SELECT coalesce(max(attempt), 0) + 1 AS a FROM rounds WHERE round = ?').get(round) as { a: number };
    this.db
      .prepare("INSERT INTO rounds (round, attempt, status, started_at, config) VALUES (?, ?, 'started', ?, ?)")
      .run(round, a, now, config);
    return a;
  }

  /** Close an open attempt as finished with its record. Call inside the round-end transaction. */
  finish(round: number, attempt: number, outcome: RoundOutcome, reason: string, record: string, now: number): void {
    this.close(round, attempt, 'finished', outcome, reason, record, now);
  }

  /** Close an open attempt as interrupted; the round will run again. */
  interrupt(round: number, attempt: number, reason: string, record: string | null, now: number): void {
    this.close(round, attempt, 'interrupted', 'aborted', reason, record, now);
  }

  all(): RoundRow[] {
    return (this.db.prepare('SELECT * FROM rounds ORDER BY round, attempt').all() as Row[]).map(fromRow);
  }

  finished(): RoundRow[] {
    return (this.db.prepare("SELECT * FROM rounds WHERE status = 'finished' ORDER BY round").all() as Row[]).map(fromRow);
  }

  private close(
    round: number,
    attempt: number,
    status: 'finished' | 'interrupted',
    outcome: RoundOutcome,
    reason: string,
    record: string | null,
    now: number,
  ): void {
    const result = this.db
      .prepare(
        "UPDATE rounds SET status = ?, outcome = ?, reason = ?, record = ?, ended_at = ? WHERE round = ? AND attempt = ? AND status = 'started'",
      )
      .run(status, outcome, reason, record, now, round, attempt);
    if (result.changes !== 1) throw new FedwardenError('INTERNAL', `rounds: round ${round} attempt ${attempt} is not open`);
  }
}

function fromRow(r: Row): RoundRow {
  return {
    round: r.round,
    attempt: r.attempt,
    status: r.status,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    outcome: r.outcome,
    reason: r.reason,
    record: r.record,
    config: r.config,
  };
}
