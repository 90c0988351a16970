/**
 * How fast an observer of secure-group sums can disaggregate them (Lam et al., "Gradient disaggregation", ICML
 * 2021): over R rounds it collects one row per group sum (which participants it covers) and, once the matrix
 * has rank n, can solve every participant's time-averaged update; a participant whose unit vector is in the row
 * space is solvable earlier. Groups come from the coordinator's own partitionGroups, with random absences.
 * Not modelled: members who drop out inside a running group (their group's sum then covers fewer, which only
 * adds rows) and aborted groups (fewer rows). Pure: seeded.
 */
import { partitionGroups, type GroupPolicy } from '@fedwarden/coordinator';
import { createRng, deriveSeed } from '@fedwarden/shared';
import { RowSpace } from './row-space.ts';

export interface DisaggregationSetting {
  readonly participants: number;
  readonly groupSize: number;
  readonly minGroupSize: number;
  readonly policy: GroupPolicy;
  /** Reputation policy: each participant's score, fixed over the rounds (ties are reshuffled each round). */
  readonly scores?: readonly number[];
  /** Probability that a participant is absent from a round, independently. */
  readonly absence: number;
  readonly rounds: number;
  /** The grouping key (the observer does not need it: it sees which participants each sum covers). */
  readonly key: Uint8Array;
  /** Seed of the absences. */
  readonly seed: number;
}

export interface DisaggregationPoint {
  readonly round: number;
  /** Rank of the participation matrix after this round. */
  readonly rank: number;
  /** Participants whose update the sums so far determine. */
  readonly solvable: number;
  /** Participants present this round but in no group (a fixed home group that sat out). */
  readonly satOut: number;
}

export function disaggregationCurve(s: DisaggregationSetting): DisaggregationPoint[] {
  if (!(s.absence >= 0 && s.absence < 1)) throw new RangeError(`disaggregationCurve: absence must be in [0, 1), got ${s.absence}`);
  if (s.scores !== undefined && s.scores.length !== s.participants) {
    throw new RangeError(`disaggregationCurve: ${s.scores.length} scores for ${s.participants} participants`);
  }
  const ids = Array.from({ length: s.participants }, (_, i) => `p${String(i).padStart(4, '0')}`);
  const column = new Map(ids.map((id, i) => [id, i]));
  const space = new RowSpace(s.participants);
  const rng = createRng(deriveSeed(s.seed, 0xab5));
  const score = s.scores ? (id: string) => s.scores?.[column.get(id) as number] as number : undefined;
  const out: DisaggregationPoint[] = [];
  for (let round = 1; round <= s.rounds; round++) {
    const selected = ids.filter(() => rng.next() >= s.absence);
    const { groups, sittingOut } = partitionGroups({
      policy: s.policy,
      enrolled: ids,
      selected,
      groupSize: s.groupSize,
      minGroupSize: s.minGroupSize,
      key: s.key,
      round,
      ...(score ? { score } : {}),
    });
    for (const g of groups) space.addIndicator(g.members.map((id) => column.get(id) as number));
    out.push({ round, rank: space.rank, solvable: space.solvable().length, satOut: sittingOut.reduce((n, o) => n + o.members.length, 0) });
  }
  return out;
}

/** The first round after which the rank reaches n (every update solvable), or null within the rounds run. */
export function roundsToFullRank(curve: readonly DisaggregationPoint[], participants: number): number | null {
  return curve.find((p) => p.rank >= participants)?.round ?? null;
}
