import { describe, expect, it } from 'vitest';
import { createFedAvg } from './fedavg-strategy.ts';
import { context, unit } from './test-helpers.ts';

const close = (a: Float32Array, b: readonly number[], digits = 5): void => {
  expect(a.length).toBe(b.length);
  b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, digits));
};

describe('fedavg strategy', () => {
  it('is the weighted mean of the sane units', () => {
    const r = createFedAvg().aggregate([unit('a', [1, 0, 4], 1), unit('b', [3, 2, 0], 3), unit('c', [Number.NaN, 0, 0])], context(3));
    close(r.step, [2.5, 1.5, 1]);
    expect(r.kept).toEqual(['a', 'b']);
    expect(r.rejected).toEqual([{ id: 'c', reason: 'non-finite values' }]);
  });

  it('returns a zero step when nothing is sane', () => {
    close(createFedAvg().aggregate([unit('z', [0, 0])], context(2)).step, [0, 0]);
  });
});
