/**
 * Colluding near-duplicates: units whose updates (nearly) coincide with another unit's. Participants training
 * on their own data never produce the same update, while colluding attackers who share one crafted vector do
 * (Sybils, and ALIE and IPM as usually mounted). This is the observation behind FoolsGold (Fung, Yoon,
 * Beschastnikh, "Mitigating Sybils in Federated Learning Poisoning", 2018), used here in its plainest form:
 * a unit whose cosine distance to some other unit is below `distance`, and whose norm is within the same
 * relative tolerance of that unit's, is rejected along with it. (Direction alone is not enough: parallel
 * updates of different sizes are not copies, and in very low dimension every pair is parallel.)
 *
 * Limits: attackers can evade by adding independent noise (the DBSCAN step then sees them as ordinary
 * outliers or ordinary members); honest participants holding identical data would be rejected — set
 * `distance` to 0 to disable for such a federation. The distances may come from a sketch (projection.ts):
 * identical updates sketch identically, and an honest pair would need a true distance near 0 to fall under
 * the default 0.01, far below the spread of honest updates.
 */

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
