/**
 * Partition a round's selected participants into secure groups of at least `groupSize` members
 * (sizes differ by at most one). "fixed" orders participants by a keyed hash so that the same participants
 * keep sharing a group across rounds; "reshuffle" draws new groups every round; "reputation" ranks them by
 * reputation (below). See config.ts for the privacy trade-off between them.
 *
 * The reputation policy is adaptive group testing: a group's verdict is evidence about every member, so it
 * ranks participants and fills groups in that order, suspects with suspects, and a poisoned sum costs the
 * round only the suspects' updates. It ranks by a draw from each participant's posterior, Beta(α + 1, β + 1)
 * of the reputation book (Thompson sampling, Thompson 1933), not by the score (the posterior's mean). Why:
 * members of a group receive the same evidence, so their scores move together, and ranking by score put the
 * same participants together again round after round; a group holding one attacker that the filter kept
 * each round then never broke up, and its honest members never got the chance to be told apart from the
 * attacker (measured, secagg sign-flip, seed 2: three such groups stayed together from round 15 to 30, and
 * 20 honest participants sat in poisoned groups every round). A draw keeps participants whose record is
 * long and one-sided at the top or the bottom (their posterior is narrow) and re-mixes those whose record is
 * short or mixed, so that each round tests them with others and shared evidence separates them over rounds.
 */
import { createHash } from 'node:crypto';
import { beta, createRng, deriveSeed, shuffle, type Rng } from '@fedwarden/shared';
import type { Posterior } from '../reputation/beta-reputation.ts';

export type GroupPolicy = 'fixed' | 'reshuffle' | 'reputation';

/**
 * `trust` (reputation policy only) gives each participant's reputation evidence: groups are filled in descending order of
 * a draw from Beta(α + 1, β + 1) per participant, drawn from `seed` and `round` (header).
 */
export function partitionGroups(
  ids: readonly string[],
  groupSize: number,
  policy: GroupPolicy,
  seed: number,
  round: number,
  trust?: (id: string) => Posterior,
): string[][] {
  if (!Number.isSafeInteger(groupSize) || groupSize < 1) throw new RangeError(`partitionGroups: bad groupSize ${groupSize}`);
  if (policy === 'reputation' && trust === undefined) throw new RangeError('partitionGroups: the reputation policy needs the participants\' trust evidence');
  const count = Math.floor(ids.length / groupSize);
  if (count === 0) return [];
  const ordered =
    policy === 'fixed'
      ? [...ids].sort((a, b) => (groupKey(seed, a) < groupKey(seed, b) ? -1 : 1))
      : policy === 'reshuffle'
        ? shuffle(createRng(deriveSeed(seed, round, 0x67727570)), [...ids].sort())
        : rankByDraw(ids, trust as (id: string) => Posterior, createRng(deriveSeed(seed, round, 0x74686f6d)));
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

/** Descending order of one draw per participant from its posterior, drawn in sorted-id order (reproducible). */
function rankByDraw(ids: readonly string[], trust: (id: string) => Posterior, rng: Rng): string[] {
  const draws = new Map<string, number>();
  for (const id of [...ids].sort()) {
    const { alpha, beta: b } = trust(id);
    if (!(alpha >= 0 && b >= 0 && Number.isFinite(alpha) && Number.isFinite(b))) {
      throw new RangeError(`partitionGroups: trust evidence of ${id} must be finite and non-negative, got α = ${alpha}, β = ${b}`);
    }
    draws.set(id, beta(rng, alpha + 1, b + 1));
  }
  return [...draws.keys()].sort((x, y) => (draws.get(y) as number) - (draws.get(x) as number));
}
