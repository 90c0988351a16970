/**
 * ALIE, "A Little Is Enough" (Baruch, Baruch, Goldberg, "A Little Is Enough: Circumventing Defenses For
 * Distributed Learning", NeurIPS 2019). Every Byzantine participant sends the same vector, shifted from the
 * honest mean by a small multiple of the honest spread in every coordinate:
 *
 *   p_j = μ_j − z·σ_j
 *
 * Small enough to sit among honest updates (median, trimmed mean, Krum and Bulyan keep it), consistent enough
 * across coordinates and rounds to steer the model. z_max follows the paper: the attackers need
 * s = ⌊n/2 + 1⌋ − f honest "supporters" farther from the mean than themselves, so
 *
 *   z_max = Φ⁻¹((n − s)/n)        e.g. n = 50, f = 10: s = 16, Φ⁻¹(0.68) ≈ 0.4677
 *
 * (Some public reimplementations use Φ⁻¹((n − f − s)/(n − f)) instead, 0.2533 for the same n, f; this file
 * keeps the paper's.) μ and σ are estimated from the Byzantine participants' own honest deltas (sample
 * standard deviation), the non-omniscient setting of the paper; with a single Byzantine participant σ = 0
 * and the attack degenerates to sending its honest delta.
 *
 * Options:
 *   z  fixed shift in standard deviations; default z_max from ctx.numParticipants and ctx.numByzantine.
 */
import type { Attack, AttackContext } from './attack.ts';
import { checkDeltas, checkOption, meanDelta, stdDelta } from './delta-stats.ts';
import { normalQuantile } from './normal-quantile.ts';

export interface AlieOptions {
  readonly z?: number;
}

/** The paper's z_max for n participants of which f are Byzantine; needs 1 ≤ s = ⌊n/2 + 1⌋ − f < n. */
export function alieZMax(n: number, f: number): number {
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(f) || n < 1 || f < 0 || f > n) {
    throw new RangeError(`alieZMax: need integers 0 ≤ f ≤ n, n ≥ 1, got n = ${n}, f = ${f}`);
  }
  const s = Math.floor(n / 2 + 1) - f;
  if (s < 1) throw new RangeError(`alieZMax: f = ${f} of n = ${n} is a majority already (needs f ≤ ⌊n/2⌋)`);
  if (s >= n) throw new RangeError(`alieZMax: n = ${n}, f = ${f} leaves no room for a shift`);
  return normalQuantile((n - s) / n);
}

export function alie(options: AlieOptions = {}): Attack {
  const fixed = options.z === undefined ? undefined : checkOption('alie', 'z', options.z, -Infinity);
  return {
    name: 'alie',
    description: `ALIE: μ − ${fixed === undefined ? 'z_max' : fixed}·σ of the Byzantine participants' own deltas`,
    craft(ctx: AttackContext): Float32Array[] {
      checkDeltas('alie', ctx.benign, ctx.global.length);
      const z = fixed ?? alieZMax(ctx.numParticipants, ctx.numByzantine);
      const mu = meanDelta(ctx.benign);
      const sigma = stdDelta(ctx.benign, mu);
      const p = Float32Array.from(mu, (m, j) => m - z * (sigma[j] as number));
      return ctx.benign.map(() => p.slice());
    },
  };
}
