/**
 * Sign flipping: each Byzantine participant sends its honest delta negated and scaled, −s·δ (the
 * "sign-flipping attack" of Li, Xu, Chen, Giannakis, Ling, "RSA: Byzantine-Robust Stochastic Aggregation
 * Methods for Distributed Learning from Heterogeneous Datasets", AAAI 2019, where the negative multiplier is a
 * free parameter; with s = 1 it is the "bit flipping" of Karimireddy, He, Jaggi, ICLR 2022).
 *
 * Options:
 *   scale  s ≥ 0, default 4. Why 4: under plain averaging with a fraction φ of Byzantine participants whose
 *          honest deltas resemble the others', the aggregate is ≈ (1 − φ − φ·s)·μ. With φ = 0.2 (the
 *          simulations' default), s = 1 only slows training to 0.6·μ, s = 4 cancels progress, and s > 4
 *          reverses it. Larger s is more damaging and easier to spot by norm.
 */
import type { Attack, AttackContext } from './attack.ts';
import { checkDeltas, checkOption, scaled } from './delta-stats.ts';

export interface SignFlipOptions {
  readonly scale?: number;
}

export function signFlip(options: SignFlipOptions = {}): Attack {
  const s = checkOption('signFlip', 'scale', options.scale ?? 4, 0);
  return {
    name: 'sign-flip',
    description: `sign flip: send −${s}·(own honest delta)`,
    craft(ctx: AttackContext): Float32Array[] {
      checkDeltas('signFlip', ctx.benign, ctx.global.length);
      return ctx.benign.map((d) => scaled(d, -s));
    },
  };
}
