import { describe, expect, it } from 'vitest';
import { createRng } from '@fedwarden/shared';
import { IsolationForestDetector, scoreUnits, type FeatureRow } from './isolation-forest-detector.ts';
import { ordinaryFeatures } from './ordinary-rows.ts';
import { computeUnitFeatures, type UnitFeature } from './unit-features.ts';

// The forest is a function of the rows and the seed, so these tests replay exactly; still, every assertion keeps a
// margin, measured over 100 runs of these exact rows (seed 7, 200 trees, splits drawn unseeded) and written beside
// it, so that none hangs on one draw of the splits. Histories here have at most 100 rows, under ψ = 256, so every
// tree is fitted on the whole history, except in the 100-units-a-round case. Ordinary units scored up to 0.60 (the
// threshold; an ordinary unit that reaches it alerts at info level: a warning also needs a feature beyond 3.5 robust
// standard deviations, which none has), so tests assert that no ordinary unit is alerted at warning or above rather
// than that none reaches 0.6. Severity is asserted as "not info" because the critical threshold (0.7) sits within
// the outliers' run-to-run spread.

type Features = Record<UnitFeature, number>;

const SEED = 7;

/** Ordinary units: every feature Gaussian around a typical value, from a fixed seed. */
function ordinaryRows(seed: number) {
  const rng = createRng(seed);
  return (round: number, units = 10): FeatureRow[] =>
    Array.from({ length: units }, (_, i) => ({ id: `u${i}`, features: ordinaryFeatures(rng) }));
}

const TYPICAL: Features = { norm: 1, cosineToAggregate: 0.8, cosineToPrevious: 0.5, nearestCosine: 0.6, meanLoss: 0.5, trainMs: 1000, numSamples: 500 };

function withUnit(rows: FeatureRow[], id: string, features: Partial<Features>): FeatureRow[] {
  return rows.map((r) => (r.id === id ? { id, features: { ...TYPICAL, ...features } } : r));
}

describe('IsolationForestDetector', () => {
  it('flags a unit with 20× the norm and cosine −1, names the norm, and leaves ordinary units alone', () => {
    const rows = ordinaryRows(SEED);
    const detector = new IsolationForestDetector();
    for (let round = 1; round <= 10; round++) {
      const report = detector.observe(round, rows(round), round);
      expect(report.alerts.filter((a) => a.severity !== 'info')).toEqual([]);
    }
    const report = detector.observe(11, withUnit(rows(11), 'u9', { norm: 20, cosineToAggregate: -1 }), 11);

    // Measured: the outlier 0.68–0.76, the others at most 0.59.
    const outlier = report.scores.find((s) => s.id === 'u9');
    expect(outlier?.score).toBeGreaterThan(0.64);
    for (const s of report.scores) if (s.id !== 'u9') expect(s.score).toBeLessThan(0.62);
    const serious = report.alerts.filter((a) => a.severity !== 'info');
    expect(serious).toHaveLength(1);
    const [alert] = serious;
    expect(alert).toMatchObject({ detector: 'isolation-forest', round: 11, unit: 'u9', feature: 'norm' });
    expect(alert?.severity).not.toBe('info');
    // norm: (20 − median ≈ 1)/(robust σ ≈ 0.093 over the history's rows) = +205 standard deviations, far more
    // than the cosine's ≈ −36. The current round's rows are not in the history: 10 rounds of 10.
    expect(alert?.message).toMatch(/^unit u9: isolation score 0\.\d{3} ≥ 0\.6; most unusual norm = 20 \(robust z \+204\.6 against 100 rows\)$/);
  });

  it('names the cosine when it is what stands out most', () => {
    const rows = ordinaryRows(SEED);
    const detector = new IsolationForestDetector();
    for (let round = 1; round <= 5; round++) detector.observe(round, rows(round), round);
    // cosine −1: z ≈ (−1 − 0.8)/0.05 = −36; norm 2.5: z ≈ (2.5 − 1)/0.1 = +15; loss 0.9: z ≈ +8.
    const report = detector.observe(6, withUnit(rows(6), 'u3', { cosineToAggregate: -1, norm: 2.5, meanLoss: 0.9 }), 6);
    expect(report.alerts.map((a) => a.unit)).toEqual(['u3']);
    const [alert] = report.alerts;
    expect(alert?.feature).toBe('cosineToAggregate');
    expect(alert?.severity).not.toBe('info');
    expect(report.scores.find((s) => s.id === 'u3')?.z).toBeLessThan(-20);
  });

  it('stays silent while the history holds fewer than max(minRows, units this round) rows, and says why', () => {
    const rows = ordinaryRows(SEED);
    const detector = new IsolationForestDetector();
    const first = detector.observe(1, withUnit(rows(1), 'u0', { norm: 50 }), 1);
    expect(first).toMatchObject({ alerts: [], scores: [], skipped: 'history has 0 rows, needs 20', historyRows: 0, historyRounds: 0 });
    expect(first.remembered).toHaveLength(10); // every row counts as kept here; they joined the history
    // Five secure groups a round: rounds 1–4 are skipped (0, 5, 10, 15 rows < 20), round 5 runs.
    const groups = new IsolationForestDetector();
    const skipped = [1, 2, 3, 4, 5].map((round) => groups.observe(round, rows(round, 5), round).skipped);
    expect(skipped).toEqual(['history has 0 rows, needs 20', 'history has 5 rows, needs 20', 'history has 10 rows, needs 20', 'history has 15 rows, needs 20', undefined]);
    // 50 units a round: a round is judged against no less than a round's worth of rows. Round 1 kept 40.
    const large = new IsolationForestDetector();
    const first50 = rows(1, 50);
    large.observe(1, first50, 1, new Set(first50.slice(0, 40).map((r) => r.id)));
    expect(large.observe(2, rows(2, 50), 2).skipped).toBe('history has 40 rows, needs 50');
    expect(large.observe(3, rows(3, 50), 3).skipped).toBeUndefined();
  });

  it('reports the rows that joined its history, from which a restarted detector scores as the first one does', () => {
    const rows = ordinaryRows(SEED);
    const detector = new IsolationForestDetector({ windowRounds: 3 });
    const remembered = [1, 2, 3, 4].map((round) => {
      const report = detector.observe(round, round >= 3 ? withUnit(rows(round), 'u9', { norm: 20, cosineToAggregate: -1 }) : rows(round), round);
      return report.remembered;
    });
    // Round 3, the first scored, is u9's first as an outlier: alerted at warning or above, it stays out of the history.
    expect(remembered.map((r) => r.some((row) => row.id === 'u9'))).toEqual([true, true, false, false]);
    const restarted = new IsolationForestDetector({ windowRounds: 3 });
    restarted.restore(remembered);
    expect(restarted.historyRounds).toBe(3);
    expect(restarted.historyRows).toBe(detector.historyRows);
    const next = withUnit(rows(5), 'u9', { norm: 20, cosineToAggregate: -1 });
    const a = detector.observe(5, next, 5);
    const b = restarted.observe(5, next, 5);
    expect(b).toEqual(a);
    expect(a).toMatchObject({ historyRounds: 3, historyRows: 28 });
    expect(a.alerts.map((x) => x.unit)).toEqual(['u9']);
  });

  it('keeps flagging a persistent attacker: its rows stay out of the history', () => {
    // Were the attacker's rows kept, by round 11 five earlier copies of it would sit in the history and its
    // score would fall to 0.47–0.50 (masking); left out, it scores 0.66–0.76 every round.
    const rows = ordinaryRows(SEED);
    const detector = new IsolationForestDetector();
    for (let round = 1; round <= 5; round++) detector.observe(round, rows(round), round);
    for (let round = 6; round <= 11; round++) {
      const report = detector.observe(round, withUnit(rows(round), 'u9', { norm: 20 + (round % 3), cosineToAggregate: -1 }), round);
      expect(report.alerts.map((a) => a.unit)).toEqual(['u9']);
      expect(report.alerts[0]?.severity).not.toBe('info');
      expect(report.scores.find((s) => s.id === 'u9')?.score).toBeGreaterThan(0.62);
    }
  });

  it('raises a critical alert for a non-finite feature and keeps that row out of the forest', () => {
    const rows = ordinaryRows(SEED);
    const detector = new IsolationForestDetector();
    detector.observe(1, rows(1), 1);
    detector.observe(2, rows(2), 2);
    const report = detector.observe(3, withUnit(rows(2), 'u4', { meanLoss: Number.NaN }), 3);
    expect(report.alerts).toEqual([
      { detector: 'isolation-forest', severity: 'critical', round: 3, unit: 'u4', feature: 'meanLoss', score: 1, message: 'unit u4: meanLoss is NaN' },
    ]);
    expect(report.scores.map((s) => s.id)).not.toContain('u4');
    expect(report.scores).toHaveLength(9);
  });

  it('takes the rows computeUnitFeatures produces', () => {
    const rows: FeatureRow[] = computeUnitFeatures(
      [{ id: 'a', delta: Float32Array.of(1, 0), meanLoss: 1, trainMs: 5, numSamples: 10 }],
      Float32Array.of(1, 0),
      new Float32Array(2),
      1,
    );
    expect(new IsolationForestDetector().observe(1, rows, 1).skipped).toBe('history has 0 rows, needs 20');
  });

  it('validates its options', () => {
    expect(() => new IsolationForestDetector({ threshold: 1.2 })).toThrow(/threshold/);
    expect(() => new IsolationForestDetector({ trees: 0 })).toThrow(/trees/);
    expect(() => new IsolationForestDetector({ maxSamples: 1 })).toThrow(/maxSamples/);
    // With no history, nothing would ever be scored.
    expect(() => new IsolationForestDetector({ windowRounds: 0 })).toThrow(/windowRounds must be an integer ≥ 1/);
  });
});

describe('IsolationForestDetector against identical units in one round', () => {
  it('alerts every one of 10 zero updates arriving together (free riders): copies cannot mask one another', () => {
    // Fitted on a window holding the round's own rows (150 rows, the design before this one), the 10 identical
    // rows isolated one another slowly and none was alerted. Against the history alone they score 0.78–0.80,
    // the 40 ordinary units at most 0.60 (never at warning).
    const rows = ordinaryRows(SEED);
    const detector = new IsolationForestDetector();
    for (let round = 1; round <= 2; round++) detector.observe(round, rows(round, 50), round);
    const zero = { norm: 0, cosineToAggregate: 0, cosineToPrevious: 0, nearestCosine: 0 };
    const current = rows(3, 50).map((r, i) => (i < 10 ? { id: `free${i}`, features: { ...r.features, ...zero } } : r));
    const report = detector.observe(3, current, 3);
    const serious = report.alerts.filter((a) => a.severity !== 'info').map((a) => a.unit);
    expect(serious.filter((u) => u?.startsWith('free'))).toHaveLength(10);
    expect(serious.filter((u) => !u?.startsWith('free'))).toEqual([]);
    for (const s of report.scores) if (s.id.startsWith('free')) expect(s.score).toBeGreaterThan(0.7);
  });
});

describe('IsolationForestDetector history', () => {
  const ZERO = { norm: 0, cosineToAggregate: 0, cosineToPrevious: 0, nearestCosine: 0 };
  /** 50 units, the first 10 of them free riders (zero updates), and the ids of the other 40. */
  const withFreeRiders = (rows: ReturnType<typeof ordinaryRows>, round: number) =>
    rows(round, 50).map((r, i) => (i < 10 ? { id: `free${i}`, features: { ...r.features, ...ZERO } } : r));
  const honest = new Set(Array.from({ length: 40 }, (_, i) => `u${i + 10}`));

  it('takes in only the rows of units the strategy kept, alerted or not', () => {
    const rows = ordinaryRows(SEED);
    const detector = new IsolationForestDetector();
    // Rounds 1 and 2 are skipped (0 and 40 rows < 50): nothing is alerted, and the rejected free riders' rows
    // stay out all the same.
    expect(detector.observe(1, withFreeRiders(rows, 1), 1, honest).skipped).toBeDefined();
    expect(detector.historyRows).toBe(40);
    expect(detector.observe(2, withFreeRiders(rows, 2), 2, honest).skipped).toBeDefined();
    expect(detector.historyRows).toBe(80);
    const report = detector.observe(3, withFreeRiders(rows, 3), 3, honest);
    expect(report.alerts.filter((a) => a.severity !== 'info' && a.unit?.startsWith('free'))).toHaveLength(10);
    // Without `kept`, every row counts as kept: the free riders' rows of the skipped rounds define normal, and
    // the free riders go unnoticed (they score 0.50–0.53).
    const naive = new IsolationForestDetector();
    naive.observe(1, withFreeRiders(rows, 1), 1);
    naive.observe(2, withFreeRiders(rows, 2), 2);
    expect(naive.historyRows).toBe(100);
    const masked = naive.observe(3, withFreeRiders(rows, 3), 3);
    expect(masked.alerts.filter((a) => a.unit?.startsWith('free'))).toEqual([]);
  });

  it('takes a round in which most units were alerted as the new normal: the whole federation moved', () => {
    const rows = ordinaryRows(SEED);
    const detector = new IsolationForestDetector();
    for (let round = 1; round <= 3; round++) detector.observe(round, rows(round, 20), round);
    expect(detector.historyRows).toBe(60);
    // One outlier among 20: alerted, and left out of the history.
    const one = detector.observe(4, withUnit(rows(4, 20), 'u7', { norm: 20, cosineToAggregate: -1 }), 4);
    expect(one.alerts.filter((a) => a.severity !== 'info').map((a) => a.unit)).toEqual(['u7']);
    expect(detector.historyRows).toBe(79);
    // Every update 5× longer and every loss 0.4 lower (a learning-rate change): all 20 are alerted (in each of
    // 200 runs; with the norm alone, 8–20 were), and all 20 enter the history.
    const moved = rows(5, 20).map((r) => {
      const { norm, meanLoss } = r.features as Features;
      return { id: r.id, features: { ...r.features, norm: 5 * norm, meanLoss: meanLoss - 0.4 } };
    });
    const report = detector.observe(5, moved, 5);
    expect(report.alerts.filter((a) => a.severity !== 'info').length).toBeGreaterThan(10);
    expect(detector.historyRows).toBe(99);
  });
});

describe('IsolationForestDetector on a history larger than its subsamples (ψ = 256)', () => {
  it('flags an outlier among 100 units a round (a history of 1,000 rows) and leaves ordinary units below warning', () => {
    // Measured over 60 runs of these exact rows: the outlier scored 0.73–0.80, the other units of round 11 at
    // most 0.55; in rounds 1–10 no ordinary unit alerted at warning level in any run.
    const rows = ordinaryRows(SEED);
    const detector = new IsolationForestDetector();
    for (let round = 1; round <= 10; round++) detector.observe(round, rows(round, 100), round);
    const report = detector.observe(11, withUnit(rows(11, 100), 'u42', { norm: 20, cosineToAggregate: -1 }), 11);

    expect(report.scores).toHaveLength(100);
    expect(report.scores.find((s) => s.id === 'u42')?.score).toBeGreaterThan(0.7);
    const serious = report.alerts.filter((a) => a.severity !== 'info');
    expect(serious.map((a) => a.unit)).toEqual(['u42']);
    expect(serious[0]?.feature).toBe('norm');
    // 1,000 rows, less any ordinary unit of rounds 1–10 alerted at warning (none in 60 runs).
    const historyRows = Number(/against (\d+) rows\)$/.exec(serious[0]?.message ?? '')?.[1]);
    expect(historyRows).toBeGreaterThan(950);
    expect(historyRows).toBeLessThanOrEqual(1000);
  });

  it('draws its subsamples and splits from the seed: the same seed, the same scores; another seed, others', () => {
    const rows = ordinaryRows(SEED);
    const history = Array.from({ length: 10 }, (_, r) => rows(r + 1, 30)).flat();
    const current = rows(11, 30);
    const scores = (seed: number) => {
      const result = scoreUnits(history, current, seed);
      if (!Array.isArray(result)) throw new Error(result.skipped);
      return result.map((s) => s.score);
    };
    const random = Math.random;
    expect(scores(5)).toEqual(scores(5));
    expect(scores(6)).not.toEqual(scores(5));
    expect(Math.random).toBe(random);
  });
});

describe('scoreUnits', () => {
  it('skips when no feature varies over the history', () => {
    const same = (id: string): FeatureRow => ({ id, features: { ...TYPICAL } });
    const history = Array.from({ length: 20 }, (_, i) => same(`h${i}`));
    expect(scoreUnits(history, [same('a'), same('b')], 1)).toEqual({ skipped: 'no feature varies over the history' });
  });

  it('ignores features constant over the history and attributes to the one that varies', () => {
    // Only the norm varies: 1.00, 1.01, …, 1.19 in history; the current unit has 9.
    const history: FeatureRow[] = Array.from({ length: 20 }, (_, i) => ({ id: `h${i}`, features: { ...TYPICAL, norm: 1 + i / 100 } }));
    const scores = scoreUnits(history, [{ id: 'x', features: { ...TYPICAL, norm: 9 } }], 1);
    expect(Array.isArray(scores)).toBe(true);
    const [x] = scores as Exclude<typeof scores, { skipped: string }>;
    expect(x?.feature).toBe('norm');
    expect(x?.value).toBe(9);
    // A lone point far outside one varying feature is isolated by the first split in most trees.
    expect(x?.score).toBeGreaterThan(0.75);
  });
});
