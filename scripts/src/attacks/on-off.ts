/**
 * On-off: behave honestly for a while, then attack. The classic counter to reputation systems (Sun, Han, Liu,
 * "Defense of Trust Management Vulnerabilities in Distributed Networks", IEEE Communications Magazine 2008):
 * the honest phase builds reputation that the attack phase then spends. Here the switch is one-way.
 *
 * Options:
 *   honestRounds  default 10: in rounds 1..honestRounds (AttackContext rounds) the participants train on their
 *                 true data and send their honest deltas; from round honestRounds + 1 on, `then` acts.
 *   then          the attack of the second phase, default signFlip(). Its data poisoning, if any, applies from
 *                 the switch on; called without a round (up front), poisonData returns the data unchanged,
 *                 since only the Adversary knows the round at training time.
 */
import type { LabeledData } from '@fedwarden/client';
import type { Attack, AttackContext } from './attack.ts';
import { checkDeltas } from './delta-stats.ts';
import { signFlip } from './sign-flip.ts';

export interface OnOffOptions {
  readonly honestRounds?: number;
  readonly then?: Attack;
}

export function onOff(options: OnOffOptions = {}): Attack {
  const honestRounds = options.honestRounds ?? 10;
  if (!Number.isSafeInteger(honestRounds) || honestRounds < 0) {
    throw new RangeError(`onOff: option honestRounds must be a non-negative integer, got ${honestRounds}`);
  }
  const then = options.then ?? signFlip();
  const attack: Attack = {
    name: 'on-off',
    description: `on-off: honest for ${honestRounds} rounds, then ${then.description}`,
    craft(ctx: AttackContext): Float32Array[] {
      if (ctx.round > honestRounds) return then.craft(ctx);
      checkDeltas('onOff', ctx.benign, ctx.global.length);
      return ctx.benign.map((d) => d.slice());
    },
  };
  const poison = then.poisonData?.bind(then);
  if (!poison) return attack;
  return {
    ...attack,
    poisonData: (data: LabeledData, round?: number) => (round !== undefined && round > honestRounds ? poison(data, round) : data),
  };
}
