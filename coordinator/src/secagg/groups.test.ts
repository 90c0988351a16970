import { describe, expect, it } from 'vitest';
import { createRng, shuffle } from '@fedwarden/shared';
import { groupingKeyFromSeed } from './grouping-key.ts';
import { homeGroups, partitionGroups, type GroupPolicy, type GroupingRequest } from './groups.ts';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`);
const KEY = groupingKeyFromSeed(7);
const OTHER_KEY = groupingKeyFromSeed(8);

function request(policy: GroupPolicy, over: Partial<GroupingRequest> = {}): GroupingRequest {
  const enrolled = over.enrolled ?? ids(50);
  return { policy, enrolled, selected: enrolled, groupSize: 5, minGroupSize: 4, key: KEY, round: 1, score: () => 1, ...over };
}

const members = (policy: GroupPolicy, over: Partial<GroupingRequest> = {}) => partitionGroups(request(policy, over)).groups.map((g) => g.members);

describe('partitionGroups', () => {
  it('covers every selected participant once, in groups of groupSize..2·groupSize-1 (reshuffle, reputation)', () => {
    for (const policy of ['reshuffle', 'reputation'] as const) {
      for (const n of [5, 7, 12, 23, 50]) {
        const groups = members(policy, { enrolled: ids(60), selected: ids(n), round: 3 });
        expect(groups.flat().sort()).toEqual(ids(n).sort());
        for (const g of groups) expect(g.length).toBeGreaterThanOrEqual(5);
        const sizes = groups.map((g) => g.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('forms no group from fewer than groupSize, and says why', () => {
    const r = partitionGroups(request('reshuffle', { selected: ids(4) }));
    expect(r.groups).toEqual([]);
    expect(r.sittingOut).toEqual([{ members: ids(4), reason: '4 selected, fewer than one secure group of 5' }]);
    const fixed = partitionGroups(request('fixed', { enrolled: ids(4) }));
    expect(fixed.groups).toEqual([]);
    expect(fixed.sittingOut[0]?.reason).toBe('4 enrolled, fewer than one secure group of 5');
  });

  it('cuts fixed home groups from the enrolled participants, sizes within one of each other', () => {
    for (const n of [5, 9, 23, 50]) {
      const homes = homeGroups(ids(n), 5, KEY);
      expect(homes.flat().sort()).toEqual(ids(n).sort());
      const sizes = homes.map((h) => h.length);
      expect(Math.min(...sizes)).toBeGreaterThanOrEqual(5);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('keeps every participant in its fixed home group whoever else is absent, excluded or dropped, in every round', () => {
    const enrolled = ids(50);
    const homes = homeGroups(enrolled, 5, KEY);
    const homeOf = new Map(homes.flatMap((h, i) => h.map((id) => [id, i + 1] as const)));
    const rng = createRng(3);
    for (let round = 1; round <= 40; round++) {
      // A different set missing every round: up to a fifth of the federation absent or excluded.
      const missing = new Set(shuffle(rng, [...enrolled]).slice(0, Math.floor(rng.next() * 11)));
      const selected = shuffle(rng, enrolled.filter((id) => !missing.has(id)));
      const { groups, sittingOut } = partitionGroups(request('fixed', { selected, round }));
      for (const g of groups) {
        const home = homes[g.number - 1] as string[];
        expect(g.members).toEqual(home.filter((id) => !missing.has(id)));
        expect(g.members.length).toBeGreaterThanOrEqual(4);
        for (const id of g.members) expect(homeOf.get(id)).toBe(g.number);
      }
      for (const s of sittingOut) for (const id of s.members) expect(homeOf.get(id)).toBe(s.number);
      expect([...groups.flatMap((g) => g.members), ...sittingOut.flatMap((s) => s.members)].sort()).toEqual([...selected].sort());
    }
  });

  it('sits a fixed home group out whole when fewer than minGroupSize of it are selected, merging it into no other group', () => {
    const enrolled = ids(50);
    const homes = homeGroups(enrolled, 5, KEY);
    const short = homes[2] as string[];
    const selected = enrolled.filter((id) => id !== short[0] && id !== short[1]); // 3 of its 5 left
    const { groups, sittingOut } = partitionGroups(request('fixed', { selected }));
    expect(groups.map((g) => g.number)).toEqual([1, 2, 4, 5, 6, 7, 8, 9, 10]);
    expect(groups.flatMap((g) => g.members)).not.toContain(short[2]);
    expect(sittingOut).toEqual([
      {
        number: 3,
        members: short.slice(2),
        reason: 'home group 3 sits out: 3 of its 5 members selected, fewer than secagg.minGroupSize 4 (not merged into another group, whose sum would then overlap its own)',
      },
    ]);
    // With minGroupSize 3 the same three run on their own.
    expect(partitionGroups(request('fixed', { selected, minGroupSize: 3 })).groups.find((g) => g.number === 3)?.members).toEqual(short.slice(2));
  });

  it('leaves a selected participant that is not enrolled out of every fixed group, with the reason', () => {
    const { groups, sittingOut } = partitionGroups(request('fixed', { selected: [...ids(50), 'stranger'] }));
    expect(groups.flatMap((g) => g.members)).not.toContain('stranger');
    expect(sittingOut).toEqual([{ members: ['stranger'], reason: 'not enrolled, so in no home group' }]);
  });

  it('re-cuts fixed home groups only when the enrolled participants change', () => {
    expect(homeGroups(ids(50), 5, KEY)).toEqual(homeGroups(shuffle(createRng(1), ids(50)), 5, KEY)); // order of the registry is irrelevant
    expect(homeGroups([...ids(50), 'newcomer'], 5, KEY)).not.toEqual(homeGroups(ids(50), 5, KEY));
  });

  it('replays exactly from the same key, for every policy', () => {
    const score = (id: string) => Number(id.slice(1)) % 3;
    for (const policy of ['fixed', 'reshuffle', 'reputation'] as const) {
      const selected = ids(50).filter((_, i) => i % 7 !== 0);
      const a = partitionGroups(request(policy, { selected, round: 9, score }));
      const b = partitionGroups(request(policy, { selected: [...selected].reverse(), round: 9, score, key: groupingKeyFromSeed(7) }));
      expect(b).toEqual(a);
    }
  });

  it('is unpredictable without the key: another key gives other groups, and over many keys every pair shares a group about equally often', () => {
    const score = (id: string) => (id === 'p0' ? 0.5 : 1);
    for (const policy of ['fixed', 'reshuffle', 'reputation'] as const) {
      expect(members(policy, { score })).not.toEqual(members(policy, { key: OTHER_KEY, score }));
    }
    // Who p1 shares a group with, over 400 keys: each of the 19 others about 4/19 of the time.
    for (const policy of ['fixed', 'reshuffle'] as const) {
      const together = new Map<string, number>();
      const keys = 400;
      for (let k = 0; k < keys; k++) {
        const group = members(policy, { enrolled: ids(20), key: groupingKeyFromSeed(1000 + k), round: 2 }).find((g) => g.includes('p1')) as string[];
        for (const id of group) if (id !== 'p1') together.set(id, (together.get(id) ?? 0) + 1);
      }
      expect(together.size).toBe(19);
      for (const count of together.values()) {
        expect(count / keys).toBeGreaterThan(0.1);
        expect(count / keys).toBeLessThan(0.33);
      }
    }
  });

  it('draws new reshuffle and reputation groups each round, and keeps fixed ones', () => {
    expect(members('fixed', { round: 2 })).toEqual(members('fixed', { round: 1 }));
    expect(members('reshuffle', { round: 2 })).not.toEqual(members('reshuffle', { round: 1 }));
    expect(members('reputation', { round: 2 })).not.toEqual(members('reputation', { round: 1 }));
  });

  it('fills reputation groups by descending score, ties in a fresh keyed order each round', () => {
    const suspects = ['p3', 'p8', 'p11', 'p17', 'p19'];
    const score = (id: string) => (suspects.includes(id) ? 0.2 : 0.9);
    const groups = members('reputation', { enrolled: ids(20), score });
    expect(groups.flat().sort()).toEqual(ids(20).sort());
    expect([...(groups.at(-1) as string[])].sort()).toEqual([...suspects].sort()); // suspects together
    expect(members('reputation', { enrolled: ids(20), score, round: 2 }).slice(0, 3)).not.toEqual(groups.slice(0, 3));
    const { score: _none, ...withoutScore } = request('reputation');
    expect(() => partitionGroups(withoutScore)).toThrow(/needs a score/);
  });

  it('names the bad input', () => {
    expect(() => partitionGroups(request('fixed', { minGroupSize: 6 }))).toThrow('partitionGroups: minGroupSize 6 must be an integer in 1..groupSize 5');
    expect(() => partitionGroups(request('fixed', { key: new Uint8Array(16) }))).toThrow('partitionGroups: the grouping key must be 32 bytes');
    expect(() => partitionGroups(request('reshuffle', { selected: ['a', 'b', 'a'] }))).toThrow('participant a is twice in the selected list');
    expect(() => partitionGroups(request('fixed', { groupSize: 0 }))).toThrow('partitionGroups: bad groupSize 0');
  });
});
