/**
 * Gaussian noise: each Byzantine participant sends pure noise, every coordinate drawn from N(0, σ²), in place
 * of its update (the "Gaussian Byzantine workers" of Blanchard, El Mhamdi, Guerraoui, Stainer, "Machine
 * Learning with Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS 2017). The crudest attack: it
 * carries no direction, only variance, and norm bounds or clustering should remove it.
 *
 * Options:
 *   sigma      absolute standard deviation per coordinate. Left out, σ is set each round relative to the
 *              Byzantine participants' own honest deltas:
 *   normRatio  default 10: σ = normRatio · mean‖δ‖ / √d, so that the noise norm, ≈ σ·√d for large d, is
 *              normRatio times the mean benign norm. An absolute σ means nothing across tasks (adapter sizes
 *              and learning rates change the update scale), a relative one does.
 *
 * Each participant gets independent noise from the round's seeded rng.
 */
import { normal } from '@fedwarden/shared';
import type { Attack, AttackContext } from './attack.ts';
import { checkDeltas, checkOption, meanNorm } from './delta-stats.ts';

export interface GaussianNoiseOptions {
  readonly sigma?: number;
  readonly normRatio?: number;
}

export function gaussianNoise(options: GaussianNoiseOptions = {}): Attack {
  const sigma = options.sigma === undefined ? undefined : checkOption('gaussianNoise', 'sigma', options.sigma, 0);
  const ratio = checkOption('gaussianNoise', 'normRatio', options.normRatio ?? 10, 0);
  return {
    name: 'gaussian-noise',
    description: sigma === undefined ? `Gaussian noise with ${ratio}× the mean benign norm` : `Gaussian noise, σ = ${sigma} per coordinate`,
    craft(ctx: AttackContext): Float32Array[] {
      const d = ctx.global.length;
      checkDeltas('gaussianNoise', ctx.benign, d);
      const s = sigma ?? (d === 0 ? 0 : (ratio * meanNorm(ctx.benign)) / Math.sqrt(d));
      return ctx.benign.map(() => Float32Array.from({ length: d }, () => s * normal(ctx.rng)));
    },
  };
}
