/**
 * IPM, inner product manipulation (Xie, Koyejo, Gupta, "Fall of Empires: Breaking Byzantine-tolerant SGD by
 * Inner Product Manipulation", UAI 2019, PMLR 115, 2020). Every Byzantine participant sends −ε·μ, μ the mean
 * of honest updates (estimated here from the Byzantine participants' own honest deltas), so that the inner
 * product of the aggregate with the true descent direction turns non-positive.
 *
 * Options:
 *   epsilon  ε ≥ 0, default 0.5.
 *            Small ε (0.1, the value the paper pits against Krum): −ε·μ is short and sits close to the honest
 *            cloud, so distance-based rules (Krum, median) pick or keep it while it pulls against progress.
 *            Large ε: under plain averaging with f of n Byzantine the aggregate is ((n − f) − f·ε)/n · μ,
 *            negative once ε > (n − f)/f (4 at 20 %); it defeats averaging outright but its norm stands out.
 *            0.5 sits between: still benign-sized, enough to visibly slow a defence that keeps it.
 */
import type { Attack, AttackContext } from './attack.ts';
import { checkDeltas, checkOption, meanDelta, scaled } from './delta-stats.ts';

export interface IpmOptions {
  readonly epsilon?: number;
}

export function ipm(options: IpmOptions = {}): Attack {
  const epsilon = checkOption('ipm', 'epsilon', options.epsilon ?? 0.5, 0);
  return {
    name: 'ipm',
    description: `IPM: −${epsilon}·(mean of the Byzantine participants' own deltas)`,
    craft(ctx: AttackContext): Float32Array[] {
      checkDeltas('ipm', ctx.benign, ctx.global.length);
      const p = scaled(meanDelta(ctx.benign), -epsilon);
      return ctx.benign.map(() => p.slice());
    },
  };
}
