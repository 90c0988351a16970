/**
 * An alert: one finding of an anomaly detector about one round, and possibly one aggregation unit. Alerts are
 * logged, counted in metrics, shown on the dashboard and recorded with the round (DESIGN.md, "Anomaly
 * detectors"); detectors only produce them and never act on them (the defences turn reliable isolation-forest
 * alerts into doubt evidence: anomaly-doubt.ts).
 *
 * Severity:
 *   info      weak evidence, worth recording, not worth a look on its own (e.g. a unit unusual only jointly).
 *   warning   a clear deviation from recent history that an operator should look at.
 *   critical  a deviation that is large by every measure, or a value that should never occur (NaN loss).
 */

export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface Alert {
  /** Detector name, e.g. "isolation-forest", "degradation". */
  readonly detector: string;
  readonly severity: AlertSeverity;
  readonly round: number;
  /** The aggregation unit the alert is about (a participant in trusted mode, a secure group in secagg mode). */
  readonly unit?: string;
  /** The feature or metric that stood out, e.g. "norm", "accuracy". */
  readonly feature?: string;
  /** The detector's score (its meaning is the detector's: an isolation score, an accuracy drop…). */
  readonly score: number;
  /** One line for logs and the dashboard. */
  readonly message: string;
}
