/**
 * SqliteReputationStore: the beta reputation book (reputation/beta-reputation.ts) kept in the reputation
 * table. It is write-behind on purpose: set() changes the in-memory copy and marks the participant dirty;
 * flush() writes the dirty rows and is called only inside the transaction that records the round's end.
 * The book is updated during aggregation, before the round is committed, so writing through would let a
 * crash in between persist evidence of a round that is then rerun, and count it twice.
 */
import type { ReputationRecord, ReputationStore } from '../reputation/reputation-store.ts';
import type { Db } from './database.ts';

interface Row {
  participant_id: string;
  alpha: number;
  beta: number;
  last_round: number;
  excluded_through: number;
  exclusions: number;
  participations: number;
  rejections: number;
  recent: number;
}

export class SqliteReputationStore implements ReputationStore {
  readonly #records = new Map<string, ReputationRecord>();
  readonly #dirty = new Set<string>();

  constructor(private readonly db: Db) {
    for (const r of db.prepare('SELECT * FROM reputation ORDER BY participant_id').all() as Row[]) {
      this.#records.set(r.participant_id, {
        alpha: r.alpha,
        beta: r.beta,
        lastRound: r.last_round,
        excludedThrough: r.excluded_through,
        exclusions: r.exclusions,
        participations: r.participations,
        rejections: r.rejections,
        recent: r.recent,
      });
    }
  }

  get(id: string): ReputationRecord | undefined {
    return this.#records.get(id);
  }

  set(id: string, record: ReputationRecord): void {
    this.#records.set(id, { ...record });
    this.#dirty.add(id);
  }

  entries(): Iterable<[string, ReputationRecord]> {
    return this.#records.entries();
  }

  /** Participants changed since the last flush. */
  get pending(): number {
    return this.#dirty.size;
  }

  /** Write the changed records. Call inside the round-end transaction, and committed() once it committed. */
  flush(): number {
    const upsert = this.db.prepare(
      `INSERT INTO reputation (participant_id, alpha, beta, last_round, excluded_through, exclusions, participations, rejections, recent)
       VALUES (@id, @alpha, @beta, @lastRound, @excludedThrough, @exclusions, @participations, @rejections, @recent)
       ON CONFLICT (participant_id) DO UPDATE SET alpha = excluded.alpha, beta = excluded.beta,
         last_round = excluded.last_round, excluded_through = excluded.excluded_through, exclusions = excluded.exclusions,
         participations = excluded.participations, rejections = excluded.rejections, recent = excluded.recent`,
    );
    const ids = [...this.#dirty];
    for (const id of ids) upsert.run({ id, ...(this.#records.get(id) as ReputationRecord) });
    return ids.length;
  }

  /** The flush was committed: forget the dirty marks. */
  committed(): void {
    this.#dirty.clear();
  }
}
