/**
 * Secure groups of a round, by policy, ordered with the coordinator's grouping key (grouping-key.ts), so that
 * participants can neither predict nor steer where they sit.
 *
 * "fixed": home groups are consecutive slices of the *enrolled* participants in keyed order (sizes differ by at
 * most one, at least groupSize each). A home group runs with its selected members; one with fewer than
 * minGroupSize sits out the round whole instead of joining another group, whose sum would then overlap its own.
 * Who is selected, absent, excluded or dropped never moves a participant to another group; enrolling or
 * removing participants does (the slices are cut again). "reshuffle" and "reputation" draw new groups from the
 * selected participants every round. Trade-offs in numbers: docs/secure-groups.md (Lam et al., ICML 2021).
 */
import { FedwardenError } from '@fedwarden/shared';
import { checkGroupingKey, keyedOrder } from './grouping-key.ts';

export type GroupPolicy = 'fixed' | 'reshuffle' | 'reputation';

export interface GroupingRequest {
  readonly policy: GroupPolicy;
  /** Every enrolled participant: fixed home groups are cut from these. */
  readonly enrolled: readonly string[];
  /** This round's selected participants (connected, not excluded). */
  readonly selected: readonly string[];
  readonly groupSize: number;
  /** Fixed policy: the fewest selected members with which a home group runs (≤ groupSize). */
  readonly minGroupSize: number;
  /** The grouping key (GROUPING_KEY_BYTES). */
  readonly key: Uint8Array;
  readonly round: number;
  /**
   * Reputation policy: higher is more trusted. Groups are filled in order of descending score, ties in a fresh
   * keyed order each round, so that suspects share groups with each other and not with trusted participants:
   * adaptive group testing, where a poisoned sum costs the round the suspects' updates only.
   */
  readonly score?: (id: string) => number;
}

export interface PlannedGroup {
  /** Fixed: the home group's number, the same every round. Otherwise 1, 2, … in this round. */
  readonly number: number;
  readonly members: string[];
}

/** Selected participants that run in no group this round, and why. */
export interface SittingOut {
  /** Fixed: their home group's number. */
  readonly number?: number;
  readonly members: string[];
  readonly reason: string;
}

export interface Grouping {
  readonly groups: PlannedGroup[];
  readonly sittingOut: SittingOut[];
}

export function partitionGroups(req: GroupingRequest): Grouping {
  const { policy, selected, groupSize, minGroupSize, round } = req;
  if (!Number.isSafeInteger(groupSize) || groupSize < 1) throw new FedwardenError('BAD_CONFIG', `partitionGroups: bad groupSize ${groupSize}`);
  if (!Number.isSafeInteger(minGroupSize) || minGroupSize < 1 || minGroupSize > groupSize) {
    throw new FedwardenError('BAD_CONFIG', `partitionGroups: minGroupSize ${minGroupSize} must be an integer in 1..groupSize ${groupSize}`);
  }
  checkGroupingKey(req.key, 'partitionGroups');
  if (policy === 'fixed') return fixedGroups(req);
  if (policy === 'reputation' && req.score === undefined) throw new FedwardenError('INTERNAL', 'partitionGroups: the reputation policy needs a score');
  const shuffled = keyedOrder(req.key, `${policy}/${round}`, unique(selected, 'selected'));
  const ordered = policy === 'reputation' ? rankByScore(shuffled, req.score as (id: string) => number) : shuffled;
  const slices = slice(ordered, groupSize);
  if (slices.length === 0) {
    return { groups: [], sittingOut: selected.length > 0 ? [{ members: [...selected], reason: `${selected.length} selected, fewer than one secure group of ${groupSize}` }] : [] };
  }
  return { groups: slices.map((members, i) => ({ number: i + 1, members })), sittingOut: [] };
}

/** The fixed policy's home groups: consecutive slices of the enrolled participants in keyed order. */
export function homeGroups(enrolled: readonly string[], groupSize: number, key: Uint8Array): string[][] {
  checkGroupingKey(key, 'homeGroups');
  return slice(keyedOrder(key, 'fixed', unique(enrolled, 'enrolled')), groupSize);
}

function fixedGroups(req: GroupingRequest): Grouping {
  const { enrolled, selected, groupSize, minGroupSize } = req;
  const homes = homeGroups(enrolled, groupSize, req.key);
  const isSelected = new Set(unique(selected, 'selected'));
  const groups: PlannedGroup[] = [];
  const sittingOut: SittingOut[] = [];
  const homed = new Set<string>();
  homes.forEach((home, i) => {
    const present = home.filter((id) => isSelected.has(id));
    home.forEach((id) => homed.add(id));
    if (present.length >= minGroupSize) groups.push({ number: i + 1, members: present });
    else if (present.length > 0) {
      sittingOut.push({
        number: i + 1,
        members: present,
        reason:
          `home group ${i + 1} sits out: ${present.length} of its ${home.length} members selected, fewer than secagg.minGroupSize ${minGroupSize} ` +
          '(not merged into another group, whose sum would then overlap its own)',
      });
    }
  });
  const homeless = selected.filter((id) => !homed.has(id));
  if (homeless.length > 0) {
    const reason = homes.length === 0 ? `${enrolled.length} enrolled, fewer than one secure group of ${groupSize}` : 'not enrolled, so in no home group';
    sittingOut.push({ members: homeless, reason });
  }
  return { groups, sittingOut };
}

/** floor(n / size) consecutive slices whose sizes differ by at most one, each at least `size`; none if n < size. */
function slice(ordered: readonly string[], size: number): string[][] {
  const count = Math.floor(ordered.length / size);
  if (count === 0) return [];
  const base = Math.floor(ordered.length / count);
  const extra = ordered.length % count;
  const out: string[][] = [];
  let at = 0;
  for (let g = 0; g < count; g++) {
    const n = base + (g < extra ? 1 : 0);
    out.push(ordered.slice(at, at + n));
    at += n;
  }
  return out;
}

function unique(ids: readonly string[], what: string): readonly string[] {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new FedwardenError('INTERNAL', `partitionGroups: participant ${id} is twice in the ${what} list`);
    seen.add(id);
  }
  return ids;
}

/** Descending score; a stable sort keeps the keyed order among equal scores. */
function rankByScore(ids: string[], score: (id: string) => number): string[] {
  const scores = new Map(ids.map((id) => [id, score(id)]));
  return ids.sort((a, b) => (scores.get(b) as number) - (scores.get(a) as number));
}
