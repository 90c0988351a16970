/**
 * Versioned schema of the coordinator's SQLite database. The version lives in `PRAGMA user_version`; migration
 * N takes a database from version N−1 to N inside one transaction together with the version bump, so a crash
 * mid-migration leaves the old version intact. Migrations are append-only: never edit a released one, add the
 * next. A database newer than this code is refused (STORAGE_VERSION) rather than misread.
 *
 *   v1  meta, participants, rounds (one row per attempt), checkpoints, the hash-chained audit log with
 *       triggers that forbid UPDATE and DELETE on it
 *   v2  participants' first/last seen times, and the reputation book (beta reputation, one row per participant)
 *   v3  lifetime participation and rejection counts in the reputation book (repeat-offender flagging)
 *   v4  each participant's registered ML-DSA-65 identity key, its SHA-256 fingerprint and when it was registered
 *   v5  alerts: the alerting lifecycle's open alerts and recent resolved ones (alerting/, storage/alerts.ts)
 *   v6  each participant's recent record in the reputation book (its last 30 participations as suspect bits),
 *       and the isolation forest's history (storage/isolation-history.ts)
 *   v7  the server optimizer's state after the latest completed round (storage/server-optimizer-table.ts)
 */
import { FedwardenError } from '@fedwarden/shared';
import type { Db } from './database.ts';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'participants, rounds, checkpoints, append-only audit log',
    sql: `
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE participants (
        id TEXT PRIMARY KEY,
        token_sha256 TEXT NOT NULL,
        enrolled INTEGER NOT NULL DEFAULT 1 CHECK (enrolled IN (0, 1)),
        enrolled_at INTEGER NOT NULL
      ) STRICT;

      -- One row per attempt at a round: a round interrupted by a crash or a shutdown keeps its row
      -- ('interrupted') and runs again as the next attempt. At most one attempt per round is 'finished'.
      CREATE TABLE rounds (
        round INTEGER NOT NULL CHECK (round >= 1),
        attempt INTEGER NOT NULL CHECK (attempt >= 1),
        status TEXT NOT NULL CHECK (status IN ('started', 'finished', 'interrupted')),
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        config TEXT NOT NULL,
        outcome TEXT CHECK (outcome IN ('completed', 'aborted')),
        reason TEXT,
        record TEXT,
        PRIMARY KEY (round, attempt)
      ) STRICT;
      CREATE UNIQUE INDEX rounds_one_finished ON rounds (round) WHERE status = 'finished';

      -- The global adapter after a round (round 0: the initial adapter), float32 little-endian.
      CREATE TABLE checkpoints (
        round INTEGER PRIMARY KEY CHECK (round >= 0),
        adapter BLOB NOT NULL,
        params INTEGER NOT NULL CHECK (params >= 0),
        sha256 TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY CHECK (seq >= 1),
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      ) STRICT;
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    `,
  },
  {
    version: 2,
    description: 'participants first/last seen, persisted reputation',
    sql: `
      ALTER TABLE participants ADD COLUMN first_seen INTEGER;
      ALTER TABLE participants ADD COLUMN last_seen INTEGER;

      CREATE TABLE reputation (
        participant_id TEXT PRIMARY KEY REFERENCES participants (id),
        alpha REAL NOT NULL,
        beta REAL NOT NULL,
        last_round INTEGER NOT NULL,
        excluded_through INTEGER NOT NULL,
        exclusions INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 3,
    description: 'lifetime participations and rejections per participant',
    sql: `
      ALTER TABLE reputation ADD COLUMN participations INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE reputation ADD COLUMN rejections INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 4,
    description: 'participants identity keys (registered at the first authenticated hello)',
    // All three are set together or all NULL (no key registered yet, or reset by the operator).
    sql: `
      ALTER TABLE participants ADD COLUMN identity_key BLOB CHECK (identity_key IS NULL OR length(identity_key) = 1952);
      ALTER TABLE participants ADD COLUMN identity_sha256 TEXT CHECK (identity_sha256 IS NULL OR length(identity_sha256) = 64);
      ALTER TABLE participants ADD COLUMN identity_registered_at INTEGER;
    `,
  },
  {
    version: 5,
    description: 'alerts (the alerting lifecycle: open alerts and recent resolved ones)',
    // One row per alert lifecycle; body is the tracked alert as JSON (alerting/tracked-alert.ts). At most one
    // firing alert per key. The last round alerting observed is meta 'alerting_last_round' (storage/alerts.ts).
    sql: `
      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),
        severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        first_round INTEGER NOT NULL CHECK (first_round >= 1),
        last_round INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        body TEXT NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX alerts_one_firing ON alerts (key) WHERE status = 'firing';
      CREATE INDEX alerts_by_update ON alerts (updated_at);
    `,
  },
  {
    version: 6,
    description: 'recent suspect participations per participant, and the isolation forest history',
    // recent: bit k set when the participation k before the latest was suspect (rejected or doubted;
    // reputation/beta-reputation.ts, recentSuspicions). A row from an older version starts with no recent
    // suspicion: its history before the upgrade is only in alpha and beta. isolation_history: the feature rows
    // each round added to the forest's history, JSON, the last rounds only; a database upgraded from v5 has none
    // and its forest starts cold once.
    sql: `
      ALTER TABLE reputation ADD COLUMN recent INTEGER NOT NULL DEFAULT 0 CHECK (recent >= 0 AND recent < 1073741824);

      CREATE TABLE isolation_history (
        round INTEGER PRIMARY KEY CHECK (round >= 1),
        rows TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 7,
    description: "the server optimizer's state",
    // One row: the state after the latest completed round that used a server optimizer with memory (momentum,
    // moments), float32 little-endian blobs with their SHA-256, written in the round's end transaction. A database
    // upgraded from v6 has none: its optimizer starts fresh once.
    sql: `
      CREATE TABLE server_optimizer (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        round INTEGER NOT NULL CHECK (round >= 1),
        kind TEXT NOT NULL,
        steps INTEGER NOT NULL CHECK (steps >= 0),
        params INTEGER NOT NULL CHECK (params >= 0),
        m BLOB,
        v BLOB,
        sha256 TEXT NOT NULL
      ) STRICT;
    `,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Throws STORAGE_VERSION for a database written by a newer coordinator. */
export function assertNotNewer(db: Db, known: number = SCHEMA_VERSION): number {
  const version = schemaVersion(db);
  if (version > known) {
    throw new FedwardenError(
      'STORAGE_VERSION',
      `database schema v${version} is newer than this coordinator's v${known}: the database ${db.name} was written by a newer ` +
        'fedwarden; upgrade fedwarden or use another data dir',
    );
  }
  return version;
}

/**
 * Bring the database up to the last of `migrations` (the released list unless a test passes a prefix).
 * Returns the versions before and after.
 */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): { from: number; to: number } {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations: entry ${i} has version ${m.version}, expected ${i + 1}`);
  });
  const from = assertNotNewer(db, migrations.length);
  for (const m of migrations.slice(from)) {
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return { from, to: migrations.length };
}
