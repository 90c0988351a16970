import { describe, expect, it } from 'vitest';
import { partitionGroups } from './groups.ts';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`);

describe('partitionGroups', () => {
  it('covers every participant once, in groups of groupSize..2·groupSize-1', () => {
    for (const n of [5, 7, 12, 23, 50]) {
      const groups = partitionGroups(ids(n), 5, 'reshuffle', 1, 3);
      expect(groups.flat().sort()).toEqual(ids(n).sort());
      for (const g of groups) expect(g.length).toBeGreaterThanOrEqual(5);
      const sizes = groups.map((g) => g.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('forms no group smaller than groupSize', () => {
    expect(partitionGroups(ids(4), 5, 'fixed', 1, 1)).toEqual([]);
  });

  it('keeps fixed groups across rounds and reshuffles otherwise', () => {
    const fixed1 = partitionGroups(ids(20), 5, 'fixed', 7, 1);
    expect(partitionGroups(ids(20), 5, 'fixed', 7, 2)).toEqual(fixed1);
    const r1 = partitionGroups(ids(20), 5, 'reshuffle', 7, 1);
    const r2 = partitionGroups(ids(20), 5, 'reshuffle', 7, 2);
    expect(r1).not.toEqual(r2);
  });

  it('puts participants with a long one-sided record at the top or the bottom, suspects together', () => {
    const suspects = ['p3', 'p8', 'p11', 'p17', 'p19'];
    // Forty rounds of evidence each way: Beta(41, 1) against Beta(1, 41) never overlap in practice.
    const trust = (id: string) => (suspects.includes(id) ? { alpha: 0, beta: 40 } : { alpha: 40, beta: 0 });
    for (let round = 1; round <= 50; round++) {
      const groups = partitionGroups(ids(20), 5, 'reputation', 7, round, trust);
      expect(groups.flat().sort()).toEqual(ids(20).sort());
      expect([...(groups.at(-1) as string[])].sort()).toEqual([...suspects].sort());
    }
    expect(() => partitionGroups(ids(20), 5, 'reputation', 7, 1)).toThrow(/needs the participants' trust evidence/);
  });

  it('re-mixes group-mates whose shared evidence left them with nearly equal scores', () => {
    // Four former groups of five, each with its own (slightly different) shared record: ranked by score
    // they would be regrouped exactly as they were, every round.
    const trust = (id: string) => ({ alpha: 3, beta: 2 + 0.01 * Math.floor(Number(id.slice(1)) / 5) });
    const former = (id: string) => Math.floor(Number(id.slice(1)) / 5);
    let reunited = 0;
    const rounds = 50;
    for (let round = 1; round <= rounds; round++) {
      for (const group of partitionGroups(ids(20), 5, 'reputation', 7, round, trust)) {
        if (new Set(group.map(former)).size === 1) reunited++;
      }
    }
    // Nearly equal posteriors make the draws a random partition, which holds a given five as a group with
    // probability 4 / C(20, 5) ≈ 0.03 %: about 0.05 reunions in 50 rounds (ranking by score: 200).
    expect(reunited).toBeLessThan(3);
  });

  it('draws the same groups from the same seed and round, others in another round', () => {
    const trust = (id: string) => ({ alpha: Number(id.slice(1)) % 4, beta: 1 });
    const g = (round: number, order: string[]) => partitionGroups(order, 5, 'reputation', 7, round, trust);
    expect(g(3, ids(20))).toEqual(g(3, [...ids(20)].reverse()));
    expect(g(4, ids(20))).not.toEqual(g(3, ids(20)));
  });

  it('refuses trust evidence that is negative or not finite', () => {
    for (const bad of [{ alpha: -1, beta: 0 }, { alpha: 0, beta: Number.NaN }, { alpha: Number.POSITIVE_INFINITY, beta: 0 }]) {
      expect(() => partitionGroups(ids(10), 5, 'reputation', 7, 1, (id) => (id === 'p4' ? bad : { alpha: 1, beta: 1 }))).toThrow(
        /trust evidence of p4 must be finite and non-negative/,
      );
    }
  });
});
