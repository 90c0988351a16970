/** Aggregation strategies by name, configured from the coordinator config. */
import type { BetaReputation } from '../reputation/beta-reputation.ts';
import { createCenteredClipping } from './centered-clipping.ts';
import { createCoordinateMedian } from './coordinate-median.ts';
import { createFedAvg } from './fedavg-strategy.ts';
import { createKrum, createMultiKrum } from './krum.ts';
import { createFedwardenStrategy } from './robust-pipeline.ts';
import type { Strategy } from './strategy.ts';
import { createTrimmedMean } from './trimmed-mean.ts';

export const STRATEGY_NAMES = ['fedwarden', 'fedavg', 'median', 'trimmed-mean', 'krum', 'multi-krum', 'centered-clipping'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export interface StrategySettings {
  readonly strategy: StrategyName;
  readonly clipFactor: number;
  readonly trimFraction: number;
  readonly byzantineFraction: number;
}

export function createStrategy(settings: StrategySettings, reputation: BetaReputation): Strategy {
  switch (settings.strategy) {
    case 'fedwarden':
      return createFedwardenStrategy({ reputation, clipFactor: settings.clipFactor });
    case 'fedavg':
      return createFedAvg();
    case 'median':
      return createCoordinateMedian();
    case 'trimmed-mean':
      return createTrimmedMean({ beta: settings.trimFraction });
    case 'krum':
      return createKrum({ byzantineFraction: settings.byzantineFraction });
    case 'multi-krum':
      return createMultiKrum({ byzantineFraction: settings.byzantineFraction });
    case 'centered-clipping':
      return createCenteredClipping();
    default: {
      const unknown: never = settings.strategy;
      throw new RangeError(`unknown strategy ${String(unknown)}`);
    }
  }
}
