/**
 * Which isolation-forest findings count as reputation evidence (issue 14: attackers alerted in every round were
 * kept and never flagged, since an alert changed nothing). A unit the forest finds anomalous gets 'doubted'
 * evidence, the weak negative outcome of the trusted reference's doubt (reputation/beta-reputation.ts), only
 * where the finding is reliable:
 *   - the forest scored the round against at least minHistoryRounds (3) rounds and minHistoryRows (50) rows of
 *     history: fewer rows make the scores noisy, and one or two rounds are a snapshot, not "normal";
 *   - the unit is alerted at warning or critical: an isolation score ≥ the detector's threshold (0.6) with a
 *     feature at least featureZ (3.5) robust standard deviations out. An 'info' alert (isolated, no single
 *     feature extreme: a joint anomaly, or the tail of ordinary data) is not evidence;
 *   - one of the features the coordinator measures on the update itself (unit-features.ts: norm, the cosines)
 *     is that far out. Self-reported features (loss, training time, sample count) never are evidence: an
 *     attacker reports whatever looks ordinary, so an alert on them catches only honest participants whose
 *     device or data differ, round after round (measured on the MNIST simulation before this rule: the slowest
 *     simulated devices were doubted on their training time in most rounds and excluded three times in 30);
 *   - at most half of the round's scored units are alerted: more means that the federation moved, not that
 *     those units misbehaved (the detector's own rule for its history).
 * The forest never rejects a unit: a doubt costs little score, and a rejected unit keeps its verdict. Doubts
 * add up in the beta reputation (flagged, then excluded, when they repeat), and a member doubted lately has
 * its unit rejected when the reference or the consensus doubts it too (robust-pipeline.ts, step 1b).
 * Limit: an honest participant whose updates stand out in every round (far more data than the others, so a
 * larger norm) is doubted in every round too, and excluded like an attacker would be.
 */
import type { Alert } from './alert.ts';
import { ISOLATION_FOREST, type IsolationForestReport } from './isolation-forest-detector.ts';
import { MEASURED_FEATURES } from './unit-features.ts';

export interface AnomalyDoubtOptions {
  /** Rounds of history the forest must have scored against. Default 3. */
  readonly minHistoryRounds?: number;
  /** Rows of history the forest must have scored against. Default 50. */
  readonly minHistoryRows?: number;
  /** |robust z| a measured feature needs (the detector's featureZ). Default 3.5. */
  readonly featureZ?: number;
  /** The features whose deviation is evidence. Default MEASURED_FEATURES. */
  readonly evidenceFeatures?: readonly string[];
}

export const ANOMALY_DOUBT_DEFAULTS = { minHistoryRounds: 3, minHistoryRows: 50, featureZ: 3.5 } as const;

/** Why a unit is doubted: its alert, and the measured feature furthest out (robust z against the history). */
export interface AnomalyFinding {
  readonly alert: Alert;
  readonly feature: string;
  readonly z: number;
}

export interface AnomalyDoubts {
  /** The units doubted, each with the finding behind the doubt. */
  readonly units: ReadonlyMap<string, AnomalyFinding>;
  /** Why the round's alerts gave no evidence, when the forest alerted but was not reliable. */
  readonly withheld?: string;
}

/** The units of `report` whose isolation-forest alerts are reliable evidence (see the header). Pure. */
export function anomalyDoubts(report: IsolationForestReport, options: AnomalyDoubtOptions = {}): AnomalyDoubts {
  const minRounds = options.minHistoryRounds ?? ANOMALY_DOUBT_DEFAULTS.minHistoryRounds;
  const minRows = options.minHistoryRows ?? ANOMALY_DOUBT_DEFAULTS.minHistoryRows;
  const featureZ = options.featureZ ?? ANOMALY_DOUBT_DEFAULTS.featureZ;
  const features = options.evidenceFeatures ?? MEASURED_FEATURES;
  if (!(Number.isSafeInteger(minRounds) && minRounds >= 1)) throw new RangeError(`anomalyDoubts: minHistoryRounds must be an integer ≥ 1, got ${minRounds}`);
  if (!(Number.isSafeInteger(minRows) && minRows >= 1)) throw new RangeError(`anomalyDoubts: minHistoryRows must be an integer ≥ 1, got ${minRows}`);
  if (!(featureZ >= 0)) throw new RangeError(`anomalyDoubts: featureZ must be ≥ 0, got ${featureZ}`);
  const scores = new Map(report.scores.map((s) => [s.id, s]));
  const alerted = new Map<string, Alert>();
  for (const a of report.alerts) {
    if (a.detector === ISOLATION_FOREST && a.severity !== 'info' && a.unit !== undefined && scores.has(a.unit)) alerted.set(a.unit, a);
  }
  if (alerted.size === 0) return { units: new Map() };
  if (report.historyRounds < minRounds || report.historyRows < minRows) {
    return { units: new Map(), withheld: `history of ${report.historyRounds} rounds, ${report.historyRows} rows; evidence needs ${minRounds} and ${minRows}` };
  }
  if (alerted.size * 2 > scores.size) return { units: new Map(), withheld: `${alerted.size} of ${scores.size} units alerted: the federation moved` };
  const measured = new Map<string, AnomalyFinding>();
  for (const [id, alert] of alerted) {
    const zs = scores.get(id)?.zs ?? {};
    let best: AnomalyFinding | undefined;
    for (const feature of features) {
      const z = zs[feature] ?? 0;
      if (Math.abs(z) >= featureZ && Math.abs(z) > Math.abs(best?.z ?? 0)) best = { alert, feature, z };
    }
    if (best !== undefined) measured.set(id, best);
  }
  return measured.size === 0 ? { units: measured, withheld: 'alerted on self-reported features only' } : { units: measured };
}
