/**
 * Krum and Multi-Krum (Blanchard, El Mhamdi, Guerraoui, Stainer, "Machine Learning with Adversaries: Byzantine
 * Tolerant Gradient Descent", NeurIPS 2017). Each unit i is scored by the sum of squared Euclidean distances
 * to its n − f − 2 nearest other units; Krum returns the unit with the lowest score, Multi-Krum the plain mean
 * of the m lowest-scored units (computed once, as in the paper's Multi-Krum).
 * Tolerance: n > 2f + 2 (i.e. n ≥ 2f + 3). f is an assumption the rule is given, not something it measures:
 *   - option `f` fixes it; option `byzantineFraction` sets f = ⌊fraction·n⌋ on each round's n;
 *   - default: the largest f the guarantee allows, ⌊(n − 3)/2⌋;
 *   - either way f is capped at max(0, ⌊(n − 3)/2⌋), so that every score has at least one neighbour.
 * Multi-Krum's m defaults to n − f. Units count equally (claimed sample counts are ignored). Limits: Krum keeps
 * one update (high variance, slow with non-IID data); distances are O(n²·d), so it suits tens to a few hundred
 * units; attackers placed just inside the honest cloud pass (Baruch et al. 2019; Fang et al. 2020).
 */
import { sanityCheck, type SanityOptions } from './sanity.ts';
import type { AggregationResult, AggregationUnit, Strategy, StrategyContext } from './strategy.ts';
import { unweightedMean, verdicts } from './unit-math.ts';

export interface KrumOptions extends SanityOptions {
  /** Assumed number of Byzantine units. Default: ⌊(n − 3)/2⌋. */
  readonly f?: number;
  /** Assumed Byzantine fraction, f = ⌊fraction·n⌋; ignored when `f` is given. */
  readonly byzantineFraction?: number;
}

export interface MultiKrumOptions extends KrumOptions {
  /** How many best-scored units to average. Default n − f. */
  readonly m?: number;
}

/** The f Krum assumes for n units under the options (see the header). */
export function krumF(n: number, options: KrumOptions = {}): number {
  const cap = Math.max(0, Math.floor((n - 3) / 2));
  const f = options.f ?? (options.byzantineFraction === undefined ? cap : Math.floor(options.byzantineFraction * n));
  if (!(Number.isInteger(f) && f >= 0)) throw new RangeError(`krum: f ${f} is not a non-negative integer`);
  return Math.min(f, cap);
}

/** Krum scores: Σ of squared distances from each unit to its n − f − 2 nearest other units (at least 1). */
export function krumScores(units: readonly AggregationUnit[], f: number): Float64Array {
  const n = units.length;
  const scores = new Float64Array(n);
  if (n < 2) return scores;
  const d2 = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    const x = (units[a] as AggregationUnit).delta;
    for (let b = a + 1; b < n; b++) {
      const y = (units[b] as AggregationUnit).delta;
      let s = 0;
      for (let j = 0; j < x.length; j++) {
        const t = (x[j] as number) - (y[j] as number);
        s += t * t;
      }
      d2[a * n + b] = s;
      d2[b * n + a] = s;
    }
  }
  const neighbours = Math.min(n - 1, Math.max(1, n - f - 2));
  const row = new Float64Array(n - 1);
  for (let a = 0; a < n; a++) {
    let k = 0;
    for (let b = 0; b < n; b++) if (b !== a) row[k++] = d2[a * n + b] as number;
    row.sort();
    let s = 0;
    for (let i = 0; i < neighbours; i++) s += row[i] as number;
    scores[a] = s;
  }
  return scores;
}

/** Indices ordered by ascending score (ties by index, so the choice is deterministic). */
function ranked(scores: Float64Array): number[] {
  return Array.from(scores.keys()).sort((a, b) => (scores[a] as number) - (scores[b] as number) || a - b);
}

function multiKrumAggregate(
  units: readonly AggregationUnit[],
  ctx: StrategyContext,
  options: MultiKrumOptions,
  mOf: (n: number, f: number) => number,
  label: string,
): AggregationResult {
  const sane = sanityCheck(units, ctx.dim, options);
  const n = sane.kept.length;
  if (n === 0) return { step: new Float32Array(ctx.dim), kept: [], rejected: sane.rejected, adjusted: [] };
  const f = krumF(n, options);
  const m = Math.min(n, Math.max(1, mOf(n, f)));
  const scores = krumScores(sane.kept, f);
  const order = ranked(scores);
  const selected = order.slice(0, m).map((i) => sane.kept[i] as AggregationUnit);
  const dropped = order.slice(m);
  const rejected = [
    ...sane.rejected,
    ...verdicts(
      dropped.map((i) => sane.kept[i] as AggregationUnit),
      (_u, r) => `${label}: score rank ${m + r + 1} of ${n} (f = ${f}, keeps ${m})`,
    ),
  ];
  return { step: unweightedMean(selected, ctx.dim), kept: selected.map((u) => u.id), rejected, adjusted: [] };
}

export function createKrum(options: KrumOptions = {}): Strategy {
  return {
    name: 'krum',
    tolerance: 'Blanchard et al., NeurIPS 2017; n > 2f + 2, f default ⌊(n − 3)/2⌋',
    aggregate: (units, ctx) => multiKrumAggregate(units, ctx, options, () => 1, 'Krum'),
  };
}

export function createMultiKrum(options: MultiKrumOptions = {}): Strategy {
  if (options.m !== undefined && !(Number.isInteger(options.m) && options.m >= 1)) {
    throw new RangeError(`createMultiKrum: m ${options.m} is not a positive integer`);
  }
  return {
    name: 'multi-krum',
    tolerance: 'Blanchard et al., NeurIPS 2017; n > 2f + 2, f default ⌊(n − 3)/2⌋, averages the m = n − f best',
    aggregate: (units, ctx) => multiKrumAggregate(units, ctx, options, (n, f) => options.m ?? n - f, 'Multi-Krum'),
  };
}
