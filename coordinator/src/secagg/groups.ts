/**
 * Partition a round's selected participants into secure groups of at least `groupSize` members
 * (sizes differ by at most one). "fixed" orders participants by a keyed hash so that the same participants
 * keep sharing a group across rounds; "reshuffle" draws new groups every round. See config.ts for the
 * privacy trade-off between the two.
 */
import { createHash } from 'node:crypto';
import { createRng, deriveSeed, shuffle } from '@fedwarden/shared';

export type GroupPolicy = 'fixed' | 'reshuffle';

export function partitionGroups(
  ids: readonly string[],
  groupSize: number,
  policy: GroupPolicy,
  seed: number,
  round: number,
): string[][] {
  if (!Number.isSafeInteger(groupSize) || groupSize < 1) throw new RangeError(`partitionGroups: bad groupSize ${groupSize}`);
  const count = Math.floor(ids.length / groupSize);
  if (count === 0) return [];
  const ordered =
    policy === 'fixed'
      ? [...ids].sort((a, b) => (groupKey(seed, a) < groupKey(seed, b) ? -1 : 1))
      : shuffle(createRng(deriveSeed(seed, round, 0x67727570)), [...ids].sort());
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
