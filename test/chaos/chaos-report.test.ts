/** Reading a chaos run's stored rounds, and the summary table the suite prints. */
import { describe, expect, it } from 'vitest';
import type { RoundRow } from '@fedwarden/coordinator';
import { formatSummaryTable, roundHistory, type ChaosSummaryRow } from './chaos-report.ts';

function row(round: number, attempt: number, status: RoundRow['status'], reported: string[] = [], dropped: string[] = []): RoundRow {
  const finished = status === 'finished';
  return {
    round,
    attempt,
    status,
    startedAt: 0,
    endedAt: status === 'started' ? null : 1,
    outcome: finished ? 'completed' : status === 'interrupted' ? 'aborted' : null,
    reason: status === 'interrupted' ? 'coordinator restarted' : null,
    record: status === 'started' ? null : JSON.stringify({ round, reported, dropped }),
    config: '{}',
  };
}

describe('roundHistory', () => {
  it('separates finished, interrupted and open attempts and reads who was in each finished round', () => {
    const h = roundHistory([
      row(1, 1, 'finished', ['a', 'b'], ['c']),
      row(2, 1, 'interrupted', ['a']),
      row(2, 2, 'finished', ['a', 'b', 'c']),
      row(3, 1, 'started'),
    ]);
    expect(h.finished).toEqual([
      [1, 1, 'completed'],
      [2, 2, 'completed'],
    ]);
    expect(h.interrupted).toEqual([[2, 1, 'coordinator restarted']]);
    expect(h.open).toBe(1);
    expect([...h.contributors]).toEqual([
      [1, 2],
      [2, 3],
    ]);
    expect(h.dropped.get(1)).toEqual(['c']);
    expect(h.dropped.get(2)).toEqual([]);
  });
});

describe('formatSummaryTable', () => {
  it('prints a header and one aligned line per run', () => {
    const base: ChaosSummaryRow = {
      mode: 'secagg',
      run: 'disturbed',
      rounds: 6,
      disconnects: 63,
      late: 4,
      reconnects: 110,
      retriedUploads: 0,
      killRound: 4,
      killAt: 'secagg stage masked',
      restartSeconds: 1.52,
      contributors: '32–40',
      accuracy: 0.8766,
      wallSeconds: 40.25,
    };
    const lines = formatSummaryTable([base, { ...base, run: 'undisturbed', killRound: null, killAt: null, restartSeconds: null }]).split('\n');
    expect(lines).toHaveLength(3);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[1]).toContain('63 (4)');
    expect(lines[1]).toContain('round 4, secagg stage masked');
    expect(lines[1]).toContain('87.7%');
    expect(lines[2]).toMatch(/undisturbed .* - /);
  });
});
