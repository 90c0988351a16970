/**
 * Sybils: colluding identities that all send the same update (Fung, Yoon, Beschastnikh, "The Limitations of
 * Federated Learning in Sybil Settings", RAID 2020). Identical updates form the tightest possible cluster,
 * which is what a majority-cluster defence (DBSCAN) rewards and what similarity-based defences (FoolsGold)
 * look for; a defence that cannot tell many voices from one is outvoted.
 *
 * Options:
 *   mode   'fixed-direction' (default): one random unit direction, drawn once from the first round's seeded
 *          rng and kept for the whole run, scaled to `scale` × the mean norm of the Byzantine participants'
 *          honest deltas: a benign-sized, persistent push in a direction unrelated to the task, that
 *          accumulates over rounds.
 *          'negated-mean': −scale·mean(honest deltas), like IPM with ε = scale.
 *   scale  ≥ 0, default 1.
 *
 * Limits: the direction is fixed by the adapter length seen first; a later length change throws.
 */
import { l2Norm, normal } from '@fedwarden/shared';
import type { Attack, AttackContext } from './attack.ts';
import { checkDeltas, checkOption, meanDelta, meanNorm, scaled } from './delta-stats.ts';

export interface SybilOptions {
  readonly mode?: 'fixed-direction' | 'negated-mean';
  readonly scale?: number;
}

export function sybil(options: SybilOptions = {}): Attack {
  const mode = options.mode ?? 'fixed-direction';
  if (mode !== 'fixed-direction' && mode !== 'negated-mean') throw new RangeError(`sybil: unknown mode ${String(mode)}`);
  const scale = checkOption('sybil', 'scale', options.scale ?? 1, 0);
  let direction: Float32Array | undefined;
  return {
    name: 'sybil',
    description: mode === 'fixed-direction' ? `Sybils: one fixed random direction, ${scale}× the benign norm` : `Sybils: −${scale}·mean, identical`,
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
      return ctx.benign.map(() => p.slice());
    },
  };
}
