/**
 * Colluding groups found by the similarity structure of a round: FoolsGold's observation (Fung, Yoon,
 * Beschastnikh, "The Limitations of Federated Learning in Sybil Settings", RAID 2020) generalised beyond exact
 * duplicates. Colluders who push one shared direction are more alike than independent training on different
 * data makes participants, and more alike than they are to everyone else, even with independent noise added
 * (it lowers their cosine but leaves the structure).
 *
 * For an n × n cosine matrix S (one round's updates, or each participant's history, similarity-history.ts):
 *   typicalᵢ = median_{j≠i} Sᵢⱼ       how alike unit i is to the round's units in general;
 *   excessᵢⱼ = Sᵢⱼ − min(typicalᵢ, typicalⱼ)   how much more alike i and j are to each other.
 * While colluders are fewer than half, a unit's typical similarity is its similarity to the honest units, so
 * pairs of one colluder and one honest unit have an excess near 0, like honest pairs; only colluding pairs
 * stand out. (Subtracting the larger typical instead would push the colluder–honest pairs below the honest
 * ones, and with a large bloc the pairs' spread would then measure the gap between the two, not the honest
 * spread.) When everyone agrees (IID data, early rounds) every typical similarity is high and so no excess is.
 *   threshold = max(floor, median(excess) + mads · 1.4826·MAD(excess)) over all pairs i < j (mads 3);
 * pairs above it are links, and every unit with a link is flagged; linkedGroups gives the connected groups.
 * The floor (default 0.6) is what keeps honest participants with similar data in: on the MNIST task with 50
 * non-IID participants, honest pairs reached an excess of 0.68 (history) and 0.64 (one round) in the first
 * rounds and stayed under 0.55 later, while colluders with noise 0.3 (sybil.ts) had 0.87 or more; the MAD term
 * raises the threshold in federations whose honest similarities spread wider.
 * An honest participant with unusual data is dissimilar to everyone: a low cosine is never a link here.
 *
 * Limits: a colluding majority is the round's typical similarity and is not seen (DBSCAN's and the median's
 * limit too); colluders whose noise keeps one round's excess under the threshold are left to the history view;
 * honest participants holding (nearly) the same data are linked — raise `floor` or ask for larger groups
 * (collusion.ts, minGroup). Fewer than `minUnits` (4) units have no typical similarity to speak of: nothing
 * is flagged.
 */
import { medianInPlace } from '@fedwarden/shared';
import { MAD_TO_SD } from '../anomaly/robust-stats.ts';

export const SIMILARITY_DEFAULTS = { floor: 0.6, mads: 3, minUnits: 4 } as const;

export interface SimilarityOptions {
  /** The least excess similarity a link needs, whatever the round's spread. Default 0.6. */
  readonly floor?: number;
  /** How many (σ-scaled) MADs above the median excess a link needs. Default 3. */
  readonly mads?: number;
}

export interface SimilarityThreshold {
  /** Median excess over all pairs. */
  readonly median: number;
  /** 1.4826 · MAD of the pairs' excess. */
  readonly mad: number;
  readonly threshold: number;
}

export interface SimilarityLink {
  readonly a: number;
  readonly b: number;
  readonly cosine: number;
  /** min(typicalₐ, typical_b). */
  readonly typical: number;
  readonly excess: number;
}

export interface SimilarityView extends SimilarityThreshold {
  /** Pairs whose excess is above the threshold, a < b. */
  readonly links: SimilarityLink[];
}

function checkMatrix(who: string, cos: Float64Array, n: number): void {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`${who}: unit count ${n}`);
  if (cos.length !== n * n) throw new RangeError(`${who}: matrix has ${cos.length} entries, expected ${n * n}`);
}

/** typicalᵢ = median of the magnitudes of row i's off-diagonal cosines (0 for a lone unit). */
export function typicalSimilarity(cos: Float64Array, n: number): Float64Array {
  checkMatrix('typicalSimilarity', cos, n);
  const out = new Float64Array(n);
  if (n < 2) return out;
  const row = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (let j = 0; j < n; j++) if (j !== i) row[k++] = Math.abs(cos[i * n + j] as number);
    out[i] = medianInPlace(row);
  }
  return out;
}

/**
 * The pairs of an n × n cosine matrix that are unusually similar (header); undefined when n < minUnits, where
 * there is no round to compare with.
 */
export function outlyingLinks(cos: Float64Array, n: number, options: SimilarityOptions = {}): SimilarityView | undefined {
  checkMatrix('outlyingLinks', cos, n);
  const floor = options.floor ?? SIMILARITY_DEFAULTS.floor;
  const mads = options.mads ?? SIMILARITY_DEFAULTS.mads;
  if (!(floor > 0 && floor <= 2)) throw new RangeError(`outlyingLinks: floor ${floor} not in (0, 2]`);
  if (!(mads >= 0 && Number.isFinite(mads))) throw new RangeError(`outlyingLinks: mads ${mads} not a finite number ≥ 0`);
  if (n < SIMILARITY_DEFAULTS.minUnits) return undefined;
  const typical = typicalSimilarity(cos, n);
  const pairs = (n * (n - 1)) / 2;
  const excess = new Float64Array(pairs);
  let p = 0;
  for (let a = 0; a < n; a++) {
    const ta = typical[a] as number;
    for (let b = a + 1; b < n; b++) {
      const tb = typical[b] as number;
      excess[p++] = (cos[a * n + b] as number) - (ta < tb ? ta : tb);
    }
  }
  const scratch = excess.slice();
  const median = medianInPlace(scratch);
  for (let k = 0; k < pairs; k++) scratch[k] = Math.abs((excess[k] as number) - median);
  const mad = MAD_TO_SD * medianInPlace(scratch);
  const threshold = Math.max(floor, median + mads * mad);
  const links: SimilarityLink[] = [];
  p = 0;
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++, p++) {
      const e = excess[p] as number;
      if (e > threshold) {
        const cosine = cos[a * n + b] as number;
        links.push({ a, b, cosine, typical: cosine - e, excess: e });
      }
    }
  }
  return { median, mad, threshold, links };
}

/** Connected components of the links over nodes 0..n−1, each of at least two nodes, sorted by their first node. */
export function linkedGroups(links: readonly Pick<SimilarityLink, 'a' | 'b'>[], n: number): number[][] {
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x] as number] as number;
      x = parent[x] as number;
    }
    return x;
  };
  for (const { a, b } of links) {
    if (!(a >= 0 && a < n && b >= 0 && b < n)) throw new RangeError(`linkedGroups: link ${a}–${b} outside 0..${n - 1}`);
    const ra = find(a), rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
  const byRoot = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    const group = byRoot.get(r);
    if (group) group.push(i);
    else byRoot.set(r, [i]);
  }
  return [...byRoot.values()].filter((g) => g.length >= 2).sort((x, y) => (x[0] as number) - (y[0] as number));
}
