/**
 * Label flipping, the classic data-poisoning attack (Biggio, Nelson, Laskov, "Support Vector Machines Under
 * Adversarial Label Noise", ACML 2011; in federated learning: Tolpegin, Truex, Gursoy, Liu, "Data Poisoning
 * Attacks Against Federated Learning Systems", ESORICS 2020; the all-class map y → C − 1 − y is the one of
 * Fang, Cao, Jia, Gong, "Local Model Poisoning Attacks to Byzantine-Robust Federated Learning", USENIX
 * Security 2020).
 *
 * Byzantine participants relabel their data and then train and report honestly: the update is the honest
 * gradient of a wrong objective, with a benign-looking norm, which is what makes it hard to filter.
 *
 * Options:
 *   source, target  targeted variant (Tolpegin et al.): only labels `source` become `target`. Both or neither;
 *                   class indices in [0, C). Left out: every label y becomes C − 1 − y.
 *
 * Limits: the inputs are shared, not copied (only the labels change). Data already poisoned (poisoned-data.ts)
 * is returned unchanged, since y → C − 1 − y applied twice would restore the honest labels.
 */
import type { LabeledData } from '@fedwarden/client';
import type { Attack, AttackContext } from './attack.ts';
import { checkDeltas } from './delta-stats.ts';
import { isPoisoned, markPoisoned } from './poisoned-data.ts';

export interface LabelFlipOptions {
  readonly source?: number;
  readonly target?: number;
}

/** y → C − 1 − y for every label, or source → target only; a new LabeledData sharing the inputs. */
export function flipLabels(data: LabeledData, options: LabelFlipOptions = {}): LabeledData {
  const C = data.numClasses;
  const { source, target } = options;
  const labels = new Int32Array(data.labels.subarray(0, data.count));
  if (source === undefined && target === undefined) {
    for (let i = 0; i < labels.length; i++) labels[i] = C - 1 - (labels[i] as number);
  } else {
    for (const [name, v] of [['source', source], ['target', target]] as const) {
      if (v === undefined || !Number.isInteger(v) || v < 0 || v >= C) {
        throw new RangeError(`labelFlip: option ${name} must be a class index in [0, ${C}), got ${v}`);
      }
    }
    for (let i = 0; i < labels.length; i++) if (labels[i] === source) labels[i] = target as number;
  }
  return { ...data, labels };
}

export function labelFlip(options: LabelFlipOptions = {}): Attack {
  if ((options.source === undefined) !== (options.target === undefined)) {
    throw new RangeError('labelFlip: give both source and target, or neither');
  }
  const targeted = options.source !== undefined;
  return {
    name: 'label-flip',
    description: targeted ? `label flip ${options.source} → ${options.target}, then honest training` : 'label flip y → C−1−y, then honest training',
    poisonData(data: LabeledData): LabeledData {
      return isPoisoned(data) ? data : markPoisoned(flipLabels(data, options));
    },
    craft(ctx: AttackContext): Float32Array[] {
      checkDeltas('labelFlip', ctx.benign, ctx.global.length);
      return ctx.benign.map((d) => d.slice());
    },
  };
}
