/**
 * Free riding (Lin, Du, Liu, "Free-riders in Federated Learning: Attacks and Defenses", arXiv:1911.12560,
 * 2019): participants that take the global model without contributing, here by sending a zero update. The
 * wrapper still trains honestly (to report a plausible loss and time), and the reported sample count is the
 * true one, so under sample-weighted averaging the zeros dilute the honest step by their share of samples.
 * The paper's stealthier variant (random noise shaped like past global steps) is out of scope.
 */
import type { Attack, AttackContext } from './attack.ts';
import { checkDeltas } from './delta-stats.ts';

export function freeRider(): Attack {
  return {
    name: 'free-rider',
    description: 'free rider: send a zero update',
    craft(ctx: AttackContext): Float32Array[] {
      checkDeltas('freeRider', ctx.benign, ctx.global.length);
      return ctx.benign.map(() => new Float32Array(ctx.global.length));
    },
  };
}
