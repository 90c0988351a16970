import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.ts';
import type { FeatureRow } from '../anomaly/isolation-forest-detector.ts';
import { SqliteStore } from './store.ts';
import { PARTICIPANTS, globalAfter, record, storeWithRounds, tempDbPaths } from './test-support.ts';

const freshDbPath = tempDbPaths();

const path = freshDbPath;

const rows = (round: number): FeatureRow[] => [
  { id: 'p0', features: { norm: round, cosineToAggregate: 0.5 } },
  { id: 'p1', features: { norm: round + 0.25, cosineToAggregate: -0.125 } },
];
/** Keep three rounds of history. */
const config = parseConfig({ participants: PARTICIPANTS, logLevel: 'silent', anomaly: { windowRounds: 3 } });

describe('isolation forest history in storage', () => {
  it('is written with each finished round, keeps the last windowRounds rounds, and comes back on resume', () => {
    const p = path();
    const store = storeWithRounds(p, 0);
    for (let r = 1; r <= 5; r++) store.finishRound(store.beginRound(r, config, ['p0', 'p1']), record(r), globalAfter(r), { isolationRows: r === 2 ? [] : rows(r) });
    store.close();
    const again = SqliteStore.open(p);
    // Rounds 3, 4 and 5 are kept: round 2 (which added no rows) and round 1 were pruned.
    expect(again.resume(PARTICIPANTS).isolationHistory).toEqual([rows(3), rows(4), rows(5)]);
    again.close();
  });

  it('stores nothing of a round whose end did not commit, nor of a round that was never reviewed', () => {
    const p = path();
    const store = storeWithRounds(p, 1);
    const attempt = store.beginRound(2, config, ['p0']);
    // Round 2 cannot finish under round 1's number: the transaction fails and takes the rows with it.
    expect(() => store.finishRound(attempt, record(1), globalAfter(2), { isolationRows: rows(2) })).toThrow();
    store.finishRound(attempt, record(2, 'aborted'), undefined);
    store.close();
    const again = SqliteStore.open(p);
    expect(again.resume(PARTICIPANTS).isolationHistory).toEqual([]);
    again.close();
  });

  it('refuses a stored row that is not a list of finite feature rows (STORAGE_CORRUPT)', () => {
    const p = path();
    storeWithRounds(p, 0).close();
    const raw = new Database(p);
    raw.prepare('INSERT INTO isolation_history (round, rows) VALUES (1, ?)').run('[{"id":"p0","features":{"norm":"big"}}]');
    raw.close();
    const store = SqliteStore.open(p);
    expect(() => store.resume(PARTICIPANTS)).toThrow(expect.objectContaining({ code: 'STORAGE_CORRUPT', message: expect.stringMatching(/isolation history of round 1: row 0 feature norm is not a finite number/) }));
    store.close();
  });
});
