/**
 * Each participant's reputation as an operator reads it (the dashboard's table): the beta reputation score,
 * whether it is excluded or flagged now, and the lifetime counts behind a flag. Read-only over the book and its
 * records (beta-reputation.ts), for the round after the last recorded one.
 */
import type { BetaReputation } from './beta-reputation.ts';
import type { ReputationStore } from './reputation-store.ts';

export interface ReputationStanding {
  readonly id: string;
  /** E[Beta(α + 1, β + 1)] in [0, 1]; 0.5 for a newcomer. */
  readonly score: number;
  readonly excluded: boolean;
  /** In BetaReputation.flagged(): low score, excluded now, repeatedly excluded, or often rejected. */
  readonly flagged: boolean;
  /** Rounds that brought it evidence, of those more negative than positive, and exclusions, ever. */
  readonly participations: number;
  readonly rejections: number;
  readonly exclusions: number;
  /** Last round that brought it evidence; 0 for none. */
  readonly lastRound: number;
}

/** Standings of `ids` and of every participant with a record, sorted by id. */
export function reputationStandings(ids: Iterable<string>, book: BetaReputation, records: ReputationStore): ReputationStanding[] {
  const all = new Set(ids);
  for (const [id] of records.entries()) all.add(id);
  const flagged = new Set(book.flagged());
  return [...all].sort().map((id) => {
    const r = records.get(id);
    return {
      id,
      score: book.score(id),
      excluded: book.isExcluded(id),
      flagged: flagged.has(id),
      participations: r?.participations ?? 0,
      rejections: r?.rejections ?? 0,
      exclusions: r?.exclusions ?? 0,
      lastRound: r?.lastRound ?? 0,
    };
  });
}
