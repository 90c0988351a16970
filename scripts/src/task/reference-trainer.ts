/**
 * The operator's side of the trusted reference (coordinator/src/aggregation/reference.ts, FLTrust): each round,
 * train a copy of the round's global adapter on the small clean root dataset with the participants' plan, and
 * return the delta. Given to the Coordinator as its `reference` option.
 */
import type { LabeledData, TrainableModel } from '@fedwarden/client';
import { deriveSeed, subtract, type TrainingPlan } from '@fedwarden/shared';

export function createReferenceTrainer(
  model: TrainableModel,
  root: LabeledData,
  plan: TrainingPlan,
  seed: number,
): (global: Float32Array, round: number) => Promise<Float32Array> {
  if (root.count < 1) throw new RangeError('createReferenceTrainer: empty root dataset');
  return async (global, round) => {
    model.setWeights(global);
    const training = model.train(root, { ...plan, seed: deriveSeed(seed, round) });
    while (!(await training.next()).done);
    return subtract(model.getWeights(), global);
  };
}
