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

  it('fills groups by descending reputation, ties in a fresh order each round', () => {
    const score = (id: string) => (['p3', 'p8', 'p11', 'p17', 'p19'].includes(id) ? 0.2 : 0.9);
    const groups = partitionGroups(ids(20), 5, 'reputation', 7, 1, score);
    expect(groups.flat().sort()).toEqual(ids(20).sort());
    expect([...(groups.at(-1) as string[])].sort()).toEqual(['p11', 'p17', 'p19', 'p3', 'p8']); // suspects together
    expect(partitionGroups(ids(20), 5, 'reputation', 7, 2, score).slice(0, 3)).not.toEqual(groups.slice(0, 3));
    expect(() => partitionGroups(ids(20), 5, 'reputation', 7, 1)).toThrow(/needs a score/);
  });
});
