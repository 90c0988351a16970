/**
 * Each participant's history for the collusion check (collusion.ts, similarity-groups.ts): the decayed sum of
 * its sketched update directions, hᵢ ← λ·hᵢ + xᵢ/‖xᵢ‖, per participation (as reputation forgets). Independent
 * noise that colluders add to one shared direction averages out in that sum while the direction adds up: with
 * λ = 0.9 a relative noise ν leaves two colluders' histories a cosine of about 1/(1 + ν²·(1 − λ)/(1 + λ)) ≈
 * 1/(1 + ν²/19) (0.95 for ν = 1), where one round gives 1/(1 + ν²) (0.5). Honest histories average only their
 * own noise: they stay as alike as the participants' data. Forgetting per participation, not per round, keeps
 * the record of a colluder that reputation excluded for a while: it is recognised when it returns.
 *
 * Rows are count sketches of one fixed seed (the caller keeps it for the history's lifetime); a change of width
 * clears the history. Recording a round again (a round rerun after an abort) replaces that round's rows instead
 * of adding them twice; an earlier round than a member's last throws. Members absent for more than forgetAfter
 * (50) rounds are dropped, so memory stays O(active participants × width).
 *
 * Limits: held in memory only, not persisted: a restarted coordinator starts with empty histories (colluders
 * are then seen by one round's similarity until their histories build up again). Keyed by participant, so it
 * is meaningful only for units of one participant (trusted mode): a secure group's membership changes, and its
 * sum says nothing about one member's direction.
 */

export const HISTORY_DEFAULTS = { decay: 0.9, forgetAfter: 50 } as const;

export interface HistoryOptions {
  /** λ ∈ [0, 1): weight of the past at each participation. Default 0.9. */
  readonly decay?: number;
  /** Drop a member absent for more than this many rounds. Default 50. */
  readonly forgetAfter?: number;
}

interface Entry {
  readonly sum: Float64Array;
  readonly last: Float64Array;
  round: number;
}

export class SimilarityHistory {
  private readonly decay: number;
  private readonly forgetAfter: number;
  private readonly entries = new Map<string, Entry>();
  private width = 0;

  constructor(options: HistoryOptions = {}) {
    this.decay = options.decay ?? HISTORY_DEFAULTS.decay;
    this.forgetAfter = options.forgetAfter ?? HISTORY_DEFAULTS.forgetAfter;
    if (!(this.decay >= 0 && this.decay < 1)) throw new RangeError(`SimilarityHistory: decay ${this.decay} not in [0, 1)`);
    if (!(Number.isInteger(this.forgetAfter) && this.forgetAfter >= 1)) {
      throw new RangeError(`SimilarityHistory: forgetAfter ${this.forgetAfter} not an integer ≥ 1`);
    }
  }

  /** Members with a history. */
  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.width = 0;
  }

  /**
   * Adds round `round`'s rows (members.length × width, row-major; each should be a unit vector) to the members'
   * histories and returns those histories in the same layout (a fresh array).
   */
  record(round: number, members: readonly string[], rows: Float64Array, width: number): Float64Array {
    if (!(Number.isInteger(round) && round >= 0)) throw new RangeError(`SimilarityHistory.record: round ${round}`);
    if (!(Number.isInteger(width) && width >= 1)) throw new RangeError(`SimilarityHistory.record: width ${width}`);
    if (rows.length !== members.length * width) {
      throw new RangeError(`SimilarityHistory.record: ${rows.length} values for ${members.length} members × width ${width}`);
    }
    if (new Set(members).size !== members.length) throw new RangeError('SimilarityHistory.record: a member appears twice in one round');
    if (width !== this.width) {
      this.entries.clear();
      this.width = width;
    }
    for (const m of members) {
      const e = this.entries.get(m);
      if (e !== undefined && round < e.round) {
        throw new RangeError(`SimilarityHistory.record: round ${round} for member ${m}, whose history is already at round ${e.round}`);
      }
    }
    const out = new Float64Array(rows.length);
    members.forEach((m, i) => {
      const row = rows.subarray(i * width, (i + 1) * width);
      let e = this.entries.get(m);
      if (e === undefined) {
        e = { sum: row.slice(), last: row.slice(), round };
        this.entries.set(m, e);
      } else {
        const { sum, last } = e;
        // A rerun of the same round takes back what that round added; a later round discounts the past.
        const keep = round === e.round ? 1 : this.decay;
        for (let k = 0; k < width; k++) {
          const past = round === e.round ? (sum[k] as number) - (last[k] as number) : (sum[k] as number);
          sum[k] = keep * past + (row[k] as number);
        }
        last.set(row);
        e.round = round;
      }
      out.set(e.sum, i * width);
    });
    for (const [m, e] of this.entries) if (round - e.round > this.forgetAfter) this.entries.delete(m);
    return out;
  }
}
