/**
 * Partition a round's selected participants into secure groups of at least `groupSize` members
 * (sizes differ by at most one). "fixed" orders participants by a keyed hash so that the same participants
 * keep sharing a group across rounds; "reshuffle" draws new groups every round. See config.ts for the
 * privacy trade-off between the two.
 */
import { createHash } from 'node:crypto';
import { createRng, deriveSeed, shuffle } from '@fedwarden/shared';

export type GroupPolicy = 'fixed' | 'reshuffle' | 'reputation';

/**
 * `score` (reputation policy only) ranks participants: groups are filled in order of descending score, ties in
 * a fresh random order each round, so that participants under suspicion share groups with each other and not
 * with trusted ones — adaptive group testing: a poisoned sum then costs the round the suspects' updates only.
 */
export function partitionGroups(
  ids: readonly string[],
  groupSize: number,
  policy: GroupPolicy,
  seed: number,
  round: number,
  score?: (id: string) => number,
): string[][] {
  if (!Number.isSafeInteger(groupSize) || groupSize < 1) throw new RangeError(`partitionGroups: bad groupSize ${groupSize}`);
  if (policy === 'reputation' && score === undefined) throw new RangeError('partitionGroups: the reputation policy needs a score');
  const count = Math.floor(ids.length / groupSize);
  if (count === 0) return [];
  const shuffled = () => shuffle(createRng(deriveSeed(seed, round, 0x67727570)), [...ids].sort());
  const ordered =
    policy === 'fixed'
      ? [...ids].sort((a, b) => (groupKey(seed, a) < groupKey(seed, b) ? -1 : 1))
      : policy === 'reshuffle'
        ? shuffled()
        : rankByScore(shuffled(), score as (id: string) => number);
  const base = Math.floor(ordered.length / count);
  const extra = ordered.length % count;
  const groups: string[][] = [];
  let at = 0;
  for (let g = 0; g < count; g++) {
    const size = base + (g < extra ? 1 : 0);
    groups.push(ordered.slice(at, at + size));
    at += size;
  }
  return groups;
}

function groupKey(seed: number, id: string): string {
  return createHash('sha256').update(`fedwarden/v1/group/${seed}/${id}`).digest('hex');
}

/** Descending score; a stable sort keeps the shuffled order among equal scores. */
function rankByScore(ids: string[], score: (id: string) => number): string[] {
  const scores = new Map(ids.map((id) => [id, score(id)]));
  return ids.sort((a, b) => (scores.get(b) as number) - (scores.get(a) as number));
}
