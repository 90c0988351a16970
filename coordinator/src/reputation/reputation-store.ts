/**
 * Where participants' reputation records live. The beta reputation book only needs get/set/entries, so the
 * in-memory map here and the SQLite table of the storage layer are interchangeable. Records are plain numbers
 * (no Dates, no classes) so that they serialise as they are.
 */

export interface ReputationRecord {
  /** Discounted positive evidence (Beta's α without the uniform prior's 1). */
  readonly alpha: number;
  /** Discounted negative evidence (β without the prior's 1). */
  readonly beta: number;
  /** Last round that brought this participant evidence. */
  readonly lastRound: number;
  /** Excluded from selection through this round (inclusive); 0 when not excluded. */
  readonly excludedThrough: number;
  /** How many times the participant has been excluded. */
  readonly exclusions: number;
  /** Rounds that brought this participant evidence, ever (no forgetting). */
  readonly participations: number;
  /** Of those, rounds whose evidence was more negative than positive. */
  readonly rejections: number;
  /**
   * The last 30 participations as bits, the latest in bit 0: set where the evidence was more negative than
   * positive (rejected, doubted). What a participant did lately, which the discounted α, β blur.
   */
  readonly recent: number;
}

export interface ReputationStore {
  get(id: string): ReputationRecord | undefined;
  set(id: string, record: ReputationRecord): void;
  entries(): Iterable<[string, ReputationRecord]>;
}

export class MemoryReputationStore implements ReputationStore {
  readonly #records = new Map<string, ReputationRecord>();

  get(id: string): ReputationRecord | undefined {
    return this.#records.get(id);
  }

  set(id: string, record: ReputationRecord): void {
    this.#records.set(id, record);
  }

  entries(): Iterable<[string, ReputationRecord]> {
    return this.#records.entries();
  }
}
