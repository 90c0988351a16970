import { describe, expect, it } from 'vitest';
import { checkAgainstReference, replicateNoise } from './reference.ts';
import { unit } from './test-helpers.ts';

const delta = Float32Array.from([0.5, 0]);
const reference = { delta, replicates: [] };
const withDelta = (d: Float32Array) => ({ delta: d, replicates: [] });
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
    expect(() => checkAgainstReference(units, [1, 1], withDelta(Float32Array.from([0, 0])))).toThrow(/finite and non-zero/);
    expect(() => checkAgainstReference(units, [1, 1], withDelta(Float32Array.from([Number.NaN, 1])))).toThrow(/finite and non-zero/);
    expect(() => checkAgainstReference(units, [1, 1], reference, { minCosine: 1 })).toThrow(/minCosine/);
    expect(() => checkAgainstReference(units, [1, 1], reference, { opposeFraction: -1 })).toThrow(/opposeFraction/);
    expect(() => checkAgainstReference(units, [1, 1], reference, { outlierMads: Number.NaN })).toThrow(/outlierMads/);
    expect(() => checkAgainstReference(units, [1, 1], withDelta(Float32Array.from([1, 0, 0])))).toThrow(/has 2 ≠ 3 values/);
    expect(() => checkAgainstReference(units, [1], reference)).toThrow(/one norm per unit/);
    expect(checkAgainstReference([], [], reference).rejected).toEqual([]);
  });

  it('measures the root sample\'s noise from replicates, and no opposing rejection lies within 2 σ of zero', () => {
    // Late training: cosines scatter around zero. The replicates (two root halves, here the reference turned by
    // ±0.035 rad) disagree about each unit's cosine by about ±0.035, so a cosine with the whole root set has a
    // standard error of about 0.05 and −0.09 is within 2 σ of zero.
    const cosines = [-0.09, -0.06, -0.02, 0, 0.02, 0.05, 0.08, 0.1, 0.12, 0.13];
    const units = at(cosines);
    const rotated = (theta: number) => Float32Array.from([Math.cos(theta), Math.sin(theta)]);
    const noisy = { delta: Float32Array.from([1, 0]), replicates: [rotated(0.035), rotated(-0.035)] };
    const withNoise = checkAgainstReference(units, ones(10), noisy);
    expect(withNoise.noise).toBeGreaterThan(0.04);
    expect(withNoise.rejected).toEqual([]);
    // They are kept but doubted: the pipeline gives them negative reputation evidence.
    expect(withNoise.passed.every(Boolean)).toBe(true);
    expect(withNoise.doubted.map((v) => v.id)).toEqual(['u0', 'u1']);
    expect(withNoise.doubted[0]!.reason).toMatch(/^points away from the trusted reference within its noise \(cosine -0\.090 ≤ -0\.06\d, > -0\.1\d\d = −2 σ\)$/);
    // The same cosines with no replicates: −½·q90 alone calls the two lowest units opposing.
    expect(check(cosines).rejected.map((v) => v.id)).toEqual(['u0', 'u1']);
  });

  it('still rejects units that oppose the reference beyond its noise', () => {
    const units = at([0.8, 0.75, 0.82, 0.02, -0.03, 0.01, -0.02, -0.6, -0.55, -0.65]);
    const rotated = (theta: number) => Float32Array.from([Math.cos(theta), Math.sin(theta)]);
    const r = checkAgainstReference(units, ones(10), { delta: Float32Array.from([1, 0]), replicates: [rotated(0.05), rotated(-0.05)] });
    expect(r.noise).toBeGreaterThan(0);
    expect(r.noise).toBeLessThan(0.2);
    expect(r.passed).toEqual([true, true, true, true, true, true, true, false, false, false]);
    expect(r.doubted).toEqual([]);
  });

  it('replicateNoise: zero for identical replicates or fewer than two, else the deviations\' robust scale over √(R − 1)', () => {
    const units = at([0.3, -0.2, 0.5, 0.1]);
    expect(replicateNoise(units, ones(4), [delta, delta])).toBe(0);
    expect(replicateNoise(units, ones(4), [delta])).toBe(0);
    expect(replicateNoise([], [], [delta, delta])).toBe(0);
    // Cosines 0.1 with a and −0.1 with b: every deviation from a unit's mean is ±0.1, so MAD = 0.1 and, with
    // R = 2, σ = 1.4826 × 0.1 / √1.
    const a = Float32Array.from([1, 0]);
    const b = Float32Array.from([-1, 0]);
    expect(replicateNoise(at([0.1, 0.1, 0.1, 0.1]), ones(4), [a, b])).toBeCloseTo(1.4826 * 0.1, 4);
  });

  it('refuses a single replicate, a replicate of the wrong length, and a zero replicate', () => {
    const units = at([0.5, 0.5]);
    expect(() => checkAgainstReference(units, [1, 1], { delta, replicates: [delta] })).toThrow(/one replicate/);
    expect(() => checkAgainstReference(units, [1, 1], { delta, replicates: [delta, Float32Array.from([1, 0, 0])] })).toThrow(/differs in length/);
    expect(() => checkAgainstReference(units, [1, 1], { delta, replicates: [delta, Float32Array.from([0, 0])] })).toThrow(/replicate 1 must be finite/);
    expect(() => checkAgainstReference(units, [1, 1], reference, { opposeSigmas: -1 })).toThrow(/opposeSigmas/);
  });
});
