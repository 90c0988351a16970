import { describe, expect, it } from 'vitest';
import { groupingKeyFromSeed, partitionGroups, type GroupPolicy } from '@fedwarden/coordinator';
import { createRng, deriveSeed, shuffle } from '@fedwarden/shared';
import { attackersPerGroup, placeByzantine } from './byzantine-placement.ts';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `p${String(i).padStart(3, '0')}`);

/** Round 1's secure groups as the simulation's coordinator forms them: everyone selected, equal reputation. */
function firstGroups(policy: GroupPolicy, n: number, groupSize: number, seed: number): string[][] {
  const all = ids(n);
  return partitionGroups({ policy, enrolled: all, selected: all, groupSize, minGroupSize: groupSize, key: groupingKeyFromSeed(seed), round: 1, score: () => 1 }).groups.map(
    (g) => g.members,
  );
}

describe('placeByzantine', () => {
  it('spread puts at most one attacker in each secure group of the first round, for every policy and seed', () => {
    for (const policy of ['fixed', 'reshuffle', 'reputation'] as const) {
      for (const seed of [1, 2, 3]) {
        const groups = firstGroups(policy, 50, 5, seed);
        expect(groups).toHaveLength(10);
        const byzantine = placeByzantine({ placement: 'spread', ids: ids(50), count: 10, seed, firstGroups: groups });
        expect(byzantine.size).toBe(10);
        expect(attackersPerGroup(groups, byzantine)).toEqual(new Array(10).fill(1));
        const fewer = placeByzantine({ placement: 'spread', ids: ids(50), count: 7, seed, firstGroups: groups });
        expect(Math.max(...attackersPerGroup(groups, fewer))).toBe(1);
      }
    }
  });

  it('spreads more attackers than groups as evenly as possible', () => {
    const groups = firstGroups('fixed', 50, 7, 1); // 7 groups of 7 or 8
    const byzantine = placeByzantine({ placement: 'spread', ids: ids(50), count: 10, seed: 1, firstGroups: groups });
    const counts = attackersPerGroup(groups, byzantine);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    const everyone = placeByzantine({ placement: 'spread', ids: ids(50), count: 50, seed: 1, firstGroups: groups });
    expect(everyone.size).toBe(50);
  });

  it('random is the seeded draw the simulation always made, and clusters where spread does not', () => {
    const groups = firstGroups('fixed', 50, 5, 1);
    const random = placeByzantine({ placement: 'random', ids: ids(50), count: 10, seed: 1, firstGroups: groups });
    expect([...random]).toEqual(shuffle(createRng(deriveSeed(1, 0xb42)), ids(50)).slice(0, 10));
    const clustered = [1, 2, 3, 4, 5].filter((seed) => {
      const g = firstGroups('fixed', 50, 5, seed);
      return Math.max(...attackersPerGroup(g, placeByzantine({ placement: 'random', ids: ids(50), count: 10, seed, firstGroups: g }))) > 1;
    });
    expect(clustered.length).toBeGreaterThan(0);
  });

  it('is random without groups (trusted mode), and replays from the seed', () => {
    const random = placeByzantine({ placement: 'random', ids: ids(20), count: 4, seed: 9 });
    expect(placeByzantine({ placement: 'spread', ids: ids(20), count: 4, seed: 9 })).toEqual(random);
    const groups = firstGroups('reshuffle', 20, 5, 9);
    expect(placeByzantine({ placement: 'spread', ids: ids(20), count: 4, seed: 9, firstGroups: groups })).toEqual(
      placeByzantine({ placement: 'spread', ids: ids(20), count: 4, seed: 9, firstGroups: groups }),
    );
  });

  it('names a bad count', () => {
    expect(() => placeByzantine({ placement: 'spread', ids: ids(5), count: 6, seed: 1 })).toThrow('placeByzantine: count 6 must be an integer in 0..5');
  });
});
