/**
 * FedAvg as a Strategy (McMahan et al., "Communication-Efficient Learning of Deep Networks from Decentralized
 * Data", AISTATS 2017, arXiv:1602.05629): sanity checks, then the weight-proportional mean of fedavg.ts.
 * Tolerance: none. One Byzantine unit moves the step arbitrarily far; it is the baseline the robust strategies
 * are compared against, and the right choice only when every participant is trusted.
 */
import { fedAvg } from './fedavg.ts';
import { sanityCheck, type SanityOptions } from './sanity.ts';
import type { AggregationResult, AggregationUnit, Strategy, StrategyContext } from './strategy.ts';
import { ids } from './unit-math.ts';

export type FedAvgStrategyOptions = SanityOptions;

export function createFedAvg(options: FedAvgStrategyOptions = {}): Strategy {
  return {
    name: 'fedavg',
    tolerance: 'McMahan et al. 2017; tolerates no Byzantine unit (f = 0)',
    aggregate(units: readonly AggregationUnit[], ctx: StrategyContext): AggregationResult {
      const { kept, rejected } = sanityCheck(units, ctx.dim, options);
      const step = kept.length === 0 ? new Float32Array(ctx.dim) : fedAvg(kept, ctx.dim);
      return { step, kept: ids(kept), rejected, adjusted: [] };
    },
  };
}
