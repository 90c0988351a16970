/**
 * Collusion: units that act together. Participants training on their own data never produce the same update,
 * and are not much more alike than their data; colluding attackers who share one crafted vector are (Sybils, and
 * ALIE and IPM as usually mounted). This is the observation behind FoolsGold (Fung, Yoon, Beschastnikh, "The
 * Limitations of Federated Learning in Sybil Settings", RAID 2020). Two checks, in the robust pipeline's step 4:
 *   - near-duplicates, the plainest form: a unit whose cosine distance to some other unit is below `distance`,
 *     and whose norm is within the same relative tolerance of that unit's, is rejected along with it.
 *     (Direction alone is not enough: parallel updates of different sizes are not copies, and in very low
 *     dimension every pair is parallel.) Certain, and cheap;
 *   - unusually similar groups (similarity-groups.ts), which catches colluders who add independent noise or
 *     vary their norms: pairs far more alike than the round's pairs in general, in this round's updates and in
 *     each participant's history (similarity-history.ts, trusted mode only: a secure group's sum has no
 *     history of its own, and secure groups are compared by this round's sums alone).
 * CollusionCheck runs both and owns the histories and their sketch (a second count sketch of the deltas with a
 * seed drawn from the first round's and kept, since histories must add up in one space).
 *
 * Limits: honest participants holding identical or nearly identical data are rejected — set `distance` to 0
 * and `similarity` to false for such a federation, or raise the similarity floor. The distances may come from
 * a sketch (projection.ts): identical updates sketch identically, and an honest pair would need a true
 * distance near 0 to fall under the default 0.01, far below the spread of honest updates. A colluding
 * majority is not seen by either check.
 */
import { deriveSeed } from '@fedwarden/shared';

import { cosineDistances, normaliseRows } from './cosine.ts';
import { projectDeltas } from './projection.ts';
import { linkedGroups, outlyingLinks, type SimilarityLink, type SimilarityOptions, type SimilarityThreshold, type SimilarityView } from './similarity-groups.ts';
import { SimilarityHistory, type HistoryOptions } from './similarity-history.ts';
import type { AggregationUnit } from './strategy.ts';

export const COLLUSION_DEFAULTS = { distance: 0.01 } as const;

/**
 * Indices (0..n−1) of units that nearly coincide with at least one other unit: cosine distance (from the n×n
 * matrix) below `distance` and norms within a relative `distance` of each other.
 */
export function nearDuplicates(
  dist: Float64Array,
  norms: ArrayLike<number>,
  n: number,
  distance: number = COLLUSION_DEFAULTS.distance,
): Set<number> {
  if (dist.length !== n * n) throw new RangeError(`nearDuplicates: matrix has ${dist.length} entries, expected ${n * n}`);
  if (norms.length !== n) throw new RangeError(`nearDuplicates: ${norms.length} norms for ${n} units`);
  const out = new Set<number>();
  if (!(distance > 0)) return out;
  for (let i = 0; i < n; i++) {
    const ni = norms[i] as number;
    for (let j = i + 1; j < n; j++) {
      const nj = norms[j] as number;
      if ((dist[i * n + j] as number) < distance && Math.abs(ni - nj) <= distance * Math.max(ni, nj)) {
        out.add(i);
        out.add(j);
      }
    }
  }
  return out;
}

/** The distance matrix restricted to `keep` (in that order). */
export function subMatrix(dist: Float64Array, n: number, keep: readonly number[]): Float64Array {
  const m = keep.length;
  const out = new Float64Array(m * m);
  for (let a = 0; a < m; a++) {
    const row = (keep[a] as number) * n;
    for (let b = 0; b < m; b++) out[a * m + b] = dist[row + (keep[b] as number)] as number;
  }
  return out;
}

export interface CollusionOptions extends SimilarityOptions, HistoryOptions {
  /** Near-duplicates: units closer than this cosine distance (and norms within it) are colluding. Default 0.01; 0 disables. */
  readonly duplicateDistance?: number;
  /** Unusually similar groups (similarity-groups.ts). Default true; false leaves the near-duplicates alone. */
  readonly similarity?: boolean;
  /** Compare participants' histories too (trusted-mode units only). Default true. */
  readonly history?: boolean;
  /** Flag only linked groups of at least this many units. Default 2. */
  readonly minGroup?: number;
}

export interface CollusionDiagnostics {
  /** Units rejected as near-duplicates. */
  readonly duplicates: number;
  /** Units rejected as members of an unusually similar group (and not already as near-duplicates). */
  readonly similar: number;
  /** This round's pairs: median and MAD of the excess similarity, and the threshold; absent with < 4 units. */
  readonly round?: SimilarityThreshold;
  /** The same over the histories of the units with one member, and how many those were. */
  readonly history?: SimilarityThreshold & { readonly units: number };
}

export interface CollusionVerdicts {
  /** Index (in the units given) → the reason it is rejected. */
  readonly colluding: Map<number, string>;
  /**
   * Rejected units that get no reputation evidence: the two units of a similarity pair. One identity that
   * copies an honest participant's update (plus noise) links itself to its victim, and the check cannot tell
   * copier from copied; rejecting both keeps the copy out, and withholding blame keeps the victim's standing
   * (a bloc of three or more is blamed: framing one victim then costs the attacker two identities per round,
   * both of them rejected too).
   */
  readonly unblamed: Set<number>;
  readonly diagnostics: CollusionDiagnostics;
}

/** What CollusionCheck needs of the round. */
export interface CollusionRound {
  readonly round: number;
  readonly dim: number;
  readonly seed: number;
}

/** Names listed in a reason before "+k more". */
const NAMED_IN_REASON = 5;

/**
 * The collusion step of the robust pipeline, with the state it keeps across rounds (the histories). One
 * instance per federation; `check` once per round (again for a rerun of the same round).
 */
export class CollusionCheck {
  private readonly options: CollusionOptions;
  private readonly minGroup: number;
  private readonly history: SimilarityHistory | undefined;
  private historySeed: number | undefined;
  private historyDim = 0;

  /** `width`: the count-sketch width of the histories (the pipeline's projectionDim). */
  constructor(options: CollusionOptions = {}, private readonly width: number = 256) {
    this.options = options;
    this.minGroup = options.minGroup ?? 2;
    if (!(Number.isInteger(this.minGroup) && this.minGroup >= 2)) throw new RangeError(`CollusionCheck: minGroup ${this.minGroup} not an integer ≥ 2`);
    if (!(Number.isInteger(width) && width >= 1)) throw new RangeError(`CollusionCheck: width ${width}`);
    // Fail on bad similarity options now, not in the first round.
    outlyingLinks(new Float64Array(0), 0, options);
    this.history = options.similarity !== false && options.history !== false ? new SimilarityHistory(options) : undefined;
  }

  /**
   * `dist`: the n × n cosine distances of `units` (the pipeline's sketch of this round), `norms` their norms.
   */
  check(units: readonly AggregationUnit[], dist: Float64Array, norms: ArrayLike<number>, round: CollusionRound): CollusionVerdicts {
    const n = units.length;
    const duplicates = nearDuplicates(dist, norms, n, this.options.duplicateDistance);
    const colluding = new Map<number, string>();
    for (const i of duplicates) colluding.set(i, 'near-duplicate of another unit (collusion)');
    const unblamed = new Set<number>();
    if (this.options.similarity === false) return { colluding, unblamed, diagnostics: { duplicates: duplicates.size, similar: 0 } };

    const cos = cosinesOf(dist);
    const roundView = outlyingLinks(cos, n, this.options);
    const historyView = this.historyView(units, round);
    type Evidence = { readonly link: SimilarityLink; readonly view: 'round' | 'history'; readonly stats: SimilarityThreshold };
    const links: Evidence[] = [];
    if (roundView) for (const link of roundView.links) links.push({ link, view: 'round', stats: roundView });
    if (historyView) {
      const { view, index } = historyView;
      for (const l of view.links) links.push({ link: { ...l, a: index[l.a] as number, b: index[l.b] as number }, view: 'history', stats: view });
    }
    // Each unit's strongest evidence: the link furthest above its view's threshold.
    const strongest = new Map<number, { readonly evidence: Evidence; readonly other: number }>();
    for (const e of links) {
      for (const [self, other] of [[e.link.a, e.link.b], [e.link.b, e.link.a]] as const) {
        const held = strongest.get(self);
        if (held === undefined || e.link.excess - e.stats.threshold > held.evidence.link.excess - held.evidence.stats.threshold) {
          strongest.set(self, { evidence: e, other });
        }
      }
    }
    let similar = 0;
    for (const group of linkedGroups(links.map((e) => e.link), n)) {
      if (group.length < this.minGroup) continue;
      const names = group.slice(0, NAMED_IN_REASON).map((i) => (units[i] as AggregationUnit).id).join(', ');
      const more = group.length > NAMED_IN_REASON ? `, +${group.length - NAMED_IN_REASON} more` : '';
      for (const i of group) {
        if (colluding.has(i)) continue;
        if (group.length === 2) unblamed.add(i);
        const s = strongest.get(i);
        if (s === undefined) continue; // every member of a group has a link; for the type checker
        const { link, view, stats } = s.evidence;
        colluding.set(
          i,
          `collusion: ${view === 'round' ? 'this round' : 'history'} cosine ${link.cosine.toFixed(2)} with ${(units[s.other] as AggregationUnit).id}, ` +
            `${link.excess.toFixed(2)} above the typical ${link.typical.toFixed(2)} (threshold ${stats.threshold.toFixed(2)}; ` +
            `${view} median excess ${stats.median.toFixed(2)}); group of ${group.length}: ${names}${more}`,
        );
        similar++;
      }
    }
    return {
      colluding,
      unblamed,
      diagnostics: {
        duplicates: duplicates.size,
        similar,
        ...(roundView ? { round: thresholdOf(roundView) } : {}),
        ...(historyView ? { history: { ...thresholdOf(historyView.view), units: historyView.index.length } } : {}),
      },
    };
  }

  /**
   * Records this round in the histories of the units with one member and compares those histories; undefined
   * without histories or with fewer than four such units. `index` maps the view's rows back to `units`.
   */
  private historyView(units: readonly AggregationUnit[], round: CollusionRound): { readonly view: SimilarityView; readonly index: number[] } | undefined {
    if (this.history === undefined) return undefined;
    if (round.dim !== this.historyDim) {
      this.history.clear();
      this.historyDim = round.dim;
    }
    const index = units.flatMap((u, i) => (u.members.length === 1 ? [i] : []));
    if (index.length === 0) return undefined;
    this.historySeed ??= deriveSeed(round.seed, 2);
    const projection = projectDeltas(index.map((i) => (units[i] as AggregationUnit).delta), round.dim, this.historySeed, this.width);
    const k = index.length;
    const rows = projection.rows;
    // Unit directions: each round weighs the same in a history, whatever the update's size.
    normaliseRows(rows, k, projection.width);
    const sums = this.history.record(round.round, index.map((i) => (units[i] as AggregationUnit).members[0] as string), rows, projection.width);
    const view = outlyingLinks(cosinesOf(cosineDistances(sums, k, projection.width)), k, this.options);
    return view === undefined ? undefined : { view, index };
  }
}

/** 1 − d for each cosine distance (a plain loop: Float64Array.from with a callback is ~50× slower). */
function cosinesOf(dist: Float64Array): Float64Array {
  const out = new Float64Array(dist.length);
  for (let k = 0; k < dist.length; k++) out[k] = 1 - (dist[k] as number);
  return out;
}

function thresholdOf(v: SimilarityThreshold): SimilarityThreshold {
  return { median: v.median, mad: v.mad, threshold: v.threshold };
}
