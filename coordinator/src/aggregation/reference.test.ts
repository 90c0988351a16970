import { describe, expect, it } from 'vitest';
import { checkAgainstReference } from './reference.ts';
import { unit } from './test-helpers.ts';

const reference = Float32Array.from([0.5, 0]);
/** Unit-norm units at the given cosines with the reference [0.5, 0]. */
const at = (cosines: readonly number[], prefix = 'u') => cosines.map((c, i) => unit(`${prefix}${i}`, [c, Math.sqrt(1 - c * c)]));
const ones = (n: number) => new Array<number>(n).fill(1);
const check = (cosines: readonly number[], options = {}) => checkAgainstReference(at(cosines), ones(cosines.length), reference, options);

describe('checkAgainstReference', () => {
  it('reports every cosine, exactly', () => {
    const r = check([1, Math.SQRT1_2, 0, -0.6]);
    expect(r.norm).toBeCloseTo(0.5, 12);
    expect(Array.from(r.cosines)).toEqual([1, Math.SQRT1_2, 0, -0.6].map((c) => expect.closeTo(c, 6))); // float32 deltas
  });

  it('rejects opposing units even when most units are poisoned', () => {
    // Secure groups: 3 clean, 4 with an attacker that cancels them, 3 with two that reverse them.
    const r = check([0.8, 0.75, 0.82, 0.02, -0.03, 0.01, -0.02, -0.6, -0.55, -0.65]);
    expect(r.passed).toEqual([true, true, true, true, true, true, true, false, false, false]);
    expect(r.rejected[0]!.reason).toBe('points away from the trusted reference (cosine -0.600 ≤ -0.400, opposing)');
  });

  it('rejects units just below zero when the cohort sits clearly above it', () => {
    // Trusted mode mid-training: honest cosines 0.2–0.4, label flippers slightly negative.
    const honest = [0.2, 0.22, 0.25, 0.27, 0.3, 0.31, 0.33, 0.35, 0.38, 0.4];
    const r = check([...honest, -0.04, -0.06]);
    expect(r.passed).toEqual([...honest.map(() => true), false, false]);
    expect(r.rejected.map((v) => v.reason)).toEqual([
      expect.stringMatching(/^points away from the trusted reference \(cosine -0\.040 < -?0\.\d{3}, an outlier\)$/),
      expect.stringMatching(/cosine -0\.060 < -?0\.\d{3}, an outlier/),
    ]);
  });

  it('keeps units scattered around zero when none stands out (late training)', () => {
    const r = check([-0.04, -0.02, -0.01, 0, 0.02, 0.03, 0.05, 0.08, 0.1, 0.12]);
    expect(r.rejected).toEqual([]);
  });

  it('never rejects a unit above the floor, and takes a stricter floor', () => {
    expect(check([0.9, 0.9, 0.9, 0.9, 0.01]).passed).toEqual([true, true, true, true, true]);
    expect(check([0.9, 0.9, 0.9, 0.9, 0.01], { minCosine: 0.5 }).passed).toEqual([true, true, true, true, false]);
  });

  it('refuses a zero or non-finite reference, bad options, and mismatched lengths', () => {
    const units = at([0.5, 0.5]);
    expect(() => checkAgainstReference(units, [1, 1], Float32Array.from([0, 0]))).toThrow(/finite and non-zero/);
    expect(() => checkAgainstReference(units, [1, 1], Float32Array.from([Number.NaN, 1]))).toThrow(/finite and non-zero/);
    expect(() => checkAgainstReference(units, [1, 1], reference, { minCosine: 1 })).toThrow(/minCosine/);
    expect(() => checkAgainstReference(units, [1, 1], reference, { opposeFraction: -1 })).toThrow(/opposeFraction/);
    expect(() => checkAgainstReference(units, [1, 1], reference, { outlierMads: Number.NaN })).toThrow(/outlierMads/);
    expect(() => checkAgainstReference(units, [1, 1], Float32Array.from([1, 0, 0]))).toThrow(/has 2 ≠ 3 values/);
    expect(() => checkAgainstReference(units, [1], reference)).toThrow(/one norm per unit/);
    expect(checkAgainstReference([], [], reference).rejected).toEqual([]);
  });
});
