import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { RESOLVED_HISTORY } from '../alerting/alert-state-store.ts';
import type { TrackedAlert } from '../alerting/tracked-alert.ts';
import { AlertsTable, META_ALERTING_LAST_ROUND } from './alerts.ts';
import { MEMORY, openDatabase } from './database.ts';
import { MIGRATIONS, migrate } from './migrations.ts';
import { SqliteStore } from './store.ts';
import { tempDbPath } from './test-support.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function alert(key: string, firstRound: number, extra: Partial<TrackedAlert> = {}): TrackedAlert {
  return {
    id: `${key}@${firstRound}`,
    key,
    detector: 'isolation-forest',
    status: 'firing',
    severity: 'warning',
    participants: ['p1'],
    score: 0.7,
    message: 'm',
    firstRound,
    lastRound: firstRound,
    occurrences: 1,
    repeatsAtSeverity: 0,
    cleanRounds: 0,
    openedAt: firstRound * 1000,
    updatedAt: firstRound * 1000,
    ...extra,
  };
}

describe('AlertsTable', () => {
  it('has no state until alerting first saves, then round-trips open and resolved alerts through the file', () => {
    const { path, cleanup } = tempDbPath();
    cleanups.push(cleanup);
    const store = SqliteStore.open(path);
    expect(store.alerts.load()).toBeUndefined();
    const a = alert('k/a', 1);
    const b = alert('k/b', 2, { severity: 'critical', cleanRounds: 1 });
    store.alerts.save({ lastRound: 2, open: [a, b] }, []);
    const resolvedA = { ...a, status: 'resolved' as const, resolution: 'clean-rounds' as const, resolvedRound: 5, resolvedAt: 5000, updatedAt: 5000 };
    store.alerts.save({ lastRound: 5, open: [{ ...b, cleanRounds: 2, updatedAt: 4000 }] }, [resolvedA]);
    store.close();

    const reopened = SqliteStore.open(path);
    cleanups.push(() => reopened.close());
    expect(reopened.alerts.load()).toEqual({ lastRound: 5, open: [{ ...b, cleanRounds: 2, updatedAt: 4000 }] });
    expect(reopened.alerts.recent(10).map((x) => [x.id, x.status])).toEqual([
      ['k/a@1', 'resolved'],
      ['k/b@2', 'firing'],
    ]);
    expect(reopened.alerts.recent(1)).toHaveLength(1);
  });

  it(`keeps the newest ${RESOLVED_HISTORY} resolved alerts and every open one`, () => {
    const db = openDatabase(MEMORY);
    cleanups.push(() => db.close());
    const table = new AlertsTable(db);
    const resolved = Array.from({ length: RESOLVED_HISTORY + 5 }, (_, i) =>
      alert(`k/${i}`, 1, { status: 'resolved', resolution: 'clean-rounds', resolvedRound: 2, updatedAt: 10_000 + i }),
    );
    table.save({ lastRound: 2, open: [alert('k/open', 1, { updatedAt: 1 })] }, resolved);
    const count = (status: string) => (db.prepare('SELECT count(*) AS n FROM alerts WHERE status = ?').get(status) as { n: number }).n;
    expect(count('resolved')).toBe(RESOLVED_HISTORY);
    expect(count('firing')).toBe(1);
    expect(table.recent(RESOLVED_HISTORY + 10).at(-2)?.id).toBe('k/5@1');
  });

  it('refuses a corrupt last round, and can be made over a database that predates it (read-only verify of v4)', () => {
    const db = openDatabase(MEMORY);
    cleanups.push(() => db.close());
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(META_ALERTING_LAST_ROUND, 'many');
    expect(() => new AlertsTable(db).load()).toThrow(expect.objectContaining({ code: 'STORAGE_CORRUPT' }));
    const v4 = new Database(MEMORY);
    cleanups.push(() => v4.close());
    migrate(v4, MIGRATIONS.slice(0, 4));
    expect(() => new AlertsTable(v4)).not.toThrow();
  });
});
