import { describe, expect, it } from 'vitest';
import { groupingKeyFromSeed } from '@fedwarden/coordinator';
import { disaggregationCurve, roundsToFullRank } from './disaggregation.ts';

const base = { participants: 50, groupSize: 5, absence: 0.1, rounds: 40, key: groupingKeyFromSeed(1), seed: 1 } as const;

describe('disaggregationCurve', () => {
  it('never lets an observer past the home groups when fixed groups run only complete', () => {
    const curve = disaggregationCurve({ ...base, policy: 'fixed', minGroupSize: 5 });
    expect(Math.max(...curve.map((p) => p.rank))).toBeLessThanOrEqual(10);
    expect(curve.every((p) => p.solvable === 0)).toBe(true);
    expect(curve.some((p) => p.satOut > 0)).toBe(true);
  });

  it('solves every update within a few rounds of reshuffling, sooner than with fixed groups that run one short', () => {
    const reshuffle = disaggregationCurve({ ...base, policy: 'reshuffle', minGroupSize: 5 });
    const fixed = disaggregationCurve({ ...base, policy: 'fixed', minGroupSize: 4 });
    const r = roundsToFullRank(reshuffle, 50);
    expect(r).not.toBeNull();
    expect(r as number).toBeLessThanOrEqual(10);
    expect(reshuffle.at(-1)?.solvable).toBe(50);
    expect(fixed[r! - 1]!.rank).toBeLessThan(50);
    expect(fixed.at(-1)!.solvable).toBeGreaterThan(0);
  });

  it('is monotone and replays from its seed', () => {
    const a = disaggregationCurve({ ...base, policy: 'reputation', minGroupSize: 5, scores: Array.from({ length: 50 }, (_, i) => i % 2) });
    expect(a).toEqual(disaggregationCurve({ ...base, policy: 'reputation', minGroupSize: 5, scores: Array.from({ length: 50 }, (_, i) => i % 2) }));
    for (let i = 1; i < a.length; i++) expect(a[i]!.rank).toBeGreaterThanOrEqual(a[i - 1]!.rank);
    expect(() => disaggregationCurve({ ...base, policy: 'reputation', minGroupSize: 5, scores: [1] })).toThrow('disaggregationCurve: 1 scores for 50 participants');
  });
});
