import { describe, expect, it } from 'vitest';
import type { Alert, AlertSeverity } from '../anomaly/alert.ts';
import { ALERT_RULE_DEFAULTS, AlertBook, alertSubjects, type RoundFindings } from './alert-book.ts';
import type { AlertRules } from './tracked-alert.ts';

const forest = (unit: string, severity: AlertSeverity, round: number, feature = 'norm', score = 0.7): Alert => ({
  detector: 'isolation-forest',
  severity,
  round,
  unit,
  feature,
  score,
  message: `unit ${unit} stands out`,
});
const degradation = (feature: string, severity: AlertSeverity, round: number): Alert => ({
  detector: 'degradation',
  severity,
  round,
  feature,
  score: 0.1,
  message: `${feature} regressed`,
});

const SOLO = { p1: ['p1'], p2: ['p2'], p3: ['p3'] };

/** Every member of the round's units took part and was judged, unless `extra.judged` says otherwise. */
function findings(round: number, alerts: Alert[], extra: Partial<RoundFindings> = {}): RoundFindings {
  const unitMembers = extra.unitMembers ?? SOLO;
  const judged = new Set(Object.values(unitMembers).flat());
  return { round, at: 1000 * round, alerts, skipped: new Set(), unitMembers, judged, excluded: new Set(), removed: new Set(), ...extra };
}

const events = (book: AlertBook, input: RoundFindings) => book.observe(input).map((t) => [t.event, t.alert.key, t.alert.severity]);

const rules = (r: Partial<AlertRules>): AlertRules => ({ ...ALERT_RULE_DEFAULTS, ...r });

describe('alertSubjects', () => {
  it('keys a participant, each member of a secure group, and a round-level finding by its feature', () => {
    expect(alertSubjects(forest('p1', 'warning', 1), SOLO)).toEqual([{ key: 'isolation-forest/participant/p1', participants: ['p1'], message: 'unit p1 stands out' }]);
    // A group's finding is one subject per member, keyed like a participant; the message names the group.
    const message = 'secure group group-0 (p2, p5, p9): unit group-0 stands out';
    expect(alertSubjects(forest('group-0', 'warning', 1), { 'group-0': ['p9', 'p2', 'p5'] })).toEqual([
      { key: 'isolation-forest/participant/p2', participants: ['p2'], message },
      { key: 'isolation-forest/participant/p5', participants: ['p5'], message },
      { key: 'isolation-forest/participant/p9', participants: ['p9'], message },
    ]);
    expect(alertSubjects(forest('u', 'warning', 1), {})).toEqual([{ key: 'isolation-forest/unit/u', participants: [], message: 'unit u stands out' }]);
    expect(alertSubjects(degradation('accuracy', 'warning', 1), {})).toEqual([{ key: 'degradation/feature/accuracy', participants: [], message: 'accuracy regressed' }]);
  });
});

describe('AlertBook', () => {
  it('opens an alert at minSeverity or above, and ignores findings below it', () => {
    const book = new AlertBook();
    expect(events(book, findings(1, [forest('p1', 'info', 1), forest('p2', 'warning', 1)]))).toEqual([
      ['opened', 'isolation-forest/participant/p2', 'warning'],
    ]);
    const [alert] = book.open();
    expect(alert).toMatchObject({
      id: 'isolation-forest/participant/p2@1',
      status: 'firing',
      unit: 'p2',
      participants: ['p2'],
      feature: 'norm',
      score: 0.7,
      firstRound: 1,
      lastRound: 1,
      occurrences: 1,
      openedAt: 1000,
    });
    const infoToo = new AlertBook(rules({ minSeverity: 'info' }));
    expect(events(infoToo, findings(1, [forest('p1', 'info', 1)]))).toEqual([['opened', 'isolation-forest/participant/p1', 'info']]);
  });

  it('de-duplicates repeats into updates, and escalates one level after escalateAfterRepeats repeats', () => {
    const book = new AlertBook(rules({ escalateAfterRepeats: 2, resolveAfterCleanRounds: 10 }));
    expect(events(book, findings(1, [forest('p1', 'warning', 1)]))).toEqual([['opened', 'isolation-forest/participant/p1', 'warning']]);
    expect(events(book, findings(2, [forest('p1', 'warning', 2, 'cosineToAggregate', 0.65)]))).toEqual([['updated', 'isolation-forest/participant/p1', 'warning']]);
    expect(book.open()[0]).toMatchObject({ occurrences: 2, lastRound: 2, feature: 'cosineToAggregate', score: 0.65, updatedAt: 2000, openedAt: 1000 });
    // A clean round between repeats does not reset the count of repeats, only the clean streak.
    expect(events(book, findings(3, []))).toEqual([]);
    const [escalated] = book.observe(findings(4, [forest('p1', 'warning', 4)]));
    expect(escalated).toMatchObject({ event: 'escalated', previousSeverity: 'warning', escalation: 'repeats', round: 4 });
    expect(escalated?.alert).toMatchObject({ severity: 'critical', occurrences: 3, cleanRounds: 0, id: 'isolation-forest/participant/p1@1' });
    // Critical is the top: further repeats are updates.
    expect(events(book, findings(5, [forest('p1', 'warning', 5)]))).toEqual([['updated', 'isolation-forest/participant/p1', 'critical']]);
    expect(events(book, findings(6, [forest('p1', 'warning', 6)]))).toEqual([['updated', 'isolation-forest/participant/p1', 'critical']]);
  });

  it('escalates at once when the detector reports a higher severity, and never lowers one', () => {
    const book = new AlertBook(rules({ escalateAfterRepeats: 0 }));
    book.observe(findings(1, [forest('p1', 'warning', 1)]));
    const [t] = book.observe(findings(2, [forest('p1', 'critical', 2)]));
    expect(t).toMatchObject({ event: 'escalated', escalation: 'detector', previousSeverity: 'warning' });
    expect(events(book, findings(3, [forest('p1', 'warning', 3)]))).toEqual([['updated', 'isolation-forest/participant/p1', 'critical']]);
    // escalateAfterRepeats 0: repeats never escalate.
    const flat = new AlertBook(rules({ escalateAfterRepeats: 0 }));
    for (let r = 1; r <= 6; r++) flat.observe(findings(r, [forest('p1', 'warning', r)]));
    expect(flat.open()[0]).toMatchObject({ severity: 'warning', occurrences: 6 });
  });

  it('takes the most severe finding of a key in a round as one occurrence', () => {
    const book = new AlertBook();
    const [t, ...rest] = book.observe(findings(1, [forest('p1', 'warning', 1, 'norm', 0.9), forest('p1', 'critical', 1, 'meanLoss', Infinity)]));
    expect(rest).toEqual([]);
    expect(t?.alert).toMatchObject({ severity: 'critical', feature: 'meanLoss', score: null, occurrences: 1 });
  });

  it('resolves after resolveAfterCleanRounds clean rounds; a repeat restarts the streak; skipped rounds do not count', () => {
    const book = new AlertBook(rules({ resolveAfterCleanRounds: 2 }));
    book.observe(findings(1, [forest('p1', 'warning', 1), degradation('accuracy', 'warning', 1)]));
    expect(events(book, findings(2, [degradation('accuracy', 'warning', 2)]))).toEqual([['updated', 'degradation/feature/accuracy', 'warning']]);
    expect(book.open().map((a) => [a.key, a.cleanRounds])).toEqual([
      ['degradation/feature/accuracy', 0],
      ['isolation-forest/participant/p1', 1],
    ]);
    // The forest skipped round 3 (too little history): p1's streak stays at 1; the accuracy alert gets its first clean round.
    expect(events(book, findings(3, [], { skipped: new Set(['isolation-forest']) }))).toEqual([]);
    expect(book.open().map((a) => a.cleanRounds)).toEqual([1, 1]);
    const resolved = book.observe(findings(4, []));
    expect(resolved.map((t) => [t.event, t.alert.key, t.alert.resolution, t.alert.resolvedRound])).toEqual([
      ['resolved', 'degradation/feature/accuracy', 'clean-rounds', 4],
      ['resolved', 'isolation-forest/participant/p1', 'clean-rounds', 4],
    ]);
    expect(resolved[0]?.alert).toMatchObject({ status: 'resolved', resolvedAt: 4000, lastRound: 2 });
    expect(book.open()).toEqual([]);
    // The key fires again later: a new alert, with a new id.
    const [again] = book.observe(findings(6, [forest('p1', 'warning', 6)]));
    expect(again).toMatchObject({ event: 'opened', alert: { id: 'isolation-forest/participant/p1@6', occurrences: 1 } });
  });

  it('resolves a unit-level alert once its participants are excluded or gone; round-level alerts stay', () => {
    const book = new AlertBook();
    book.observe(findings(1, [forest('p1', 'warning', 1), forest('p2', 'warning', 1), degradation('accuracy', 'critical', 1)]));
    const t = book.observe(findings(2, [forest('p2', 'warning', 2)], { excluded: new Set(['p1', 'p2']) }));
    expect(t.map((x) => [x.event, x.alert.key, x.alert.resolution ?? null])).toEqual([
      ['resolved', 'isolation-forest/participant/p1', 'excluded'],
      ['updated', 'isolation-forest/participant/p2', null],
      ['resolved', 'isolation-forest/participant/p2', 'excluded'],
    ]);
    expect(book.open().map((a) => a.key)).toEqual(['degradation/feature/accuracy']);
    // Alerted and excluded in the same round: opened and resolved in it. A participant no longer enrolled: 'removed'.
    const out = book.observe(findings(3, [forest('p3', 'critical', 3)], { excluded: new Set(['p3']) }));
    expect(out.map((x) => [x.event, x.alert.resolution ?? null])).toEqual([
      ['opened', null],
      ['resolved', 'excluded'],
    ]);
    book.observe(findings(4, [forest('p1', 'warning', 4)]));
    expect(book.observe(findings(5, [], { removed: new Set(['p1']) })).map((x) => x.alert.resolution)).toEqual(['removed']);
  });

  it("resolves each secure group member's alert when that member is out", () => {
    const members = { 'group-0': ['a', 'b', 'c'] };
    const book = new AlertBook();
    expect(events(book, findings(1, [forest('group-0', 'warning', 1)], { unitMembers: members }))).toEqual([
      ['opened', 'isolation-forest/participant/a', 'warning'],
      ['opened', 'isolation-forest/participant/b', 'warning'],
      ['opened', 'isolation-forest/participant/c', 'warning'],
    ]);
    expect(book.observe(findings(2, [], { excluded: new Set(['a', 'b']) })).map((x) => [x.alert.key, x.alert.resolution])).toEqual([
      ['isolation-forest/participant/a', 'excluded'],
      ['isolation-forest/participant/b', 'excluded'],
    ]);
    expect(book.observe(findings(3, [], { removed: new Set(['c']) })).map((x) => [x.alert.key, x.alert.resolution])).toEqual([['isolation-forest/participant/c', 'removed']]);
  });

  it('counts a clean round only when the participant took part: one absent for many rounds keeps its alert', () => {
    const book = new AlertBook(rules({ resolveAfterCleanRounds: 3 }));
    book.observe(findings(1, [forest('p1', 'warning', 1)]));
    // Not selected, or disconnected: p1 is in no unit of rounds 2–5, in which the forest judged the others.
    const without = { p2: ['p2'], p3: ['p3'] };
    for (let r = 2; r <= 5; r++) expect(book.observe(findings(r, [], { unitMembers: without }))).toEqual([]);
    expect(book.open()[0]).toMatchObject({ key: 'isolation-forest/participant/p1', cleanRounds: 0 });
    // In a unit the forest never scored (a secure group refused before review): still no clean round.
    expect(book.observe(findings(6, [], { judged: new Set(['p2', 'p3']) }))).toEqual([]);
    expect(book.open()[0]?.cleanRounds).toBe(0);
    // Back, and judged clean three times: resolved.
    expect(events(book, findings(7, []))).toEqual([]);
    expect(events(book, findings(8, [], { unitMembers: without }))).toEqual([]);
    expect(events(book, findings(9, []))).toEqual([]);
    expect(book.observe(findings(10, [])).map((t) => [t.event, t.alert.resolution, t.alert.cleanRounds])).toEqual([['resolved', 'clean-rounds', 3]]);
  });

  it('resolves an alert stored with a group key once all its members took part cleanly', () => {
    const legacy = new AlertBook();
    legacy.observe(findings(1, [forest('p1', 'warning', 1)]));
    const [stored] = legacy.open();
    const group = { ...stored!, id: 'isolation-forest/group/p1+p2@1', key: 'isolation-forest/group/p1+p2', participants: ['p1', 'p2'] };
    const book = new AlertBook(rules({ resolveAfterCleanRounds: 1 }), { lastRound: 1, open: [group] });
    // p2 absent: not clean. p1 flagged (in a group of its own now): not clean for the old group key either.
    expect(events(book, findings(2, [], { unitMembers: { p1: ['p1'] } }))).toEqual([]);
    expect(events(book, findings(3, [forest('p1', 'warning', 3)]))).toEqual([['opened', 'isolation-forest/participant/p1', 'warning']]);
    expect(events(book, findings(4, []))).toEqual([
      ['resolved', 'isolation-forest/group/p1+p2', 'warning'],
      ['resolved', 'isolation-forest/participant/p1', 'warning'],
    ]);
  });

  it('follows the members across re-partitioned secure groups: the attacker escalates, honest members resolve once', () => {
    const book = new AlertBook(rules({ resolveAfterCleanRounds: 3, escalateAfterRepeats: 3 }));
    const round = (r: number, flagged: string[], other: string[], extra: Partial<RoundFindings> = {}) =>
      events(book, findings(r, flagged.length > 0 ? [forest('group-0', 'warning', r)] : [], { unitMembers: { 'group-0': flagged, 'group-1': other }, ...extra }));
    const k = (p: string) => `isolation-forest/participant/${p}`;
    // The partition changes every round; x is in the flagged group each time.
    expect(round(1, ['x', 'a', 'b'], ['c', 'd', 'e'])).toEqual([
      ['opened', k('a'), 'warning'],
      ['opened', k('b'), 'warning'],
      ['opened', k('x'), 'warning'],
    ]);
    expect(round(2, ['c', 'x', 'd'], ['a', 'b', 'e'])).toEqual([
      ['opened', k('c'), 'warning'],
      ['opened', k('d'), 'warning'],
      ['updated', k('x'), 'warning'],
    ]);
    expect(round(3, ['e', 'a', 'x'], ['b', 'c', 'd'])).toEqual([
      ['updated', k('a'), 'warning'],
      ['opened', k('e'), 'warning'],
      ['updated', k('x'), 'warning'],
    ]);
    expect(round(4, ['x', 'b', 'c'], ['a', 'd', 'e'])).toEqual([
      ['updated', k('b'), 'warning'],
      ['updated', k('c'), 'warning'],
      ['escalated', k('x'), 'critical'],
    ]);
    const [x] = book.open().filter((a) => a.key === k('x'));
    expect(x).toMatchObject({ id: `${k('x')}@1`, occurrences: 4, unit: 'group-0', participants: ['x'], message: 'secure group group-0 (b, c, x): unit group-0 stands out' });
    // x excluded; the honest members resolve after three rounds they took part in without a finding.
    expect(round(5, [], ['a', 'b', 'c', 'd', 'e'], { excluded: new Set(['x']) })).toEqual([
      ['resolved', k('d'), 'warning'],
      ['resolved', k('x'), 'critical'],
    ]);
    expect(round(6, [], ['a', 'b', 'c', 'd', 'e'])).toEqual([
      ['resolved', k('a'), 'warning'],
      ['resolved', k('e'), 'warning'],
    ]);
    expect(round(7, [], ['a', 'b', 'c', 'd', 'e'])).toEqual([
      ['resolved', k('b'), 'warning'],
      ['resolved', k('c'), 'warning'],
    ]);
    expect(book.open()).toEqual([]);
  });

  it('keeps to resolveOnExclusion: false', () => {
    const book = new AlertBook(rules({ resolveOnExclusion: false }));
    book.observe(findings(1, [forest('p1', 'warning', 1)]));
    expect(book.observe(findings(2, [], { excluded: new Set(['p1']) }))).toEqual([]);
  });

  it('observes each round once, and continues from its state', () => {
    const book = new AlertBook();
    book.observe(findings(3, [forest('p1', 'warning', 3)]));
    expect(book.observe(findings(3, [forest('p2', 'warning', 3)]))).toEqual([]);
    expect(book.observe(findings(2, [forest('p2', 'warning', 2)]))).toEqual([]);
    const restored = new AlertBook(ALERT_RULE_DEFAULTS, JSON.parse(JSON.stringify(book.state())));
    expect(restored.lastRound).toBe(3);
    expect(restored.open()).toEqual(book.open());
    expect(events(restored, findings(4, [forest('p1', 'warning', 4)]))).toEqual([['updated', 'isolation-forest/participant/p1', 'warning']]);
  });

  it('validates its rules and state', () => {
    expect(() => new AlertBook(rules({ resolveAfterCleanRounds: 0 }))).toThrow(/resolveAfterCleanRounds/);
    expect(() => new AlertBook(rules({ escalateAfterRepeats: -1 }))).toThrow(/escalateAfterRepeats/);
    expect(() => new AlertBook(rules({ minSeverity: 'loud' as AlertSeverity }))).toThrow(/minSeverity/);
    const book = new AlertBook();
    book.observe(findings(1, [forest('p1', 'warning', 1)]));
    const open = book.open();
    expect(() => new AlertBook(ALERT_RULE_DEFAULTS, { lastRound: 1, open: [...open, ...open] })).toThrow(/two open alerts/);
    expect(() => book.observe(findings(0, []))).toThrow(/round 0/);
  });
});
