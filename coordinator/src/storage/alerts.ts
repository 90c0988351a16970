/**
 * AlertsTable: the alert lifecycle's state (alerting/alert-state-store.ts) in the alerts table (migration v5)
 * and meta 'alerting_last_round'. One transaction per round: every open alert, the alerts the round resolved,
 * the round number, and the pruning of resolved alerts beyond RESOLVED_HISTORY. Statements are prepared on first
 * use, so that a read-only store over an older database (verify) never touches a table it lacks.
 */
import { FedwardenError } from '@fedwarden/shared';
import { RESOLVED_HISTORY, type AlertStateStore } from '../alerting/alert-state-store.ts';
import type { AlertBookState, TrackedAlert } from '../alerting/tracked-alert.ts';
import type { Db } from './database.ts';

export const META_ALERTING_LAST_ROUND = 'alerting_last_round';

interface Row {
  id: string;
  body: string;
}

export class AlertsTable implements AlertStateStore {
  constructor(private readonly db: Db) {}

  load(): AlertBookState | undefined {
    const meta = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(META_ALERTING_LAST_ROUND) as { value: string } | undefined;
    if (meta === undefined) return undefined;
    const lastRound = Number(meta.value);
    if (!Number.isSafeInteger(lastRound) || lastRound < 0) throw new FedwardenError('STORAGE_CORRUPT', `meta ${META_ALERTING_LAST_ROUND} is ${meta.value}`);
    const rows = this.db.prepare("SELECT id, body FROM alerts WHERE status = 'firing' ORDER BY key").all() as Row[];
    return { lastRound, open: rows.map(parse) };
  }

  save(state: AlertBookState, resolved: readonly TrackedAlert[]): void {
    const upsert = this.db.prepare(
      `INSERT INTO alerts (id, key, status, severity, first_round, last_round, updated_at, body)
       VALUES (@id, @key, @status, @severity, @firstRound, @lastRound, @updatedAt, @body)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, severity = excluded.severity,
         last_round = excluded.last_round, updated_at = excluded.updated_at, body = excluded.body`,
    );
    const write = (a: TrackedAlert) =>
      upsert.run({ id: a.id, key: a.key, status: a.status, severity: a.severity, firstRound: a.firstRound, lastRound: a.lastRound, updatedAt: a.updatedAt, body: JSON.stringify(a) });
    this.db
      .transaction(() => {
        // Resolutions first: the key's firing row becomes resolved before a new one for the same key is written.
        for (const a of resolved) write(a);
        for (const a of state.open) write(a);
        this.db
          .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
          .run(META_ALERTING_LAST_ROUND, String(state.lastRound));
        this.db
          .prepare(
            `DELETE FROM alerts WHERE status = 'resolved' AND id NOT IN
               (SELECT id FROM alerts WHERE status = 'resolved' ORDER BY updated_at DESC, id DESC LIMIT ?)`,
          )
          .run(RESOLVED_HISTORY);
      })
      .immediate();
  }

  recent(limit: number): TrackedAlert[] {
    const rows = this.db.prepare('SELECT id, body FROM alerts ORDER BY updated_at DESC, id DESC LIMIT ?').all(limit) as Row[];
    return rows.map(parse);
  }
}

function parse(row: Row): TrackedAlert {
  try {
    return JSON.parse(row.body) as TrackedAlert;
  } catch (err) {
    throw new FedwardenError('STORAGE_CORRUPT', `alert ${row.id} is not valid JSON`, { cause: err });
  }
}
