/**
 * Unit-level anomaly detection with an isolation forest (Liu, Ting, Zhou, "Isolation Forest", ICDM 2008),
 * its trees built by the `isolation-forest` package (0.0.9) through subsample-forest.ts.
 *
 * Each round a fresh forest is fitted on a sliding window, the feature rows (unit-features.ts) of the previous
 * `windowRounds` rounds plus the current round, and scores the current round's units. As in the paper, each
 * tree is fitted on its own subsample of ψ = `maxSamples` rows (256) drawn without replacement from the
 * window, with the round's seed; a window of at most ψ rows is used whole. A current unit outside a tree's
 * sample is scored by its expected path length had it been in it (subsample-forest.ts explains why). An
 * isolation score s = 2^(−E[h]/c(ψ)) is ≈ 0.5 or less for ordinary points and tends to 1 for points that
 * random axis-parallel splits isolate quickly. A unit scoring at least `threshold` raises an alert naming the feature that stood out
 * most: the largest |robust z| against the window (robust-stats.ts).
 *
 * Severity: `critical` when the score is at least `criticalThreshold` and some feature has |z| ≥ `featureZ`;
 * `warning` when the score is at least `threshold` and some feature has |z| ≥ `featureZ`; `info` when the
 * forest isolates the unit but no single feature is extreme (a joint anomaly, or the tail of normal data).
 *
 * Standardisation. Features are robust-standardised against the window, z = (x − median)/(1.4826·MAD),
 * before fitting: that gives the attribution above, and drops features that are constant over the window
 * (round 1's cosineToPrevious, equal sample counts), which would otherwise waste splits. It does not change
 * the scores otherwise: isolation-tree split points are uniform between a node's minimum and maximum, so the
 * forest is invariant to any per-feature affine rescaling.
 *
 * The first rounds. With fewer than max(`minRows`, 2 × units this round) rows in the window (round 1 always;
 * with 5 secure groups, rounds 1–3), the detector stays silent and says why (`skipped`): scores from a handful
 * of points are mostly noise, and a round alone cannot say what is normal for the federation.
 *
 * History. Rows of units alerted at warning or above are left out of the history, so that a persistent
 * attacker does not become "normal" (masking), unless more than half the round was alerted: then the whole
 * federation moved (a learning-rate change, convergence) and the round becomes the new normal. Rows with a
 * non-finite feature raise a critical alert of their own and never enter the window.
 *
 * Limits, measured on rows of 6 independent Gaussian features (as in the tests), 200 trees, 10 rounds of
 * history, with 10, 100 and 1,000 units a round (windows of 110 rows, fitted whole, and of 1,100 and 11,000
 * rows, subsampled):
 * - ordinary units: of 6,000 / 10,000 / 20,000 scored unit-rounds, 0.4 % / 0.16 % / 0.17 % scored ≥ 0.6 and
 *   alerted, 8 / 1 / 5 of them at warning level (the rest info); the highest score was 0.63 / 0.64 / 0.66.
 *   (The same runs before subsampling: 0.5 % at 10 units, 0.13 % at 100, highest 0.63 / 0.65.) An update with
 *   20× the norm and cosine −1 scored 0.74–0.78 / 0.77–0.82 / 0.76–0.81 (before: 0.74–0.79 / 0.82–0.86).
 * - a unit extreme in ONE feature only (norm 3×, 20 standard deviations out) scored just 0.46–0.51 / 0.58–0.62
 *   / 0.59–0.62: a split picks the telling feature with probability 1/d, so one-feature outliers are isolated
 *   slowly. Univariate rules (norm clipping, robust z on the norm) catch those better.
 * - Without leaving alerted rows out of the history, a unit sending the same outlier for 6 rounds fell from
 *   ≈ 0.76 to ≈ 0.48 (masking; measured at 10 units a round, before subsampling); with it, it stays at
 *   0.72–0.78 (0.78–0.81 at 1,000 units a round).
 * - Identical units in one round still mask one another: 10 copies of that update among 100 units scored 0.56
 *   (0.46 before subsampling) and were not alerted; a few copies land in most samples. Clustering (DBSCAN in
 *   the robust pipeline) is the defence against a coordinated group.
 * - Randomness: the seed fixes the subsamples, but the package draws its split features and values from
 *   Math.random and has no seed, so scores vary between runs by Monte-Carlo noise (standard deviation ≈ 0.007
 *   for ordinary units, ≈ 0.01 for outliers, at 200 trees; a different seed adds almost nothing to that);
 *   alerts near the threshold are not reproducible from a simulation's seed. Seeding the splits would mean
 *   replacing Math.random globally, which this file does not do.
 * - Cost (vitest bench, isolation-forest-detector.bench.ts, on a busy shared 2-core machine, means of 10 runs):
 *   ≈ 21 / 49 / 78 / 106 ms a round for windows of 110 / 550 / 5,500 / 11,000 rows; before subsampling, when
 *   every tree was built on the whole window, 16–34 / 125 / 1,155 / 4,709 ms. Fitting 200 trees on ψ rows
 *   (≈ 60 ms at ψ = 256, most of it the package) does not grow with the window; scoring the round's units does
 *   (≈ 0.03–0.05 ms each), and so do the robust scales (≈ 10 ms at 11,000 rows: medians by sorting).
 */
import { createRng } from '@fedwarden/shared';
import type { Alert, AlertSeverity } from './alert.ts';
import { robustScale, robustZ, type RobustScale } from './robust-stats.ts';
import { fitSubsampleForest, isolationScore } from './subsample-forest.ts';

export interface FeatureRow {
  readonly id: string;
  readonly features: Readonly<Record<string, number>>;
}

export interface IsolationForestOptions {
  /** Rounds of history in the window besides the current one. Default 10. */
  readonly windowRounds?: number;
  /** Isolation score from which a unit is alerted. Default 0.6. */
  readonly threshold?: number;
  /** Isolation score from which an alert is critical (with an extreme feature). Default 0.7. */
  readonly criticalThreshold?: number;
  /** |robust z| from which a feature counts as extreme (Iglewicz–Hoaglin's 3.5). Default 3.5. */
  readonly featureZ?: number;
  /** Trees in the forest. Default 200. */
  readonly trees?: number;
  /** ψ: rows each tree is fitted on, drawn without replacement from the window (Liu et al.'s 256). Default 256. */
  readonly maxSamples?: number;
  /** Fewest rows in the window for the forest to run. Default 20. */
  readonly minRows?: number;
}

const DEFAULTS: Required<IsolationForestOptions> = {
  windowRounds: 10,
  threshold: 0.6,
  criticalThreshold: 0.7,
  featureZ: 3.5,
  trees: 200,
  maxSamples: 256,
  minRows: 20,
};

export interface UnitScore {
  readonly id: string;
  readonly score: number;
  /** The feature with the largest |robust z| against the window, its value and z. */
  readonly feature: string;
  readonly value: number;
  readonly z: number;
}

export interface IsolationForestReport {
  readonly alerts: Alert[];
  /** The current units' scores; empty when skipped. */
  readonly scores: UnitScore[];
  /** Why the forest did not run this round, if it did not. */
  readonly skipped?: string;
}

export const ISOLATION_FOREST = 'isolation-forest';

function resolve(options: IsolationForestOptions): Required<IsolationForestOptions> {
  const o = { ...DEFAULTS, ...options };
  const positiveInt = (name: keyof IsolationForestOptions, min: number) => {
    if (!Number.isSafeInteger(o[name]) || o[name] < min) throw new RangeError(`isolation forest: ${name} must be an integer ≥ ${min}, got ${o[name]}`);
  };
  positiveInt('windowRounds', 0);
  positiveInt('trees', 1);
  positiveInt('minRows', 2);
  positiveInt('maxSamples', 2);
  if (!(o.threshold > 0 && o.threshold < 1 && o.criticalThreshold >= o.threshold && o.criticalThreshold <= 1)) {
    throw new RangeError(`isolation forest: need 0 < threshold ≤ criticalThreshold ≤ 1, got ${o.threshold}, ${o.criticalThreshold}`);
  }
  if (!(o.featureZ >= 0)) throw new RangeError(`isolation forest: featureZ must be ≥ 0, got ${o.featureZ}`);
  return o;
}

function featureNames(rows: readonly FeatureRow[]): string[] {
  const first = rows[0];
  if (first === undefined) return [];
  const names = Object.keys(first.features);
  for (const row of rows) {
    for (const name of names) {
      if (typeof row.features[name] !== 'number') throw new RangeError(`isolation forest: row ${row.id} has no feature ${name}`);
    }
  }
  return names;
}

/**
 * Scores the current rows against a fresh forest fitted on subsamples of history + current, drawn with `seed`.
 * Pure apart from the package's Math.random. Rows must be finite (the detector below filters them); history
 * rows need the current rows' features. Returns the skip reason instead when the window is too small or no
 * feature varies.
 */
export function scoreUnits(
  history: readonly FeatureRow[],
  current: readonly FeatureRow[],
  seed: number,
  options: IsolationForestOptions = {},
): UnitScore[] | { skipped: string } {
  const o = resolve(options);
  const window = [...history, ...current];
  const needed = Math.max(o.minRows, 2 * current.length);
  if (current.length === 0) return { skipped: 'no units this round' };
  if (window.length < needed) return { skipped: `window has ${window.length} rows, needs ${needed}` };
  const names = featureNames(window);
  const scales = new Map<string, RobustScale>(names.map((n) => [n, robustScale(window.map((r) => r.features[n] as number))]));
  const active = names.filter((n) => (scales.get(n) as RobustScale).scale > 0);
  if (active.length === 0) return { skipped: 'no feature varies over the window' };

  const d = active.length;
  const values = new Float64Array(window.length * d);
  active.forEach((n, f) => {
    const { center, scale } = scales.get(n) as RobustScale;
    window.forEach((row, r) => (values[r * d + f] = ((row.features[n] as number) - center) / scale));
  });
  const forest = fitSubsampleForest(values, active, o.trees, o.maxSamples, createRng(seed));
  const scores = current.map((_, i) => {
    const r = history.length + i;
    return isolationScore(forest, values.subarray(r * d, (r + 1) * d), r);
  });

  return current.map((row, i) => {
    let feature = names[0] as string;
    let z = 0;
    for (const n of names) {
      const zn = robustZ(row.features[n] as number, scales.get(n) as RobustScale);
      if (Math.abs(zn) > Math.abs(z)) {
        feature = n;
        z = zn;
      }
    }
    return { id: row.id, score: scores[i] as number, feature, value: row.features[feature] as number, z };
  });
}

/** Alerts for scored units (see the header for the severity rule). */
export function unitAlerts(round: number, scores: readonly UnitScore[], windowRows: number, options: IsolationForestOptions = {}): Alert[] {
  const o = resolve(options);
  const alerts: Alert[] = [];
  for (const s of scores) {
    if (s.score < o.threshold) continue;
    const extreme = Math.abs(s.z) >= o.featureZ;
    const severity: AlertSeverity = !extreme ? 'info' : s.score >= o.criticalThreshold ? 'critical' : 'warning';
    const z = `${s.z >= 0 ? '+' : ''}${s.z.toFixed(1)}`;
    alerts.push({
      detector: ISOLATION_FOREST,
      severity,
      round,
      unit: s.id,
      feature: s.feature,
      score: s.score,
      message:
        `unit ${s.id}: isolation score ${s.score.toFixed(3)} ≥ ${o.threshold}; ` +
        (extreme ? `most unusual ${s.feature} = ${formatValue(s.value)} (robust z ${z}` : `no single feature extreme (largest: ${s.feature}, robust z ${z}`) +
        ` against ${windowRows} rows)`,
    });
  }
  return alerts;
}

function formatValue(x: number): string {
  return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : String(Number(x.toFixed(4)));
}

/**
 * The stateful detector the coordinator keeps: observe() each round's feature rows, get alerts. Holds the
 * last `windowRounds` rounds of rows; nothing else.
 */
export class IsolationForestDetector {
  private readonly options: Required<IsolationForestOptions>;
  private history: FeatureRow[][] = [];

  constructor(options: IsolationForestOptions = {}) {
    this.options = resolve(options);
  }

  /** `seed` draws the round's subsamples: give each round its own (derived from the federation's seed). */
  observe(round: number, rows: readonly FeatureRow[], seed: number): IsolationForestReport {
    const alerts: Alert[] = [];
    const finite: FeatureRow[] = [];
    for (const row of rows) {
      const bad = Object.entries(row.features).find(([, v]) => !Number.isFinite(v));
      if (bad === undefined) {
        finite.push(row);
        continue;
      }
      alerts.push({
        detector: ISOLATION_FOREST,
        severity: 'critical',
        round,
        unit: row.id,
        feature: bad[0],
        score: 1,
        message: `unit ${row.id}: ${bad[0]} is ${bad[1]}`,
      });
    }
    const history = this.history.flat();
    const result = scoreUnits(history, finite, seed, this.options);
    if (!Array.isArray(result)) {
      this.remember(finite);
      return { alerts, scores: [], skipped: result.skipped };
    }
    const unitLevel = unitAlerts(round, result, history.length + finite.length, this.options);
    alerts.push(...unitLevel);
    const flagged = new Set(unitLevel.filter((a) => a.severity !== 'info').map((a) => a.unit));
    this.remember(flagged.size * 2 > finite.length ? finite : finite.filter((r) => !flagged.has(r.id)));
    return { alerts, scores: result };
  }

  /** Rounds of history held (at most windowRounds). */
  get historyRounds(): number {
    return this.history.length;
  }

  private remember(rows: FeatureRow[]): void {
    if (this.options.windowRounds === 0) return;
    this.history.push(rows);
    if (this.history.length > this.options.windowRounds) this.history.shift();
  }
}
