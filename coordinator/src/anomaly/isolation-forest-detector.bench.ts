/**
 * Cost of one round of the isolation-forest detector (scoreUnits) against the histories a federation reaches
 * with the default 10 rounds: 10, 50, 500 and 1,000 units a round → 100, 500, 5,000 and 10,000 history rows
 * the forest is fitted on, and the current round's units scored against it. A benchmark, not a test: it
 * prints vitest's timing table.
 *
 *   pnpm vitest bench --run coordinator/src/anomaly/isolation-forest-detector.bench.ts
 */
import { bench, describe } from 'vitest';
import { scoreUnits } from './isolation-forest-detector.ts';
import { ordinaryRows } from './ordinary-rows.ts';

const rows = ordinaryRows;

describe('scoreUnits, the current round against 10 rounds of history', () => {
  for (const units of [10, 50, 500, 1000]) {
    const history = rows(10 * units, 1, 'h');
    const current = rows(units, 2, 'u');
    let round = 0;
    bench(`${10 * units} history rows (${units} units scored)`, () => {
      scoreUnits(history, current, ++round);
    }, { iterations: 10, time: 0, warmupIterations: 1, warmupTime: 0 });
  }
});
