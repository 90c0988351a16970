/**
 * The isolation forest's history (anomaly/isolation-forest-detector.ts): the feature rows each finished round
 * added to it, one JSON row per round, written in the round's end transaction and pruned to the last
 * `keepRounds` rounds. A restarted coordinator scores its next round against the same history, and turns the
 * same alerts into the same reputation evidence (anomaly/anomaly-doubt.ts), as one that never stopped, instead
 * of starting cold. Kept apart from the round records, which grow with every round: these rows do not.
 */
import { FedwardenError } from '@fedwarden/shared';
import type { FeatureRow } from '../anomaly/isolation-forest-detector.ts';
import type { Db } from './database.ts';

export class IsolationHistoryTable {
  constructor(private readonly db: Db) {}

  /** Store round `round`'s rows and drop those of rounds before the last `keepRounds` stored. */
  save(round: number, rows: readonly FeatureRow[], keepRounds: number): void {
    if (!(Number.isSafeInteger(keepRounds) && keepRounds >= 1)) throw new RangeError(`isolation history: keepRounds must be an integer ≥ 1, got ${keepRounds}`);
    this.db.prepare('INSERT INTO isolation_history (round, rows) VALUES (?, ?)').run(round, JSON.stringify(rows));
    this.db
      .prepare('DELETE FROM isolation_history WHERE round NOT IN (SELECT round FROM isolation_history ORDER BY round DESC LIMIT ?)')
      .run(keepRounds);
  }

  /** Every stored round's rows, oldest first; STORAGE_CORRUPT for a row that is not a list of finite feature rows. */
  all(): FeatureRow[][] {
    const stored = this.db.prepare('SELECT round, rows FROM isolation_history ORDER BY round').all() as Array<{ round: number; rows: string }>;
    return stored.map(({ round, rows }) => parseRows(round, rows));
  }
}

function parseRows(round: number, text: string): FeatureRow[] {
  const corrupt = (why: string) => new FedwardenError('STORAGE_CORRUPT', `isolation history of round ${round}: ${why}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FedwardenError('STORAGE_CORRUPT', `isolation history of round ${round} is not valid JSON`, { cause: err });
  }
  if (!Array.isArray(value)) throw corrupt('not a list');
  return value.map((row: unknown, i) => {
    const r = row as { id?: unknown; features?: unknown };
    if (typeof r?.id !== 'string' || typeof r.features !== 'object' || r.features === null) throw corrupt(`row ${i} is not { id, features }`);
    const features = Object.entries(r.features as Record<string, unknown>);
    for (const [name, x] of features) if (typeof x !== 'number' || !Number.isFinite(x)) throw corrupt(`row ${i} feature ${name} is not a finite number`);
    return { id: r.id, features: Object.fromEntries(features) as Record<string, number> };
  });
}
