/** Tiny builders for the aggregation tests (not part of the coordinator's API). */
import type { AggregationUnit, StrategyContext } from './strategy.ts';

export function unit(id: string, values: readonly number[], weight = 1, members: readonly string[] = [id]): AggregationUnit {
  return { id, delta: Float32Array.from(values), weight, members };
}

export function context(dim: number, previousStep: readonly number[] = new Array<number>(dim).fill(0), seed = 7): StrategyContext {
  return { round: 1, dim, seed, previousStep: Float32Array.from(previousStep) };
}
