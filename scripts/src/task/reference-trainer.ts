/**
 * The operator's side of the trusted reference (coordinator/src/aggregation/reference.ts, FLTrust): each round,
 * train a copy of the round's global adapter on the small clean root dataset with the participants' plan, and
 * return the delta. Given to the Coordinator as its `reference` option.
 *
 * With `replicates` R ≥ 2 (default 2), the same step is also trained on R disjoint parts of the root data
 * (a seeded shuffle dealt round-robin), so that the coordinator can tell how much of a unit's cosine with the
 * reference is the root sample's own noise. It costs one more pass over the root data per round.
 */
import type { LabeledData, TrainableModel } from '@fedwarden/client';
import type { TrustedReference } from '@fedwarden/coordinator';
import { createRng, deriveSeed, shuffle, subtract, type TrainingPlan } from '@fedwarden/shared';
import { selectSamples } from './labeled-data.ts';

export interface ReferenceTrainerOptions {
  /** Disjoint root parts to train replicates on: 0 (none) or ≥ 2, each part at least one example. Default 2. */
  readonly replicates?: number;
}

export function createReferenceTrainer(
  model: TrainableModel,
  root: LabeledData,
  plan: TrainingPlan,
  seed: number,
  options: ReferenceTrainerOptions = {},
): (global: Float32Array, round: number) => Promise<TrustedReference> {
  if (root.count < 1) throw new RangeError('createReferenceTrainer: empty root dataset');
  const r = options.replicates ?? 2;
  if (!(Number.isInteger(r) && (r === 0 || (r >= 2 && r <= root.count)))) {
    throw new RangeError(`createReferenceTrainer: replicates ${r} must be 0, or 2 to the ${root.count} root examples`);
  }
  const order = shuffle(createRng(deriveSeed(seed, 0x9a27)), Array.from({ length: root.count }, (_, i) => i));
  const parts = Array.from({ length: r }, (_, k) => selectSamples(root, order.filter((_, i) => i % r === k)));
  const trainFrom = async (global: Float32Array, data: LabeledData, runSeed: number): Promise<Float32Array> => {
    model.setWeights(global);
    const training = model.train(data, { ...plan, seed: runSeed });
    while (!(await training.next()).done);
    return subtract(model.getWeights(), global);
  };
  return async (global, round) => {
    const delta = await trainFrom(global, root, deriveSeed(seed, round));
    const replicates: Float32Array[] = [];
    for (const [k, part] of parts.entries()) replicates.push(await trainFrom(global, part, deriveSeed(seed, round, k + 1)));
    return { delta, replicates };
  };
}
