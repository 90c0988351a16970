/**
 * What a chaos run's stored rounds say, and the summary table the chaos suite prints so that its numbers land
 * in CI logs. Pure: works on the rows read from the coordinator's database and the harness's counters.
 */
import type { RoundRow } from '@fedwarden/coordinator';
import type { ChaosFederationResult } from './chaos-federation.ts';

export interface RoundHistory {
  /** Finished attempts per round number, in round order: [round, attempt, outcome]. */
  readonly finished: ReadonlyArray<readonly [number, number, string | null]>;
  /** Interrupted attempts: [round, attempt, reason]. */
  readonly interrupted: ReadonlyArray<readonly [number, number, string | null]>;
  /** Attempts neither finished nor interrupted (a round still marked started). */
  readonly open: number;
  /** How many participants' updates are in each finished round, by round. */
  readonly contributors: ReadonlyMap<number, number>;
  /** Participants selected but not in the aggregate of each finished round, by round. */
  readonly dropped: ReadonlyMap<number, readonly string[]>;
}

export function roundHistory(rows: readonly RoundRow[]): RoundHistory {
  const finished = rows.filter((r) => r.status === 'finished').map((r) => [r.round, r.attempt, r.outcome] as const);
  const interrupted = rows.filter((r) => r.status === 'interrupted').map((r) => [r.round, r.attempt, r.reason] as const);
  const contributors = new Map<number, number>();
  const dropped = new Map<number, string[]>();
  for (const r of rows) {
    if (r.status !== 'finished' || r.record === null) continue;
    const record = JSON.parse(r.record) as { reported?: unknown; dropped?: unknown };
    contributors.set(r.round, Array.isArray(record.reported) ? record.reported.length : 0);
    dropped.set(r.round, Array.isArray(record.dropped) ? record.dropped.map(String) : []);
  }
  return { finished, interrupted, open: rows.length - finished.length - interrupted.length, contributors, dropped };
}

export interface ChaosSummaryRow {
  readonly mode: string;
  readonly run: string;
  readonly rounds: number;
  readonly disconnects: number;
  readonly late: number;
  readonly reconnects: number;
  readonly retriedUploads: number;
  readonly killRound: number | null;
  readonly killAt: string | null;
  readonly restartSeconds: number | null;
  readonly contributors: string;
  readonly accuracy: number;
  readonly wallSeconds: number;
}

export function summaryRow(result: ChaosFederationResult): ChaosSummaryRow {
  const history = roundHistory(result.rows);
  const counts = [...history.contributors.values()];
  return {
    mode: result.mode,
    run: result.disturbed ? 'disturbed' : 'undisturbed',
    rounds: history.finished.length,
    disconnects: result.cuts.length,
    late: result.cuts.filter((c) => c.late).length,
    reconnects: result.links.reconnected,
    retriedUploads: result.links.uploadRetried,
    killRound: result.kill?.round ?? null,
    killAt: result.kill?.at ?? null,
    restartSeconds: result.restartSeconds ?? null,
    contributors: counts.length > 0 ? `${Math.min(...counts)}–${Math.max(...counts)}` : '-',
    accuracy: result.accuracy,
    wallSeconds: result.wallSeconds,
  };
}

const COLUMNS: ReadonlyArray<readonly [string, (r: ChaosSummaryRow) => string]> = [
  ['mode', (r) => r.mode],
  ['run', (r) => r.run],
  ['rounds', (r) => String(r.rounds)],
  ['disconnects (late)', (r) => `${r.disconnects} (${r.late})`],
  ['reconnects', (r) => String(r.reconnects)],
  ['uploads resent', (r) => String(r.retriedUploads)],
  ['coordinator killed', (r) => (r.killRound === null ? '-' : `round ${r.killRound}, ${r.killAt ?? '?'}`)],
  ['restart s', (r) => (r.restartSeconds === null ? '-' : r.restartSeconds.toFixed(1))],
  ['contributors/round', (r) => r.contributors],
  ['accuracy', (r) => `${(r.accuracy * 100).toFixed(1)}%`],
  ['wall s', (r) => r.wallSeconds.toFixed(1)],
];

/** A fixed-width table, one line per run. */
export function formatSummaryTable(rows: readonly ChaosSummaryRow[]): string {
  const cells = [COLUMNS.map(([title]) => title), ...rows.map((r) => COLUMNS.map(([, cell]) => cell(r)))];
  const widths = COLUMNS.map((_, c) => Math.max(...cells.map((line) => (line[c] as string).length)));
  return cells.map((line) => line.map((cell, c) => cell.padStart(widths[c] as number)).join('  ')).join('\n');
}
