/**
 * Seeded sparse random projection for comparing many high-dimensional updates: the count sketch (Charikar,
 * Chen, Farach-Colton, ICALP 2002), i.e. feature hashing with signs (Weinberger et al., ICML 2009). Coordinate
 * j of a d-vector goes to bucket h(j) ∈ [0, m) with sign s(j) ∈ {±1}:  (Sx)_b = Σ_{j: h(j) = b} s(j)·x_j.
 * E[⟨Sx, Sy⟩] = ⟨x, y⟩ (unbiased), with variance ≤ (‖x‖²‖y‖² + ⟨x,y⟩²)/m, so a cosine estimated from the
 * sketch has a standard deviation of about 1/√m: ≈ 0.06 for the default m = 256. Good enough to separate an
 * honest cluster from sign flips (cosine ≈ −ρ) and noise (≈ 0); it cannot see differences of a few hundredths.
 * Exact mode: when d ≤ 2m the vectors are used as they are (copied to float64 rows), since a sketch would cost
 * accuracy for no speed.
 * h and s come from the seeded generator (one draw per coordinate: the high bits pick the bucket, the low bit
 * the sign) and are cached per (d, m, seed), a few entries at most. The caller should derive the seed per
 * round and keep it from participants, so that no one can craft an update that hides in bucket collisions.
 * Cost: O(d) to draw the sketch, O(n·d) to project n units in one pass over each delta (four units per pass
 * share the bucket and sign loads), no allocation per element.
 */
import { createRng } from '@fedwarden/shared';

export const PROJECTION_DEFAULTS = { dim: 256 } as const;

export interface CountSketch {
  readonly d: number;
  readonly m: number;
  readonly bucket: Int32Array;
  readonly sign: Float64Array;
}

const CACHE_SIZE = 4;
const cache = new Map<string, CountSketch>();

/** The sketch for (d, m, seed), drawn once and cached (least recently used entry evicted past 4). */
export function countSketch(d: number, m: number, seed: number): CountSketch {
  if (!(Number.isInteger(d) && d >= 1 && Number.isInteger(m) && m >= 1 && m <= 1 << 24)) {
    throw new RangeError(`countSketch: bad sizes d = ${d}, m = ${m}`);
  }
  const key = `${d}:${m}:${seed >>> 0}`;
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const rng = createRng(seed >>> 0);
  const bucket = new Int32Array(d);
  const sign = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const u = rng.next();
    bucket[j] = Math.floor(u * m);
    sign[j] = (u * 4294967296) & 1 ? 1 : -1;
  }
  const sketch = { d, m, bucket, sign };
  cache.set(key, sketch);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return sketch;
}

export interface Projection {
  /** n × width, row-major: row i is unit i's (sketched or exact) vector. */
  readonly rows: Float64Array;
  readonly width: number;
  readonly exact: boolean;
}

/** Projects the deltas (each of length d) to m dimensions, or copies them when d ≤ 2m. */
export function projectDeltas(deltas: readonly Float32Array[], d: number, seed: number, m: number = PROJECTION_DEFAULTS.dim): Projection {
  for (const x of deltas) if (x.length !== d) throw new RangeError(`projectDeltas: delta length ${x.length} ≠ ${d}`);
  const n = deltas.length;
  if (d <= 2 * m) {
    const rows = new Float64Array(n * d);
    deltas.forEach((x, i) => rows.set(x, i * d));
    return { rows, width: d, exact: true };
  }
  const { bucket, sign } = countSketch(d, m, seed);
  const rows = new Float64Array(n * m);
  const r0 = new Float64Array(m), r1 = new Float64Array(m), r2 = new Float64Array(m), r3 = new Float64Array(m);
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const x0 = deltas[i] as Float32Array, x1 = deltas[i + 1] as Float32Array;
    const x2 = deltas[i + 2] as Float32Array, x3 = deltas[i + 3] as Float32Array;
    r0.fill(0); r1.fill(0); r2.fill(0); r3.fill(0);
    for (let j = 0; j < d; j++) {
      const b = bucket[j] as number, s = sign[j] as number;
      r0[b] = (r0[b] as number) + s * (x0[j] as number);
      r1[b] = (r1[b] as number) + s * (x1[j] as number);
      r2[b] = (r2[b] as number) + s * (x2[j] as number);
      r3[b] = (r3[b] as number) + s * (x3[j] as number);
    }
    rows.set(r0, i * m); rows.set(r1, (i + 1) * m); rows.set(r2, (i + 2) * m); rows.set(r3, (i + 3) * m);
  }
  for (; i < n; i++) {
    const x = deltas[i] as Float32Array;
    r0.fill(0);
    for (let j = 0; j < d; j++) {
      const b = bucket[j] as number;
      r0[b] = (r0[b] as number) + (sign[j] as number) * (x[j] as number);
    }
    rows.set(r0, i * m);
  }
  return { rows, width: m, exact: false };
}
