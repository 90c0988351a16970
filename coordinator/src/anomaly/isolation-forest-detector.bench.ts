/**
 * Cost of one round of the isolation-forest detector (scoreUnits) against the window sizes a federation
 * reaches with the default 10 rounds of history: 10, 50, 500 and 1,000 units a round → 110, 550, 5,500 and
 * 11,000 rows, of which the last round's units are scored. A benchmark, not a test: it prints vitest's timing
 * table.
 *
 *   pnpm vitest bench --run coordinator/src/anomaly/isolation-forest-detector.bench.ts
 */
import { bench, describe } from 'vitest';
import { scoreUnits } from './isolation-forest-detector.ts';
import { ordinaryRows } from './ordinary-rows.ts';

const rows = ordinaryRows;

describe('scoreUnits, 10 rounds of history + the current round', () => {
  for (const units of [10, 50, 500, 1000]) {
    const history = rows(10 * units, 1, 'h');
    const current = rows(units, 2, 'u');
    let round = 0;
    bench(`${11 * units} rows (${units} units scored)`, () => {
      scoreUnits(history, current, ++round);
    }, { iterations: 10, time: 0, warmupIterations: 1, warmupTime: 0 });
  }
});
