/**
 * Majority-cluster filter: DBSCAN (Ester, Kriegel, Sander, Xu, KDD 1996) over a precomputed cosine-distance
 * matrix, through `density-clustering` (its dataset is [[0], [1], …] and its distance function looks the pair up
 * in the matrix). The largest cluster is kept if it holds more than half of the units (by unit count: sample
 * counts are claimed by the units themselves and do not vote); every other unit — noise or a minority cluster —
 * is rejected. Without such a majority nothing is singled out: every unit is kept (the norm bound has capped
 * each one already) and the outcome says so (majority false). With fewer than 3 units DBSCAN says nothing and
 * every unit is kept.
 *
 * Parameters, from the data unless configured:
 *   minPts = max(2, ⌈n/5⌉): a cluster needs a fifth of the units, so small coordinated groups (Sybils, a few
 *            sign flippers) form their own minority cluster instead of a chain into the honest one.
 *   eps    = clamp(epsFactor × median_i kdistᵢ, 1e-6, epsMax), kdistᵢ = distance from unit i to its k-th
 *            nearest other unit, k = minPts − 1 (so unit i is a core point exactly when kdistᵢ < eps: the
 *            library counts the point itself and uses a strict <).
 *   Why the median k-distance: with an honest majority, more than half of the k-distances are honest units'
 *   (their k nearest neighbours are honest as long as k < the honest count), so the median is the radius of an
 *   honest neighbourhood whatever the attackers do far away. Attackers can move it only within the honest
 *   distribution (tight Sybils push it towards the honest lower quantiles, far attackers towards the upper
 *   ones), hence the generous epsFactor = 2 (default): every honest unit up to twice that radius is a core
 *   point, and the non-IID tail still joins as core or border points.
 *   Why epsMax = 0.7 (default): nothing orthogonal belongs in the honest cluster. Gaussian noise and unrelated
 *   directions sit at cosine distance ≈ 1, and the count sketch blurs a cosine by σ ≈ 1/√m ≈ 0.06 at
 *   m = 256, so 0.7 is 5σ below 1; honest units must have cosine > 0.3 with a core neighbour to join. With
 *   non-IID spread the cap is what usually binds (in the synthetic tests, honest cosines 0.3–0.8: eps = 0.7);
 *   the median rule tightens eps when the honest updates agree (cosines ≈ 0.7–0.95: eps ≈ 0.25–0.4), so that
 *   attackers closer than orthogonal are rejected too.
 *   A knee of the sorted k-distance curve (Ester et al.'s own heuristic) was the alternative; it is unstable
 *   for the small n of secagg groups and undefined when there are no attackers, so the median rule was chosen.
 * Noise inside the majority's spread is readmitted. DBSCAN calls a unit noise when it has too few close
 * neighbours, which in a non-IID federation late in training (updates nearly orthogonal to one another, eps at
 * its cap) happens to honest units by the dozen: measured on the MNIST simulation, 2–16 of 40 honest units a
 * round from round 6 on, whose data the aggregate lost and whose reputation paid for it. Density is the wrong
 * test for them; alignment with the majority is the right one. From the cosine matrix alone (cos = 1 − dist),
 * a unit's cosine with the direction of the majority cluster C (the sum of its members' unit vectors) is
 * Σ_{j∈C} cos_ij / √(Σ_{j,k∈C} cos_jk); a member's is taken against C without it (leave one out). A noise unit
 * is readmitted when its cosine reaches the lower end of the members' (admissionCosine: the lowest member, or
 * median − 3 robust σ of the members if lower — the cluster already reaches that far from its centre) and
 * `rescueFloor` (default 0; the pipeline passes 3/√width: three standard deviations of a random direction's
 * cosine, and of the count sketch's blur, above orthogonal). Units of a minority
 * cluster are never readmitted: a coordinated group is what that verdict is for. Noise attackers (Gaussian
 * noise, cosine ≈ 0), reversed updates (negative) and inner-product manipulation (negative) stay out; a
 * boosted update in an honest direction may come back in, and the norm bound caps it.
 * Tolerance: f < n/2 units whose directions are not inside the honest cloud. Limits: attackers that imitate
 * honest directions (scaled copies, "a little is enough") are not rejected here — the norm bound caps the
 * scaled ones; more than half of the units identical would drive eps to ~0 and win the majority.
 * Cost: O(n²) distance look-ups. The library's cluster expansion merges neighbour lists with indexOf, which
 * is O(n³) when one cluster holds most units (≈ 250 ms for 800 of 1,000 units in one cluster, a quarter of the
 * 1 s budget); `runDbscan` replaces that one protected method, `_mergeArrays`, on its own instance with a
 * marker-array merge of the same semantics (append the unseen ids in order), O(n²) overall (≈ 15 ms). The
 * dependency is pinned at 1.3.0; if the method ever disappears the unpatched library runs, only slower, and
 * a test checks that both give the same clusters.
 */
import clustering from 'density-clustering';

import { medianInPlace, selectInPlace } from '@fedwarden/shared';
import { robustScale } from '../anomaly/robust-stats.ts';

export interface DbscanOptions {
  /** Minimum neighbourhood size (the point itself included). Default max(2, ⌈n/5⌉). */
  readonly minPts?: number;
  /** Fixed eps (cosine distance); when absent eps comes from the median k-distance rule. */
  readonly eps?: number;
  /** eps = epsFactor × median k-distance. Default 2. */
  readonly epsFactor?: number;
  /** Upper clamp on the data-driven eps. Default 0.7. */
  readonly epsMax?: number;
  /** Least cosine with the majority's direction for a noise unit to be readmitted (see the header). Default 0. */
  readonly rescueFloor?: number;
  /** Readmit noise units aligned with the majority as its members are. Default true. */
  readonly rescue?: boolean;
}

export const DBSCAN_DEFAULTS = { epsFactor: 2, epsMax: 0.7, epsMin: 1e-6 } as const;

export interface DbscanOutcome {
  /** Indices of the units kept. */
  readonly kept: number[];
  /** Indices rejected, with the reason. */
  readonly rejected: Array<{ readonly index: number; readonly reason: string }>;
  /** Whether a majority cluster decided (false: fewer than 3 units, or no cluster above n/2). */
  readonly majority: boolean;
  readonly eps: number;
  readonly minPts: number;
  /** Cluster sizes, largest first. */
  readonly clusterSizes: number[];
  /** Indices DBSCAN called noise that were readmitted by their alignment with the majority (kept). */
  readonly rescued: number[];
}

export function defaultMinPts(n: number): number {
  return Math.max(2, Math.ceil(n / 5));
}

/** Distance from each unit to its k-th nearest other unit (k ≥ 1), from the n × n matrix. */
export function kDistances(dist: Float64Array, n: number, k: number): Float64Array {
  if (!(k >= 1 && k <= n - 1)) throw new RangeError(`kDistances: k ${k} not in [1, ${n - 1}]`);
  const out = new Float64Array(n);
  const row = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    let c = 0;
    for (let j = 0; j < n; j++) if (j !== i) row[c++] = dist[i * n + j] as number;
    out[i] = selectInPlace(row, k - 1);
  }
  return out;
}

interface MergeableDbscan {
  _mergeArrays?: (a: number[], b: number[]) => number[];
}

/** density-clustering's DBSCAN over the precomputed matrix; `fastMerge` (default true) as in the header. */
export function runDbscan(dist: Float64Array, n: number, eps: number, minPts: number, fastMerge = true): number[][] {
  const db = new clustering.DBSCAN();
  const internals = db as unknown as MergeableDbscan;
  if (fastMerge && typeof internals._mergeArrays === 'function') {
    const marks = new WeakMap<number[], Uint8Array>();
    internals._mergeArrays = (a, b) => {
      let mark = marks.get(a);
      if (mark === undefined) {
        mark = new Uint8Array(n);
        for (const p of a) mark[p] = 1;
        marks.set(a, mark);
      }
      for (const p of b) {
        if (mark[p] === 0) {
          mark[p] = 1;
          a.push(p);
        }
      }
      return a;
    };
  }
  const dataset = Array.from({ length: n }, (_, i) => [i]);
  return db.run(dataset, eps, minPts, (p, q) => dist[(p[0] as number) * n + (q[0] as number)] as number);
}

/** eps by the median k-distance rule (see the header). */
export function chooseEps(dist: Float64Array, n: number, minPts: number, options: DbscanOptions = {}): number {
  const factor = options.epsFactor ?? DBSCAN_DEFAULTS.epsFactor;
  const epsMax = options.epsMax ?? DBSCAN_DEFAULTS.epsMax;
  const k = Math.min(n - 1, Math.max(1, minPts - 1));
  const radius = medianInPlace(kDistances(dist, n, k));
  return Math.min(epsMax, Math.max(DBSCAN_DEFAULTS.epsMin, factor * radius));
}

/**
 * Cosine of each unit with the direction of `cluster` (the sum of its members' unit vectors), from the cosine
 * distances; members against the cluster without themselves. NaN where that direction is zero.
 */
export function cosinesToCluster(dist: Float64Array, n: number, cluster: readonly number[]): Float64Array {
  const member = new Uint8Array(n);
  for (const j of cluster) member[j] = 1;
  // rowSum[i] = Σ_{j∈C} cos_ij (cos_ii = 1 for a member); total = Σ_{j,k∈C} cos_jk.
  const rowSum = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (const j of cluster) s += 1 - (dist[i * n + j] as number);
    rowSum[i] = s;
  }
  let total = 0;
  for (const j of cluster) total += rowSum[j] as number;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = rowSum[i] as number;
    // Leave one out for a member: Σ_{j≠i} cos_ij = r − 1, and the squared norm loses 2(r − 1) + 1.
    const [dot, norm2] = member[i] === 1 ? [r - 1, total - 2 * r + 1] : [r, total];
    out[i] = norm2 > 0 ? dot / Math.sqrt(norm2) : Number.NaN;
  }
  return out;
}

/**
 * The least cosine with the majority's direction at which a noise unit is readmitted: the lower end of the
 * members' own cosines — the lowest member, or median − 3 robust σ if that is lower (a cluster's border is
 * ragged, and its members' spread says how far from the centre it reaches) — but never below `floor`.
 */
export function admissionCosine(memberCosines: readonly number[], floor: number): number {
  if (memberCosines.length === 0 || memberCosines.some((c) => Number.isNaN(c))) return Number.POSITIVE_INFINITY;
  const { center, scale } = robustScale(memberCosines);
  return Math.max(floor, Math.min(Math.min(...memberCosines), center - 3 * scale));
}

/** Runs the filter on an n × n cosine-distance matrix. */
export function dbscanMajority(dist: Float64Array, n: number, options: DbscanOptions = {}): DbscanOutcome {
  if (dist.length !== n * n) throw new RangeError(`dbscanMajority: matrix of ${dist.length} ≠ ${n}²`);
  const all = Array.from({ length: n }, (_, i) => i);
  const minPts = options.minPts ?? defaultMinPts(n);
  if (!(Number.isInteger(minPts) && minPts >= 1)) throw new RangeError(`dbscanMajority: minPts ${minPts}`);
  if (n < 3) return { kept: all, rejected: [], majority: false, eps: 0, minPts, clusterSizes: [], rescued: [] };
  const eps = options.eps ?? chooseEps(dist, n, minPts, options);
  if (!(eps > 0)) throw new RangeError(`dbscanMajority: eps ${eps} must be > 0`); // the library ignores eps = 0

  const clusters = runDbscan(dist, n, eps, minPts);
  clusters.sort((a, b) => b.length - a.length);
  const clusterSizes = clusters.map((c) => c.length);
  const largest = clusters[0] ?? [];

  if (largest.length * 2 > n) {
    const clusterOf = new Int32Array(n).fill(-1);
    clusters.forEach((c, ci) => c.forEach((i) => (clusterOf[i] = ci)));
    const toCluster = options.rescue === false || !clusterOf.includes(-1) ? undefined : cosinesToCluster(dist, n, largest);
    const admit = toCluster === undefined ? Number.POSITIVE_INFINITY : admissionCosine(largest.map((j) => toCluster[j] as number), options.rescueFloor ?? 0);
    const kept: number[] = [];
    const rescued: number[] = [];
    const rejected: Array<{ index: number; reason: string }> = [];
    for (let i = 0; i < n; i++) {
      const ci = clusterOf[i] as number;
      if (ci === 0) kept.push(i);
      else if (ci < 0 && (toCluster?.[i] as number) >= admit) {
        kept.push(i);
        rescued.push(i);
      } else if (ci < 0) rejected.push({ index: i, reason: `DBSCAN noise (eps ${eps.toFixed(3)}, minPts ${minPts})` });
      else rejected.push({ index: i, reason: `DBSCAN minority cluster of ${clusterSizes[ci]} (majority ${largest.length} of ${n})` });
    }
    return { kept, rejected, majority: true, eps, minPts, clusterSizes, rescued };
  }

  return { kept: all, rejected: [], majority: false, eps, minPts, clusterSizes, rescued: [] };
}
