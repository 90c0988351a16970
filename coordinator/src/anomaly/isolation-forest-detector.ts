/**
 * Unit-level anomaly detection with an isolation forest (Liu, Ting, Zhou, "Isolation Forest", ICDM 2008),
 * its trees built by the `isolation-forest` package (0.0.9) through subsample-forest.ts, used for novelty
 * detection: what is normal is learnt from what the federation accepted, and the current round is scored
 * against it.
 *
 * Each round a fresh forest is fitted on the history alone, the feature rows (unit-features.ts) of the
 * previous `windowRounds` rounds, and scores the current round's units as points outside the fitted sample
 * (subsample-forest.ts scores such a point by its expected path length had it been in a tree's sample). As in
 * the paper, each tree is fitted on its own subsample of ψ = `maxSamples` rows (256) drawn without
 * replacement from the history, with the round's seed; a history of at most ψ rows is used whole. An
 * isolation score s = 2^(−E[h]/c(ψ)) is ≈ 0.5 or less for ordinary points and tends to 1 for points that
 * random axis-parallel splits isolate quickly. A unit scoring at least `threshold` raises an alert naming the
 * feature that stood out most: the largest |robust z| against the history (robust-stats.ts).
 *
 * Why the current round is not in the fitted sample: identical rows mask one another, a well-known weakness of
 * isolation forests. In the former design, a window of history + current round, ten zero updates (free
 * riders) among 50 units after two rounds of history (a 150-row window) scored 0.48–0.65 and one or none of
 * them was alerted, and ten copies of one outlying update among 100 units scored 0.56, none alerted. Fitted
 * on the history alone, each copy is scored on its own against the accepted rows, and copies in one round
 * cannot shelter one another: the same ten zero updates scored 0.78–0.80 (the tests' case).
 *
 * Severity: `critical` when the score is at least `criticalThreshold` and some feature has |z| ≥ `featureZ`;
 * `warning` when the score is at least `threshold` and some feature has |z| ≥ `featureZ`; `info` when the
 * forest isolates the unit but no single feature is extreme (a joint anomaly, or the tail of normal data).
 *
 * Standardisation. Features are robust-standardised against the history, z = (x − median)/(1.4826·MAD),
 * before fitting: that gives the attribution above, and drops features that are constant over the history
 * (round 1's cosineToPrevious, equal sample counts), which would otherwise waste splits. It does not change
 * the scores otherwise: isolation-tree split points are uniform between a node's minimum and maximum, so the
 * forest is invariant to any per-feature affine rescaling. A feature constant over the history is not seen at
 * all, even where a current unit departs from it.
 *
 * The first rounds. With fewer than max(`minRows`, units this round) rows in the history (round 1 always;
 * round 2 when round 1 kept fewer units than round 2 has; rounds 1–4 with 5 secure groups), the detector
 * stays silent and says why
 * (`skipped`): scores against a handful of points are mostly noise, and a round cannot be judged against less
 * than a round's worth of accepted rows.
 *
 * History: the rows the federation accepted (semi-supervised novelty detection). A row enters it only when
 * the aggregation strategy kept its unit that round (`kept`) and the unit was not alerted at warning or above.
 * Rows the robust pipeline rejected (zero updates, colluding duplicates, noise) must not define normal, and an
 * attacker the forest flags must not become normal by persisting (masking over rounds). One exception: when
 * more than half of the round's scored units were alerted, the whole federation moved (a learning-rate change,
 * convergence), and the round's kept rows enter the history anyway. Rows with a non-finite feature raise a
 * critical alert of their own and never enter the history. The bootstrap is a limit: units kept in the first
 * rounds define normal, so an attack that the strategy keeps from round 1 on is learnt as normal. Each report
 * lists the rows that joined the history (`remembered`); the coordinator stores them with the round, and a
 * restarted one rebuilds the history from storage (restore()) instead of starting cold.
 *
 * Limits, measured on rows of 7 independent Gaussian features (ordinary-rows.ts, as in the tests), 200 trees,
 * 10 rounds of history, with 10, 100 and 1,000 units a round (histories of 100 rows, fitted whole, and of
 * 1,000 and 10,000 rows, subsampled):
 * - ordinary units: of 6,000 / 10,000 / 20,000 scored unit-rounds, 0.18 % / 0.14 % / 0.10 % scored ≥ 0.6 and
 *   were alerted, 3 / 5 / 4 of them at warning level (the rest info); the highest score was 0.63 / 0.68 /
 *   0.66. An update with 20× the norm and cosine −1 scored 0.70–0.76 / 0.74–0.79 / 0.74–0.79.
 * - a unit extreme in ONE feature only (norm 3×, 20 standard deviations out) scored just 0.56–0.64 / 0.59–0.65
 *   / 0.60–0.64, alerted in 65–85 % of runs: a split picks the telling feature with probability 1/d, so
 *   one-feature outliers are isolated slowly. Univariate rules (norm clipping, robust z on the norm) catch
 *   those better. So does the robust pipeline's near-duplicate step for colluders who differ from honest units
 *   in nearestCosine alone (1 against ≈ 0.6 ± 0.1 here): ten of them among 50 / 100 / 1,000 scored 0.47–0.65
 *   and were not all alerted in any run.
 * - Identical units in one round no longer mask one another: 10 zero updates among 50 / 100 / 1,000 units
 *   scored 0.80–0.84, and 10 copies of the 20×-norm update among 100 / 1,000 scored 0.74–0.79, like a single
 *   one (the former design: 0.56, not alerted, among 100).
 * - Without leaving alerted rows out of the history, a unit sending the same outlier for 6 rounds fell to
 *   0.47–0.50 (masking over rounds; measured at 10 units a round); with it, it stays at 0.66–0.76.
 * - Randomness: the seed fixes the subsamples and the package's split features and values (subsample-forest.ts
 *   seeds the package's Math.random for each fit), so a round's scores and alerts are reproducible from the
 *   seed. Between seeds, scores vary by Monte-Carlo noise (measured with the package's own Math.random:
 *   standard deviation ≈ 0.007 for ordinary units, ≈ 0.013 for outliers, at 200 trees), so an alert near the
 *   threshold may come and go with the seed.
 * - Cost (vitest bench, isolation-forest-detector.bench.ts, 2-core dev VM, means of 10 runs): ≈ 16 / 40 / 67 /
 *   100 ms a round for histories of 100 / 500 / 5,000 / 10,000 rows (with as many units scored as one round
 *   of history holds). Fitting 200 trees on ψ rows (≈ 60 ms at ψ = 256, most of it the package) does not grow
 *   with the history; scoring the round's units and the robust scales over the history (medians by sorting)
 *   do: ≈ 33 ms more from 5,000 rows and 500 units to 10,000 and 1,000.
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
  /** Rounds of history the current round is scored against. Default 10. */
  readonly windowRounds?: number;
  /** Isolation score from which a unit is alerted. Default 0.6. */
  readonly threshold?: number;
  /** Isolation score from which an alert is critical (with an extreme feature). Default 0.7. */
  readonly criticalThreshold?: number;
  /** |robust z| from which a feature counts as extreme (Iglewicz–Hoaglin's 3.5). Default 3.5. */
  readonly featureZ?: number;
  /** Trees in the forest. Default 200. */
  readonly trees?: number;
  /** ψ: rows each tree is fitted on, drawn without replacement from the history (Liu et al.'s 256). Default 256. */
  readonly maxSamples?: number;
  /** Fewest rows in the history for the forest to run (and never fewer than this round's units). Default 20. */
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
  /** The feature with the largest |robust z| against the history, its value and z. */
  readonly feature: string;
  readonly value: number;
  readonly z: number;
  /** Every feature's robust z against the history (0 for a feature constant over it). */
  readonly zs: Readonly<Record<string, number>>;
}

export interface IsolationForestReport {
  readonly alerts: Alert[];
  /** The current units' scores; empty when skipped. */
  readonly scores: UnitScore[];
  /** Why the forest did not run this round, if it did not. */
  readonly skipped?: string;
  /** The history the round was scored against (before this round's rows joined it): rows and rounds. */
  readonly historyRows: number;
  readonly historyRounds: number;
  /** This round's rows that joined the history (what a restarted detector needs to rebuild it: restore()). */
  readonly remembered: readonly FeatureRow[];
}

export const ISOLATION_FOREST = 'isolation-forest';

function resolve(options: IsolationForestOptions): Required<IsolationForestOptions> {
  const o = { ...DEFAULTS, ...options };
  const positiveInt = (name: keyof IsolationForestOptions, min: number) => {
    if (!Number.isSafeInteger(o[name]) || o[name] < min) throw new RangeError(`isolation forest: ${name} must be an integer ≥ ${min}, got ${o[name]}`);
  };
  positiveInt('windowRounds', 1);
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
 * Scores the current rows against a fresh forest fitted on subsamples of the history alone, drawn with `seed`:
 * the current rows are points outside every tree's sample (novelty detection). Pure: the same rows and seed
 * give the same scores. Rows must be finite (the detector below filters them); history rows need the current
 * rows' features. Returns the skip reason instead when the history is too small or no feature varies over it.
 */
export function scoreUnits(
  history: readonly FeatureRow[],
  current: readonly FeatureRow[],
  seed: number,
  options: IsolationForestOptions = {},
): UnitScore[] | { skipped: string } {
  const o = resolve(options);
  if (current.length === 0) return { skipped: 'no units this round' };
  const needed = Math.max(o.minRows, current.length);
  if (history.length < needed) return { skipped: `history has ${history.length} rows, needs ${needed}` };
  const names = featureNames([...history, ...current]);
  const scales = new Map<string, RobustScale>(names.map((n) => [n, robustScale(history.map((r) => r.features[n] as number))]));
  const active = names.filter((n) => (scales.get(n) as RobustScale).scale > 0);
  if (active.length === 0) return { skipped: 'no feature varies over the history' };

  const d = active.length;
  const standardise = (rows: readonly FeatureRow[]): Float64Array => {
    const values = new Float64Array(rows.length * d);
    active.forEach((n, f) => {
      const { center, scale } = scales.get(n) as RobustScale;
      rows.forEach((row, r) => (values[r * d + f] = ((row.features[n] as number) - center) / scale));
    });
    return values;
  };
  const forest = fitSubsampleForest(standardise(history), active, o.trees, o.maxSamples, createRng(seed));
  const scored = standardise(current);
  const scores = current.map((_, i) => isolationScore(forest, scored.subarray(i * d, (i + 1) * d), -1));

  return current.map((row, i) => {
    let feature = names[0] as string;
    let z = 0;
    const zs: Record<string, number> = {};
    for (const n of names) {
      const zn = robustZ(row.features[n] as number, scales.get(n) as RobustScale);
      zs[n] = zn;
      if (Math.abs(zn) > Math.abs(z)) {
        feature = n;
        z = zn;
      }
    }
    return { id: row.id, score: scores[i] as number, feature, value: row.features[feature] as number, z, zs };
  });
}

/** Alerts for scored units (see the header for the severity rule). */
export function unitAlerts(round: number, scores: readonly UnitScore[], historyRows: number, options: IsolationForestOptions = {}): Alert[] {
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
        ` against ${historyRows} rows)`,
    });
  }
  return alerts;
}

function formatValue(x: number): string {
  return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : String(Number(x.toFixed(4)));
}

/**
 * The stateful detector the coordinator keeps: observe() each round's feature rows, get alerts. Holds the
 * accepted rows of the last `windowRounds` rounds; nothing else.
 */
export class IsolationForestDetector {
  private readonly options: Required<IsolationForestOptions>;
  private history: FeatureRow[][] = [];

  constructor(options: IsolationForestOptions = {}) {
    this.options = resolve(options);
  }

  /**
   * `seed` draws the round's subsamples: give each round its own (derived from the federation's seed). `kept`:
   * the units the aggregation strategy kept this round; only their rows may enter the history. Without it,
   * every row counts as kept.
   */
  observe(round: number, rows: readonly FeatureRow[], seed: number, kept?: ReadonlySet<string>): IsolationForestReport {
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
    const accepted = kept === undefined ? finite : finite.filter((r) => kept.has(r.id));
    const history = this.history.flat();
    const scoredAgainst = { historyRows: history.length, historyRounds: this.history.length };
    const result = scoreUnits(history, finite, seed, this.options);
    if (!Array.isArray(result)) {
      this.remember(accepted);
      return { alerts, scores: [], skipped: result.skipped, ...scoredAgainst, remembered: accepted };
    }
    const unitLevel = unitAlerts(round, result, history.length, this.options);
    alerts.push(...unitLevel);
    const flagged = new Set(unitLevel.filter((a) => a.severity !== 'info').map((a) => a.unit));
    const remembered = flagged.size * 2 > finite.length ? accepted : accepted.filter((r) => !flagged.has(r.id));
    this.remember(remembered);
    return { alerts, scores: result, ...scoredAgainst, remembered };
  }

  /**
   * Rebuild the history of a restarted coordinator from the rows earlier rounds remembered (their reports'
   * `remembered`, oldest first, one entry per observed round); keeps the last windowRounds. Replaces any history.
   */
  restore(rounds: ReadonlyArray<readonly FeatureRow[]>): void {
    this.history = rounds.slice(-this.options.windowRounds).map((rows) => [...rows]);
  }

  /** Rounds of history held (at most windowRounds). */
  get historyRounds(): number {
    return this.history.length;
  }

  /** Rows in the history: what the next round is scored against. */
  get historyRows(): number {
    return this.history.reduce((s, rows) => s + rows.length, 0);
  }

  private remember(rows: FeatureRow[]): void {
    if (this.options.windowRounds === 0) return;
    this.history.push(rows);
    if (this.history.length > this.options.windowRounds) this.history.shift();
  }
}
