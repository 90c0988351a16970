/**
 * Opening the coordinator's SQLite database (better-sqlite3) with the settings its guarantees rest on:
 *
 * - journal_mode = WAL: readers (a `verify` while the coordinator runs) never block the writer, and a commit
 *   is one append to the log.
 * - synchronous = FULL: in WAL mode, NORMAL already survives a killed process, but a power loss may roll back
 *   the last commits; FULL syncs the log at every commit. The coordinator commits a few times per round
 *   (round start, round end), so the cost is a few fsyncs a round, and a round participants were told had
 *   finished is never lost.
 * - foreign_keys = ON: SQLite leaves them off by default.
 *
 * ':memory:' gives a private in-memory database with the same schema (simulations and tests without a data
 * dir run the same code). Migrations run on open unless the database is opened read-only. A failure to open is
 * a STORAGE_* error naming the file (storage-errors.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FedwardenError } from '@fedwarden/shared';
import { assertNotNewer, migrate } from './migrations.ts';
import { storageError } from './storage-errors.ts';

export type Db = Database.Database;

/** The database file inside the coordinator's data dir (beside coordinator-key.json). */
export const DB_FILE_NAME = 'fedwarden.db';

export const MEMORY = ':memory:';

export interface OpenDatabaseOptions {
  /** Open an existing database without writing to it (verify); no migrations. */
  readonly readonly?: boolean;
}

export function databasePath(dataDir: string): string {
  return join(dataDir, DB_FILE_NAME);
}

export function openDatabase(path: string, options: OpenDatabaseOptions = {}): Db {
  const readonly = options.readonly ?? false;
  let db: Db;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly });
  } catch (err) {
    // Reading a database that is not there is a wrong --data-dir (usage); anything else is the storage's failure.
    if (readonly && !existsSync(path)) throw new FedwardenError('BAD_CONFIG', `cannot open database ${path}: no such file`, { cause: err });
    throw storageError(err, `database ${path}`, 'open it');
  }
  try {
    // Reading the schema is the first access to the file: a file that is not a database fails here.
    if (readonly) {
      assertNotNewer(db);
    } else {
      if (path !== MEMORY) {
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (mode !== 'wal') throw new FedwardenError('BAD_CONFIG', `database ${path}: WAL mode unavailable (${String(mode)})`);
      }
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      migrate(db);
    }
    return db;
  } catch (err) {
    db.close();
    throw storageError(err, `database ${path}`, 'open it');
  }
}
