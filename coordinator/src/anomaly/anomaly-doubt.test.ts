import { describe, expect, it } from 'vitest';
import type { Alert, AlertSeverity } from './alert.ts';
import { anomalyDoubts } from './anomaly-doubt.ts';
import { ISOLATION_FOREST, type IsolationForestReport } from './isolation-forest-detector.ts';

const alert = (unit: string, severity: AlertSeverity, detector = ISOLATION_FOREST): Alert => ({ detector, severity, round: 5, unit, feature: 'norm', score: 0.7, message: unit });
const ids = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`);
/** Every unit's z: a norm 6 deviations out unless `zs` says otherwise. */
const ORDINARY_ZS = { norm: 6, cosineToAggregate: 1, trainMs: 0.5 };

function report(alerts: Alert[], units = 10, historyRounds = 3, historyRows = 50, zs: Record<string, Record<string, number>> = {}): IsolationForestReport {
  return {
    alerts,
    scores: ids(units).map((id) => ({ id, score: 0.5, feature: 'norm', value: 1, z: 0, zs: zs[id] ?? ORDINARY_ZS })),
    historyRows,
    historyRounds,
    remembered: [],
  };
}

describe('anomalyDoubts', () => {
  it('doubts units alerted at warning or critical by a forest with enough history, naming the measured feature', () => {
    const d = anomalyDoubts(report([alert('u1', 'warning'), alert('u2', 'critical'), alert('u3', 'info')], 10, 3, 50, { u2: { norm: 4, cosineToAggregate: -5, trainMs: 9 } }));
    expect([...d.units.keys()]).toEqual(['u1', 'u2']);
    expect(d.units.get('u2')).toMatchObject({ feature: 'cosineToAggregate', z: -5, alert: { severity: 'critical' } });
    expect(d.withheld).toBeUndefined();
  });

  it('gives no evidence for an alert on self-reported features only (training time, loss, sample count)', () => {
    const zs = { u1: { norm: 1, cosineToAggregate: -2, trainMs: 12, meanLoss: 8, numSamples: 5 }, u2: { norm: 3.49, trainMs: 9 } };
    const d = anomalyDoubts(report([alert('u1', 'critical'), alert('u2', 'warning')], 10, 3, 50, zs));
    expect(d).toEqual({ units: new Map(), withheld: 'alerted on self-reported features only' });
    expect(anomalyDoubts(report([alert('u1', 'critical')], 10, 3, 50, zs), { evidenceFeatures: ['trainMs'] }).units.size).toBe(1);
  });

  it('ignores other detectors, alerts on units it did not score (a non-finite row) and rounds without alerts', () => {
    expect(anomalyDoubts(report([alert('u1', 'critical', 'degradation'), alert('nan-unit', 'critical')])).units.size).toBe(0);
    expect(anomalyDoubts(report([]))).toEqual({ units: new Map() });
  });

  it('withholds evidence while the history is short, in rounds or in rows', () => {
    const few = anomalyDoubts(report([alert('u1', 'warning')], 10, 2, 200));
    expect(few.units.size).toBe(0);
    expect(few.withheld).toBe('history of 2 rounds, 200 rows; evidence needs 3 and 50');
    expect(anomalyDoubts(report([alert('u1', 'warning')], 10, 5, 49)).units.size).toBe(0);
    expect(anomalyDoubts(report([alert('u1', 'warning')], 10, 2, 20), { minHistoryRounds: 2, minHistoryRows: 20 }).units.size).toBe(1);
    expect(() => anomalyDoubts(report([]), { minHistoryRows: 0 })).toThrow(/minHistoryRows must be an integer ≥ 1, got 0/);
  });

  it('withholds evidence when more than half the scored units are alerted: the federation moved', () => {
    const moved = anomalyDoubts(report(ids(6).map((u) => alert(u, 'warning'))));
    expect(moved).toEqual({ units: new Map(), withheld: '6 of 10 units alerted: the federation moved' });
    expect(anomalyDoubts(report(ids(5).map((u) => alert(u, 'warning')))).units.size).toBe(5);
  });
});
