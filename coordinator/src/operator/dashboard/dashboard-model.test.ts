/** The dashboard's data: round summaries, secure-group outcomes, snapshots, and events folded over a snapshot. */
import { describe, expect, it } from 'vitest';
import type { RoundRecord } from '../../rounds/round-record.ts';
import {
  applyEvent,
  dashboardSnapshot,
  groupRows,
  roundEvent,
  roundSummary,
  unitFate,
  type DashboardStatus,
  type SnapshotInput,
} from './dashboard-model.ts';
import { alert, roundRecord, standing, trackedAlert } from './test-support.ts';

const status: DashboardStatus = { round: 1, stage: 'training', since: 10, deadline: 120_010, connected: 4, now: 20 };
const federation = { privacy: 'trusted' as const, rounds: 5, strategy: 'fedwarden', evaluator: true };

function input(records: RoundRecord[], extra: Partial<SnapshotInput> = {}): SnapshotInput {
  return {
    federation,
    status,
    records,
    connectedAtStart: new Map([[1, 4]]),
    standings: [standing('a', { score: 0.9 }), standing('c', { score: 0.2, excluded: true, flagged: true })],
    connectedIds: new Set(['a']),
    audit: { seq: 7, hash: 'cd'.repeat(32) },
    ...extra,
  };
}

describe('roundSummary', () => {
  it('counts selected, contributed and dropped participants and keeps the figures', () => {
    const s = roundSummary(roundRecord(2), 4);
    expect(s).toMatchObject({ round: 2, outcome: 'completed', connected: 4, selected: 4, contributed: 3, dropped: 1, units: 3, alerts: 0, groups: [] });
    expect(s.accuracy).toBeCloseTo(0.52);
    expect(s.evaluationLoss).toBeCloseTo(0.5);
    expect(s.meanLoss).toBeCloseTo(1);
    // Counts, not the verdicts: a round event stays small however many units the round had.
    expect([s.rejected, s.clipped, s.doubted]).toEqual([1, 0, 0]);
    const many = roundSummary(roundRecord(3, { adjusted: [{ id: 'a', reason: 'norm clipped' }], doubted: [{ id: 'b', reason: 'x' }, { id: 'c', reason: 'y' }] }));
    expect([many.rejected, many.clipped, many.doubted]).toEqual([1, 1, 2]);
  });

  it('turns missing and non-finite figures into null (JSON has no NaN)', () => {
    const s = roundSummary(roundRecord(1, { accuracy: undefined, evaluationLoss: Number.NaN, meanLoss: null }));
    expect([s.accuracy, s.evaluationLoss, s.meanLoss, s.connected]).toEqual([null, null, null, null]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('reads a record stored before doubted and groups existed', () => {
    const old = roundRecord(1);
    delete (old as { doubted?: unknown }).doubted;
    expect(roundSummary(old)).toMatchObject({ doubted: 0, groups: [] });
  });
});

describe('secure groups', () => {
  const secagg = (overrides: Partial<RoundRecord> = {}) =>
    roundRecord(3, {
      privacy: 'secagg',
      unitMembers: { 'group-1': ['a', 'b', 'c'], 'group-2': ['d', 'e', 'f'], 'group-4': ['j', 'k', 'l'] },
      rejected: [
        { id: 'group-2', reason: 'DBSCAN outlier' },
        { id: 'group-4', reason: 'sum out of the honest range' },
      ],
      adjusted: [{ id: 'group-1', reason: 'norm clipped 2.0×' }],
      blamed: [{ participant: 'h', group: 3, kind: 'bad-signature', detail: 'saKeys' }],
      groups: [
        { id: 'group-1', members: ['a', 'b', 'c'], contributors: ['a', 'b', 'c'], status: 'summed', reason: '' },
        { id: 'group-2', members: ['d', 'e', 'f'], contributors: ['d', 'e', 'f'], status: 'summed', reason: '' },
        { id: 'group-3', members: ['g', 'h', 'i'], contributors: [], status: 'aborted', reason: 'group 3 aborted: 1 of 3 answered encaps' },
        { id: 'group-4', members: ['j', 'k', 'l'], contributors: ['j', 'k', 'l'], status: 'refused', reason: 'group 4 rejected: out of range' },
      ],
      ...overrides,
    });

  it("gives each group the strategy's verdict, or why it never reached the strategy, and whom it blamed", () => {
    expect(groupRows(secagg())).toEqual([
      { id: 'group-1', members: ['a', 'b', 'c'], contributors: 3, outcome: 'clipped', reason: 'norm clipped 2.0×', blamed: [] },
      { id: 'group-2', members: ['d', 'e', 'f'], contributors: 3, outcome: 'rejected', reason: 'DBSCAN outlier', blamed: [] },
      { id: 'group-3', members: ['g', 'h', 'i'], contributors: 0, outcome: 'aborted', reason: 'group 3 aborted: 1 of 3 answered encaps', blamed: ['h'] },
      { id: 'group-4', members: ['j', 'k', 'l'], contributors: 3, outcome: 'refused', reason: 'sum out of the honest range', blamed: [] },
    ]);
  });

  it('shows a fixed home group that sat out as such, with its reason, never as kept', () => {
    const reason = 'home group 5 sits out: 2 of its 5 members selected, fewer than secagg.minGroupSize 4 (not merged into another group, whose sum would then overlap its own)';
    const record = secagg();
    const rows = groupRows({ ...record, groups: [...(record.groups ?? []), { id: 'group-5', members: ['m', 'n'], contributors: [], status: 'sat-out', reason }] });
    expect(rows.at(-1)).toEqual({ id: 'group-5', members: ['m', 'n'], contributors: 0, outcome: 'sat-out', reason, blamed: [] });
  });

  it('gives no verdict to the groups of a round aborted before aggregation', () => {
    const rows = groupRows(secagg({ outcome: 'aborted', rejected: [], adjusted: [] }));
    expect(rows[0]).toMatchObject({ outcome: 'kept', reason: 'round aborted before aggregation' });
  });

  it('ranks verdicts: rejected over doubted over clipped', () => {
    const record = { rejected: [{ id: 'x', reason: 'r' }], doubted: [{ id: 'x', reason: 'd' }, { id: 'y', reason: 'd' }], adjusted: [{ id: 'y', reason: 'c' }, { id: 'z', reason: 'c' }] };
    expect(['x', 'y', 'z', 'w'].map((id) => unitFate(record, id).fate)).toEqual(['rejected', 'doubted', 'clipped', 'kept']);
  });
});

describe('dashboardSnapshot', () => {
  it('carries the status, rounds, reputation with who is connected, alerts and the audit head', () => {
    const records = [roundRecord(1, { alerts: [alert(1, 'c')] }), roundRecord(2)];
    const snap = dashboardSnapshot(input(records));
    expect(snap.status).toEqual(status);
    expect(snap.rounds.map((r) => [r.round, r.connected])).toEqual([
      [1, 4],
      [2, null],
    ]);
    expect(snap.reputation).toEqual([
      { ...standing('a', { score: 0.9 }), connected: true },
      { ...standing('c', { score: 0.2, excluded: true, flagged: true }), connected: false },
    ]);
    expect(snap.alerts).toEqual([alert(1, 'c')]);
    expect(snap.audit).toEqual({ seq: 7, hash: 'cd'.repeat(32) });
  });

  it('keeps the latest maxRounds rounds and maxAlerts alerts', () => {
    const records = [1, 2, 3, 4].map((r) => roundRecord(r, { alerts: [alert(r, 'a'), alert(r, 'b')] }));
    const snap = dashboardSnapshot(input(records, { limits: { maxRounds: 2, maxAlerts: 3, maxTracked: 2 } }));
    expect(snap.rounds.map((r) => r.round)).toEqual([3, 4]);
    expect(snap.alerts.map((a) => `${a.round}${a.unit}`)).toEqual(['3b', '4a', '4b']);
  });
});

describe('applyEvent', () => {
  it('folds round events over an earlier snapshot into the later snapshot', () => {
    const records = [1, 2, 3].map((r) => roundRecord(r, { alerts: r === 2 ? [alert(2, 'c', { severity: 'critical' })] : [] }));
    let folded = dashboardSnapshot(input(records.slice(0, 1)));
    for (const record of records.slice(1)) {
      folded = applyEvent(folded, roundEvent(record, null, input([]).standings, new Set(['a']), { seq: 7, hash: 'cd'.repeat(32) }));
    }
    expect(folded).toEqual(dashboardSnapshot(input(records)));
  });

  it('replaces a round it already holds, keeps the audit head when the event has none, and honours the limits', () => {
    const snap = dashboardSnapshot(input([roundRecord(1), roundRecord(2)]));
    const again = applyEvent(snap, roundEvent(roundRecord(2, { reason: 'again' }), null, [], new Set(), null), { maxRounds: 2, maxAlerts: 5, maxTracked: 2 });
    expect(again.rounds.map((r) => [r.round, r.reason === 'again'])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(again.audit).toEqual(snap.audit);
    const next = applyEvent(again, roundEvent(roundRecord(3), null, [], new Set(), null), { maxRounds: 2, maxAlerts: 5, maxTracked: 2 });
    expect(next.rounds.map((r) => r.round)).toEqual([2, 3]);
  });

  it('puts a changed tracked alert first, in place of its earlier state, and keeps the latest maxTracked', () => {
    const a = trackedAlert('a');
    const b = trackedAlert('b');
    let snap = dashboardSnapshot(input([], { tracked: [b, a] }));
    expect(snap.tracked.map((t) => t.id)).toEqual([b.id, a.id]);
    const resolved = { ...a, status: 'resolved' as const, resolution: 'excluded' as const, resolvedRound: 3 };
    snap = applyEvent(snap, { type: 'alert', transition: { event: 'resolved', alert: resolved, round: 3 } });
    expect(snap.tracked).toEqual([resolved, b]);
    const c = trackedAlert('c');
    const limits = { maxRounds: 2, maxAlerts: 5, maxTracked: 2 };
    expect(applyEvent(snap, { type: 'alert', transition: { event: 'opened', alert: c, round: 4 } }, limits).tracked).toEqual([c, resolved]);
    expect(dashboardSnapshot(input([], { tracked: [c, resolved, b], limits })).tracked).toEqual([c, resolved]);
  });

  it("marks who came and went from a status event's presence", () => {
    const snap = dashboardSnapshot(input([]));
    const moved = applyEvent(snap, { type: 'status', status, presence: [{ id: 'a', online: false }, { id: 'c', online: true }, { id: 'zz', online: true }] });
    expect(moved.reputation.map((r) => [r.id, r.connected])).toEqual([
      ['a', false],
      ['c', true],
    ]);
  });

  it('takes a status event and starts over on a snapshot event', () => {
    const snap = dashboardSnapshot(input([]));
    const moved = applyEvent(snap, { type: 'status', status: { ...status, stage: 'aggregating', deadline: null }, presence: [] });
    expect(moved.status.stage).toBe('aggregating');
    const fresh = dashboardSnapshot(input([roundRecord(1)]));
    expect(applyEvent(moved, { type: 'snapshot', snapshot: fresh })).toBe(fresh);
  });
});
