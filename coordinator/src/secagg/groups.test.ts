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
});
