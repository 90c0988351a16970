/**
 * Scaling, or model replacement (Bagdasaryan, Veit, Hua, Estrin, Shmatikov, "How To Backdoor Federated
 * Learning", AISTATS 2020): the attacker boosts its malicious update by λ so that it survives averaging with
 * the honest ones. In the paper one attacker submits λ(X − G) with λ = n/η (n participants, server rate η) and
 * the new global model becomes ≈ X, its backdoored model.
 *
 * Variant here: there are no backdoor triggers in the task, so the malicious direction comes from a base
 * attack, by default label flipping (the participants train on flipped labels, and that honest-looking delta
 * is what gets boosted). The base attack's poisoning applies; its crafted deltas are multiplied by λ.
 *
 * Options:
 *   lambda  boost factor ≥ 0; default n/f (ctx.numParticipants / ctx.numByzantine): with the server rate
 *           η = 1 of plain averaging, the f boosted deltas then add up to one whole malicious step, as if the
 *           Byzantine direction replaced the aggregate (the paper's λ = n/η shared by f attackers).
 *   base    the attack supplying the direction, default labelFlip().
 *
 * Limits: the boost makes the norm λ× a benign norm, which is exactly what norm clipping bounds; the paper's
 * "constrain-and-scale" evasion is out of scope.
 */
import type { LabeledData } from '@fedwarden/client';
import type { Attack, AttackContext } from './attack.ts';
import { checkOption, scaled } from './delta-stats.ts';
import { labelFlip } from './label-flip.ts';

export interface ScalingOptions {
  readonly lambda?: number;
  readonly base?: Attack;
}

export function scaling(options: ScalingOptions = {}): Attack {
  const fixed = options.lambda === undefined ? undefined : checkOption('scaling', 'lambda', options.lambda, 0);
  const base = options.base ?? labelFlip();
  const attack: Attack = {
    name: 'scaling',
    description: `model replacement: ${fixed === undefined ? 'n/f' : fixed}× the ${base.name} delta`,
    craft(ctx: AttackContext): Float32Array[] {
      if (ctx.numByzantine <= 0) throw new RangeError('scaling: numByzantine must be positive');
      const lambda = fixed ?? ctx.numParticipants / ctx.numByzantine;
      return base.craft(ctx).map((d) => scaled(d, lambda));
    },
  };
  const poison = base.poisonData?.bind(base);
  return poison ? { ...attack, poisonData: (data: LabeledData, round?: number) => poison(data, round) } : attack;
}
