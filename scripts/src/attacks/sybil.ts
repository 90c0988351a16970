/**
 * Sybils: colluding identities that all push one shared update (Fung, Yoon, Beschastnikh, "The Limitations of
 * Federated Learning in Sybil Settings", RAID 2020). Identical updates form the tightest possible cluster,
 * which is what a majority-cluster defence (DBSCAN) rewards and what similarity-based defences (FoolsGold)
 * look for; a defence that cannot tell many voices from one is outvoted. With `noise` and `normJitter` the
 * identities are no longer copies of each other, only of one shared direction: the shape of colluders who
 * know that exact duplicates are easy to spot.
 *
 * Options:
 *   mode       'fixed-direction' (default): one random unit direction, drawn once from the first round's
 *              seeded rng and kept for the whole run, scaled to `scale` × the mean norm of the Byzantine
 *              participants' honest deltas: a benign-sized, persistent push in a direction unrelated to the
 *              task, that accumulates over rounds.
 *              'negated-mean': −scale·mean(honest deltas), like IPM with ε = scale.
 *   scale      ≥ 0, default 1.
 *   noise      ≥ 0, default 0 (exact copies). Each identity adds its own Gaussian noise to the shared crafted
 *              vector p, every coordinate drawn from N(0, σ²) with σ = noise·‖p‖/√d: the noise vector's norm
 *              is about noise × ‖p‖. Two identities' updates then have a cosine of about 1/(1 + noise²)
 *              (0.92 for 0.3, 0.5 for 1), while their mean still carries all of p: the noise averages out in
 *              the aggregate, and in each identity's history over rounds.
 *   normJitter in [0, 1), default 0. Each identity multiplies its vector by its own factor drawn uniformly
 *              from [1 − normJitter, 1 + normJitter] each round, so that no two norms match.
 * Noise and jitter are drawn from the round's rng after the direction, and only when nonzero, so that the
 * defaults replay exactly the copies of earlier runs.
 *
 * Limits: the direction is fixed by the adapter length seen first; a later length change throws.
 */
import { l2Norm, normal, type Rng } from '@fedwarden/shared';
import type { Attack, AttackContext } from './attack.ts';
import { checkDeltas, checkOption, meanDelta, meanNorm, scaled } from './delta-stats.ts';

export interface SybilOptions {
  readonly mode?: 'fixed-direction' | 'negated-mean';
  readonly scale?: number;
  readonly noise?: number;
  readonly normJitter?: number;
}

export function sybil(options: SybilOptions = {}): Attack {
  const mode = options.mode ?? 'fixed-direction';
  if (mode !== 'fixed-direction' && mode !== 'negated-mean') throw new RangeError(`sybil: unknown mode ${String(mode)}`);
  const scale = checkOption('sybil', 'scale', options.scale ?? 1, 0);
  const noise = checkOption('sybil', 'noise', options.noise ?? 0, 0);
  const normJitter = checkOption('sybil', 'normJitter', options.normJitter ?? 0, 0, 1);
  if (normJitter === 1) throw new RangeError('sybil: option normJitter must be below 1, got 1 (a factor of 0 would send nothing)');
  let direction: Float32Array | undefined;
  const spread = [noise > 0 ? `noise ${noise}` : '', normJitter > 0 ? `norm jitter ±${normJitter}` : ''].filter((s) => s !== '');
  const copies = spread.length > 0 ? `with independent ${spread.join(' and ')}` : 'identical';
  return {
    name: 'sybil',
    description:
      mode === 'fixed-direction'
        ? `Sybils: one fixed random direction, ${scale}× the benign norm, ${copies}`
        : `Sybils: −${scale}·mean, ${copies}`,
    craft(ctx: AttackContext): Float32Array[] {
      const d = ctx.global.length;
      checkDeltas('sybil', ctx.benign, d);
      let p: Float32Array;
      if (mode === 'negated-mean') {
        p = scaled(meanDelta(ctx.benign), -scale);
      } else {
        if (direction === undefined) {
          const v = Float32Array.from({ length: d }, () => normal(ctx.rng));
          direction = scaled(v, 1 / (l2Norm(v) || 1));
        } else if (direction.length !== d) {
          throw new RangeError(`sybil: adapter length changed from ${direction.length} to ${d}`);
        }
        p = scaled(direction, scale * meanNorm(ctx.benign));
      }
      const sigma = d === 0 ? 0 : (noise * l2Norm(p)) / Math.sqrt(d);
      return ctx.benign.map(() => perturbed(p, sigma, normJitter, ctx.rng));
    },
  };
}

/** f·(p + ε), ε ~ N(0, σ²I), f ~ U[1 − jitter, 1 + jitter]; a plain copy of p when both are 0 (no draws). */
function perturbed(p: Float32Array, sigma: number, jitter: number, rng: Rng): Float32Array {
  const out = p.slice();
  if (sigma > 0) for (let j = 0; j < out.length; j++) out[j] = (out[j] as number) + sigma * normal(rng);
  if (jitter > 0) {
    const f = 1 + jitter * (2 * rng.next() - 1);
    for (let j = 0; j < out.length; j++) out[j] = (out[j] as number) * f;
  }
  return out;
}
