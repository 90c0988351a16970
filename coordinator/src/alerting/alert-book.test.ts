import { describe, expect, it } from 'vitest';
import type { Alert, AlertSeverity } from '../anomaly/alert.ts';
import { ALERT_RULE_DEFAULTS, AlertBook, alertSubject, type RoundFindings } from './alert-book.ts';
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

function findings(round: number, alerts: Alert[], extra: Partial<RoundFindings> = {}): RoundFindings {
  return { round, at: 1000 * round, alerts, skipped: new Set(), unitMembers: SOLO, excluded: new Set(), removed: new Set(), ...extra };
}

const events = (book: AlertBook, input: RoundFindings) => book.observe(input).map((t) => [t.event, t.alert.key, t.alert.severity]);

const rules = (r: Partial<AlertRules>): AlertRules => ({ ...ALERT_RULE_DEFAULTS, ...r });

describe('alertSubject', () => {
  it('keys a participant, a secure group by its members, and a round-level finding by its feature', () => {
    expect(alertSubject(forest('p1', 'warning', 1), SOLO)).toEqual({ key: 'isolation-forest/participant/p1', participants: ['p1'] });
    expect(alertSubject(forest('group-0', 'warning', 1), { 'group-0': ['p9', 'p2', 'p5'] })).toEqual({
      key: 'isolation-forest/group/p2+p5+p9',
      participants: ['p2', 'p5', 'p9'],
    });
    // The same id next round with other members is another subject.
    expect(alertSubject(forest('group-0', 'warning', 2), { 'group-0': ['p1', 'p3'] }).key).toBe('isolation-forest/group/p1+p3');
    expect(alertSubject(forest('u', 'warning', 1), {})).toEqual({ key: 'isolation-forest/unit/u', participants: [] });
    expect(alertSubject(degradation('accuracy', 'warning', 1), {})).toEqual({ key: 'degradation/feature/accuracy', participants: [] });
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

  it('resolves a secure group alert only when every member is out', () => {
    const members = { 'group-0': ['a', 'b', 'c'] };
    const book = new AlertBook();
    book.observe(findings(1, [forest('group-0', 'warning', 1)], { unitMembers: members }));
    expect(book.observe(findings(2, [], { excluded: new Set(['a', 'b']) }))).toEqual([]);
    expect(book.observe(findings(3, [], { excluded: new Set(['a', 'b']), removed: new Set(['c']) })).map((x) => x.alert.resolution)).toEqual(['excluded']);
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
