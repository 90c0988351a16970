/**
 * Round-level degradation detection: regressions of the federation as a whole, which unit-level detectors
 * cannot see (an attack that slips past the filters shows up here first). Compares the current round with
 * the previous `windowRounds` rounds (by round number, so aborted rounds without metrics leave gaps):
 *
 *   accuracy  drop = max(accuracy over the window) − accuracy  > accuracyDrop (default 0.05, absolute)
 *             → warning; ≥ 2 × accuracyDrop → critical. Score: the drop.
 *   meanLoss  increase = meanLoss / median(meanLoss over the window) − 1  > lossIncrease (default 0.5, i.e.
 *             50 %) → warning; ≥ 2 × lossIncrease → critical. Score: the relative increase. A non-finite
 *             loss is critical at once (diverged training); a window median ≤ 0 disables the ratio.
 *   dropout   dropoutRate > dropoutRate (default 0.5) → warning; ≥ criticalDropoutRate (default 0.8) →
 *             critical. Score: the rate. No history needed.
 *
 * The best-of-window baseline for accuracy catches a slow slide as well as a sudden fall; the median baseline
 * for loss ignores one noisy round. Accuracy and loss are optional (rounds without an evaluation); a metric
 * with no values in the window is not judged. Pure.
 */
import type { Alert, AlertSeverity } from './alert.ts';
import { median } from './robust-stats.ts';

export interface RoundMetrics {
  readonly round: number;
  /** Global-model accuracy in [0, 1] after the round, if evaluated. */
  readonly accuracy?: number;
  /** Mean reported training loss of the round, if any unit reported. */
  readonly meanLoss?: number;
  /** Fraction of selected participants that did not contribute, in [0, 1]. */
  readonly dropoutRate: number;
}

export interface DegradationOptions {
  readonly windowRounds?: number;
  readonly accuracyDrop?: number;
  readonly lossIncrease?: number;
  readonly dropoutRate?: number;
  readonly criticalDropoutRate?: number;
}

const DEFAULTS: Required<DegradationOptions> = {
  windowRounds: 10,
  accuracyDrop: 0.05,
  lossIncrease: 0.5,
  dropoutRate: 0.5,
  criticalDropoutRate: 0.8,
};

export const DEGRADATION = 'degradation';

function resolve(options: DegradationOptions): Required<DegradationOptions> {
  const o = { ...DEFAULTS, ...options };
  if (!Number.isSafeInteger(o.windowRounds) || o.windowRounds < 1) throw new RangeError(`degradation: windowRounds must be an integer ≥ 1, got ${o.windowRounds}`);
  if (!(o.accuracyDrop > 0 && o.accuracyDrop <= 1)) throw new RangeError(`degradation: accuracyDrop must be in (0, 1], got ${o.accuracyDrop}`);
  if (!(o.lossIncrease > 0 && Number.isFinite(o.lossIncrease))) throw new RangeError(`degradation: lossIncrease must be positive, got ${o.lossIncrease}`);
  if (!(o.dropoutRate >= 0 && o.dropoutRate <= o.criticalDropoutRate && o.criticalDropoutRate <= 1)) {
    throw new RangeError(`degradation: need 0 ≤ dropoutRate ≤ criticalDropoutRate ≤ 1, got ${o.dropoutRate}, ${o.criticalDropoutRate}`);
  }
  return o;
}

/** Rounding slack, so that a drop of exactly Δ (0.90 − 0.85 = 0.0500…04 in floating point) is not "more than Δ". */
const TOLERANCE = 1e-9;

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Alerts for round `current` against the rounds of `history` within the window before it. */
export function detectDegradation(history: readonly RoundMetrics[], current: RoundMetrics, options: DegradationOptions = {}): Alert[] {
  const o = resolve(options);
  if (!(current.dropoutRate >= 0 && current.dropoutRate <= 1)) {
    throw new RangeError(`detectDegradation: dropoutRate must be in [0, 1], got ${current.dropoutRate}`);
  }
  const window = history.filter((m) => m.round < current.round && m.round >= current.round - o.windowRounds);
  const alerts: Alert[] = [];
  const alert = (severity: AlertSeverity, feature: string, score: number, message: string) =>
    alerts.push({ detector: DEGRADATION, severity, round: current.round, feature, score, message });

  const accuracies = window.map((m) => m.accuracy).filter((a): a is number => a !== undefined && Number.isFinite(a));
  if (current.accuracy !== undefined && accuracies.length > 0) {
    const best = Math.max(...accuracies);
    const drop = best - current.accuracy;
    if (drop > o.accuracyDrop + TOLERANCE) {
      alert(drop >= 2 * o.accuracyDrop ? 'critical' : 'warning', 'accuracy', drop,
        `accuracy ${pct(current.accuracy)} is ${pct(drop)} below the best of the last ${o.windowRounds} rounds (${pct(best)})`);
    }
  }

  if (current.meanLoss !== undefined) {
    if (!Number.isFinite(current.meanLoss)) {
      alert('critical', 'meanLoss', Number.POSITIVE_INFINITY, `mean training loss is ${current.meanLoss}`);
    } else {
      const base = median(window.map((m) => m.meanLoss).filter((l): l is number => l !== undefined));
      if (base > 0) {
        const increase = current.meanLoss / base - 1;
        if (increase > o.lossIncrease + TOLERANCE) {
          alert(increase >= 2 * o.lossIncrease ? 'critical' : 'warning', 'meanLoss', increase,
            `mean training loss ${current.meanLoss.toPrecision(4)} is ${pct(increase)} above the median of the last ${o.windowRounds} rounds (${base.toPrecision(4)})`);
        }
      }
    }
  }

  if (current.dropoutRate > o.dropoutRate) {
    alert(current.dropoutRate >= o.criticalDropoutRate ? 'critical' : 'warning', 'dropoutRate', current.dropoutRate,
      `${pct(current.dropoutRate)} of the selected participants dropped out (threshold ${pct(o.dropoutRate)})`);
  }
  return alerts;
}

/** Keeps the recent rounds' metrics for detectDegradation. */
export class DegradationDetector {
  private readonly options: Required<DegradationOptions>;
  private history: RoundMetrics[] = [];

  constructor(options: DegradationOptions = {}) {
    this.options = resolve(options);
  }

  observe(metrics: RoundMetrics): Alert[] {
    const alerts = detectDegradation(this.history, metrics, this.options);
    this.history.push(metrics);
    this.history = this.history.filter((m) => m.round > metrics.round - this.options.windowRounds);
    return alerts;
  }
}
