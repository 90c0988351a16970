import { describe, expect, it } from 'vitest';
import type { RoundRecord } from '@fedwarden/coordinator';
import { alertRates } from './alert-rates.ts';

type Scored = Pick<RoundRecord, 'alerts' | 'unitMembers' | 'isolationSkipped'>;

const alert = (unit: string, severity: 'info' | 'warning' | 'critical', detector = 'isolation-forest') => ({
  detector,
  severity,
  round: 1,
  unit,
  score: 0.7,
  message: '',
});

describe('alertRates', () => {
  it('counts only rounds the forest scored, alerts at warning or above, per unit holding a Byzantine member', () => {
    const records: Scored[] = [
      // Skipped (no history): its units and its (impossible here, but recorded) alert do not count.
      { unitMembers: { a: ['a'], b: ['b'], x: ['x'] }, alerts: [alert('x', 'critical')], isolationSkipped: 'history has 0 rows, needs 20' },
      { unitMembers: { a: ['a'], b: ['b'], x: ['x'] }, alerts: [alert('x', 'warning'), alert('a', 'info')] },
      // x excluded by reputation; a secure group holding y counts as Byzantine.
      { unitMembers: { a: ['a'], g: ['b', 'y'] }, alerts: [alert('a', 'critical'), alert('g', 'warning', 'degradation')] },
    ];
    expect(alertRates(records, new Set(['x', 'y']))).toEqual({ byzantine: 0.5, honest: 0.3333, byzantineUnits: 2, honestUnits: 3 });
  });

  it('gives null rates when no round was scored', () => {
    const skipped: Scored = { unitMembers: { a: ['a'] }, alerts: [], isolationSkipped: 'not reviewed: quorum not met' };
    expect(alertRates([skipped], new Set(['a']))).toEqual({ byzantine: null, honest: null, byzantineUnits: 0, honestUnits: 0 });
  });
});
