/**
 * Isolation-forest alert rates of a simulated federation: the share of unit-rounds alerted at warning or
 * above, for units holding a Byzantine participant and for the others. Only rounds the forest scored count
 * (a record with `isolationSkipped` is left out): round 1 has no history and is never scored, and counting
 * its unit-rounds would dilute the rate of attackers that reputation excludes after the first rounds. The
 * counts of scored unit-rounds come along, so that a report can say "x of y". Pure.
 */
import type { RoundRecord } from '@fedwarden/coordinator';

export interface AlertRates {
  /** Alerted share of the Byzantine units' scored unit-rounds; null when there were none. */
  readonly byzantine: number | null;
  readonly honest: number | null;
  /** Scored unit-rounds of units holding a Byzantine participant, and of the others. */
  readonly byzantineUnits: number;
  readonly honestUnits: number;
}

type Scored = Pick<RoundRecord, 'alerts' | 'unitMembers' | 'isolationSkipped'>;

export function alertRates(records: readonly Scored[], byzantine: ReadonlySet<string>): AlertRates {
  let byzantineUnits = 0;
  let byzantineAlerts = 0;
  let honestUnits = 0;
  let honestAlerts = 0;
  for (const r of records) {
    if (r.isolationSkipped !== undefined) continue;
    const alerted = new Set(r.alerts.filter((a) => a.detector === 'isolation-forest' && a.severity !== 'info' && a.unit).map((a) => a.unit as string));
    for (const [unit, members] of Object.entries(r.unitMembers)) {
      if (members.some((m) => byzantine.has(m))) {
        byzantineUnits++;
        if (alerted.has(unit)) byzantineAlerts++;
      } else {
        honestUnits++;
        if (alerted.has(unit)) honestAlerts++;
      }
    }
  }
  return {
    byzantine: byzantineUnits > 0 ? round4(byzantineAlerts / byzantineUnits) : null,
    honest: honestUnits > 0 ? round4(honestAlerts / honestUnits) : null,
    byzantineUnits,
    honestUnits,
  };
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
