/**
 * Seeded synthetic aggregation units for the robust-aggregation tests and bench:robust: honest updates around
 * a common direction with non-IID spread, and the usual attackers. Not a model of any dataset; a geometry with
 * the properties the filters rely on, reproducible from a seed.
 *   honest     rᵢ·(aᵢ·g + √(1 − aᵢ²)·eᵢ): alignment aᵢ ~ U[0.55, 0.9] with the common unit direction g (pairwise
 *              cosines ≈ aᵢaⱼ ∈ [0.3, 0.8], the spread of non-IID clients starting from one global model),
 *              eᵢ a private random unit direction, norm rᵢ = baseNorm·spread^U[−1, 1] (spread 1.6).
 *   sign-flip  the negation of an honest-like update (Damaskinos et al. 2018's "reversed gradient").
 *   sybil      identical copies of one update towards a target direction b, with an honest norm.
 *   noise      i.i.d. Gaussian coordinates scaled to an honest norm.
 *   scaled     a model-replacement boost (Bagdasaryan et al. 2020): boost × baseNorm in a shared malicious
 *              direction c, each with a little private noise (so they are similar, not identical).
 *   boosted    boost × an honest update: an honest direction with an outsized norm (the norm bound's case).
 * Private directions use unit-variance uniform coordinates (in high dimension only second moments matter to
 * norms and cosines, and they are 3× cheaper to draw than normals); the noise attackers are Gaussian.
 */
import { createRng, deriveSeed, normal, type Rng } from '@fedwarden/shared';

import type { AggregationUnit } from './strategy.ts';

export type UnitKind = 'honest' | 'sign-flip' | 'sybil' | 'noise' | 'scaled' | 'boosted';

export interface SyntheticSpec {
  readonly dim: number;
  readonly counts: Partial<Record<UnitKind, number>>;
  readonly seed: number;
  /** Range of honest alignment with the common direction. Default [0.55, 0.9]. */
  readonly alignment?: readonly [number, number];
  /** Honest norms lie in [baseNorm/spread, baseNorm·spread]. Default 1.6. */
  readonly normSpread?: number;
  /** Default 1. */
  readonly baseNorm?: number;
  /** Boost of the scaled and boosted attackers. Default 10. */
  readonly boost?: number;
}

export interface SyntheticUnits {
  readonly units: AggregationUnit[];
  readonly kinds: UnitKind[];
  /** The common honest direction g (unit length). */
  readonly direction: Float32Array;
}

const KINDS: readonly UnitKind[] = ['honest', 'sign-flip', 'sybil', 'noise', 'scaled', 'boosted'];

function randomUnit(rng: Rng, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let s = 0;
  for (let j = 0; j < dim; j++) {
    const x = rng.next() - 0.5;
    v[j] = x;
    s += x * x;
  }
  const inv = 1 / Math.sqrt(s);
  for (let j = 0; j < dim; j++) v[j] = (v[j] as number) * inv;
  return v;
}

/** a·u + b·w, scaled to norm r. */
function mix(u: Float32Array, a: number, w: Float32Array, b: number, r: number): Float32Array {
  const v = new Float32Array(u.length);
  let s = 0;
  for (let j = 0; j < u.length; j++) {
    const x = a * (u[j] as number) + b * (w[j] as number);
    v[j] = x;
    s += x * x;
  }
  const k = r / Math.sqrt(s);
  for (let j = 0; j < v.length; j++) v[j] = (v[j] as number) * k;
  return v;
}

export function syntheticUnits(spec: SyntheticSpec): SyntheticUnits {
  const { dim, seed } = spec;
  const [aMin, aMax] = spec.alignment ?? [0.55, 0.9];
  const spread = spec.normSpread ?? 1.6;
  const baseNorm = spec.baseNorm ?? 1;
  const boost = spec.boost ?? 10;
  const shared = createRng(deriveSeed(seed, 0));
  const g = randomUnit(shared, dim);
  const sybilTarget = randomUnit(shared, dim);
  const scaledTarget = randomUnit(shared, dim);
  const sybilDelta = mix(sybilTarget, 1, g, 0, baseNorm);

  const units: AggregationUnit[] = [];
  const kinds: UnitKind[] = [];
  let index = 0;
  for (const kind of KINDS) {
    const count = spec.counts[kind] ?? 0;
    for (let c = 0; c < count; c++, index++) {
      const rng = createRng(deriveSeed(seed, 1, index));
      const norm = baseNorm * Math.pow(spread, 2 * rng.next() - 1);
      const honestLike = (): Float32Array => {
        const a = aMin + (aMax - aMin) * rng.next();
        return mix(g, a, randomUnit(rng, dim), Math.sqrt(1 - a * a), norm);
      };
      let delta: Float32Array;
      switch (kind) {
        case 'honest':
          delta = honestLike();
          break;
        case 'sign-flip':
          delta = honestLike().map((x) => -x);
          break;
        case 'sybil':
          delta = sybilDelta.slice();
          break;
        case 'noise': {
          delta = new Float32Array(dim);
          for (let j = 0; j < dim; j++) delta[j] = normal(rng);
          delta = mix(delta, 1, g, 0, norm);
          break;
        }
        case 'scaled':
          delta = mix(scaledTarget, 0.9, randomUnit(rng, dim), Math.sqrt(1 - 0.81), boost * baseNorm);
          break;
        case 'boosted':
          delta = honestLike().map((x) => boost * x);
          break;
        default: {
          const unreachable: never = kind;
          throw new Error(`syntheticUnits: unknown kind ${String(unreachable)}`);
        }
      }
      const id = `${kind}-${c}`;
      units.push({ id, delta, weight: kind === 'honest' ? 50 + Math.floor(100 * rng.next()) : 100, members: [id] });
      kinds.push(kind);
    }
  }
  return { units, kinds, direction: g };
}
