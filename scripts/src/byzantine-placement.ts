/**
 * Which simulated participants are Byzantine (`simulate --placement`). "random": a seeded draw. "spread": the
 * adversary that can choose where it sits (issue: enrolling identities until they land apart) takes at most
 * one seat per secure group of the first secure-aggregation round, and with more attackers than groups as
 * evenly as possible, so that every group sum is poisoned. The groups are the coordinator's own for round 1
 * (groups.ts with the simulation's grouping key); later rounds show whether the group policy undoes the spread.
 * In trusted mode there are no groups, and "spread" is "random". Pure: seeded.
 */
import { createRng, deriveSeed, shuffle } from '@fedwarden/shared';

export const PLACEMENTS = ['random', 'spread'] as const;
export type Placement = (typeof PLACEMENTS)[number];

export interface PlacementRequest {
  readonly placement: Placement;
  /** Every participant id. */
  readonly ids: readonly string[];
  readonly count: number;
  readonly seed: number;
  /** The first secure-aggregation round's groups; undefined in trusted mode. */
  readonly firstGroups?: readonly (readonly string[])[];
}

export function placeByzantine(req: PlacementRequest): Set<string> {
  const { ids, count, seed } = req;
  if (!Number.isSafeInteger(count) || count < 0 || count > ids.length) {
    throw new RangeError(`placeByzantine: count ${count} must be an integer in 0..${ids.length}`);
  }
  const groups = req.firstGroups ?? [];
  if (req.placement === 'random' || groups.length === 0) return new Set(shuffle(createRng(deriveSeed(seed, 0xb42)), [...ids]).slice(0, count));
  const rng = createRng(deriveSeed(seed, 0xb43));
  // Which groups get the extra attacker, and which member of a group it is: drawn from the seed.
  const seats = shuffle(rng, groups.map((g) => shuffle(rng, [...g])));
  const chosen: string[] = [];
  for (let layer = 0; chosen.length < count && seats.some((g) => g.length > layer); layer++) {
    for (const g of seats) if (chosen.length < count && layer < g.length) chosen.push(g[layer] as string);
  }
  // Participants in no group of round 1 are the last resort (only if every grouped one is taken).
  if (chosen.length < count) {
    const taken = new Set(chosen);
    chosen.push(...shuffle(rng, ids.filter((id) => !taken.has(id))).slice(0, count - chosen.length));
  }
  return new Set(chosen);
}

/** Most attackers in one group: what spread keeps at ⌈count / groups⌉. */
export function attackersPerGroup(groups: readonly (readonly string[])[], byzantine: ReadonlySet<string>): number[] {
  return groups.map((g) => g.filter((id) => byzantine.has(id)).length);
}
