import { describe, expect, it } from 'vitest';
import { centeredClipping, createCenteredClipping } from './centered-clipping.ts';
import { context, unit } from './test-helpers.ts';

const close = (a: Float32Array, b: readonly number[], digits = 5): void => {
  expect(a.length).toBe(b.length);
  b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, digits));
};

describe('centered clipping (Karimireddy et al. 2021)', () => {
  // Honest units around (10, 0) at distance √2; one outlier at (1000, 0).
  const honest = [unit('h1', [11, 1]), unit('h2', [11, -1]), unit('h3', [9, 1]), unit('h4', [9, -1])];
  const units = [...honest, unit('bad', [1000, 0])];

  it('one iteration from a good centre moves by the clipped outlier only', () => {
    // v = (10, 0); τ = median distance = √2; honest differences cancel; the outlier adds (√2, 0); /5.
    const { step } = centeredClipping(units, 2, Float32Array.of(10, 0), 1);
    close(step, [10 + Math.SQRT2 / 5, 0]);
  });

  it('stays near the honest mean with one far outlier, from the previous step or from zero', () => {
    const fromPrevious = createCenteredClipping().aggregate(units, context(2, [10, 0]));
    expect(Math.abs((fromPrevious.step[0] as number) - 10)).toBeLessThan(0.5);
    expect(fromPrevious.adjusted.map((v) => v.id)).toEqual(['bad']);
    const fromZero = createCenteredClipping().aggregate(units, context(2));
    expect(Math.abs((fromZero.step[0] as number) - 10)).toBeLessThan(1);
    expect(Math.abs(fromZero.step[1] as number)).toBeLessThan(1e-6);
    // FedAvg of the same units lands at 208.
  });

  it('with a fixed τ each unit moves the centre at most τ/n per iteration', () => {
    const { step } = centeredClipping(units, 2, Float32Array.of(10, 0), 1, 0.5);
    // honest clipped symmetrically (net zero), outlier contributes 0.5 → +0.1
    close(step, [10.1, 0]);
  });
});
