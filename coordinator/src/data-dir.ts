/**
 * A coordinator's data dir: its key (coordinator-key.json) and its database (fedwarden.db) belong together.
 * Participants pin the key's fingerprint, and the database holds the federation's history under that key, so a
 * start that finds one without the other is refused instead of pairing the survivor with a fresh counterpart:
 *
 *   key   database          start                                  with --init
 *   no    missing / empty   a new federation: both created         the same
 *   yes   missing / empty   refused (STORAGE_MISSING)              a new database: history restarts at round 1
 *   no    present           refused (STORAGE_MISSING)              a new key: participants must pin its fingerprint
 *   yes   present           resumes; refused (STORAGE_MISMATCH)    the key is adopted for the database
 *                           if the database was bound to another
 *                           key
 *
 * "Empty" is a database without the schema (truncated to 0 bytes, or never migrated). A database records the
 * fingerprint of its key (meta + a 'coordinator-key' audit entry); one from before that record gets it at its next
 * start. `--init` where both belong together is refused, so that it cannot stay in a service's command line and
 * quietly re-initialise a data dir that later loses a file.
 */
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { FedwardenError, shortFingerprint } from '@fedwarden/shared';
import { createIdentity, keyPath, readIdentity, type CoordinatorIdentity } from './identity.ts';
import { databasePath, openDatabase } from './storage/database.ts';
import { schemaVersion } from './storage/migrations.ts';
import { fsyncDirSync } from './storage/fsync.ts';
import { guardStorage } from './storage/storage-errors.ts';
import { SqliteStore } from './storage/store.ts';

export type DatabaseState = 'missing' | 'empty' | 'present';

export interface DataDirState {
  readonly dataDir: string;
  readonly keyPath: string;
  readonly databasePath: string;
  readonly key: boolean;
  readonly database: DatabaseState;
}

export interface OpenDataDirOptions {
  /** The operator's explicit go-ahead to create what is missing (`fedwarden coordinator --init`). */
  readonly init?: boolean;
}

export interface OpenedDataDir {
  readonly identity: CoordinatorIdentity;
  readonly store: SqliteStore;
  /** What this call created or changed, for the caller to log. */
  readonly created: { readonly key: boolean; readonly database: boolean; readonly keyAdopted: boolean };
}

/** Which of the key and the database dataDir holds. Reads the database's schema version, without writing. */
export function inspectDataDir(dataDir: string): DataDirState {
  const key = keyPath(dataDir);
  const db = databasePath(dataDir);
  const state = { dataDir, keyPath: key, databasePath: db, key: guardStorage(`key file ${key}`, 'look for it', () => existsSync(key)) };
  if (!guardStorage(`database ${db}`, 'look for it', () => existsSync(db))) return { ...state, database: 'missing' };
  if (guardStorage(`database ${db}`, 'look at it', () => statSync(db).size) === 0 && !existsSync(`${db}-wal`)) return { ...state, database: 'empty' };
  const raw = openDatabase(db, { readonly: true });
  try {
    return { ...state, database: guardStorage(`database ${db}`, 'read its schema version', () => schemaVersion(raw)) > 0 ? 'present' : 'empty' };
  } finally {
    raw.close();
  }
}

/**
 * Open dataDir for a coordinator: its key and its store (not yet resumed), after the checks in the header;
 * creates a new federation's key and database when the data dir has neither.
 */
export function openDataDir(dataDir: string, options: OpenDataDirOptions = {}): OpenedDataDir {
  const init = options.init ?? false;
  const state = inspectDataDir(dataDir);
  if (!init && state.key && state.database !== 'present') throw missingDatabase(state);
  if (!init && !state.key && state.database === 'present') throw missingKey(state);
  guardStorage(`data dir ${dataDir}`, 'create it', () => mkdirSync(dataDir, { recursive: true, mode: 0o700 }));
  if (state.database !== 'present') discardDatabaseFiles(state);
  const identity = state.key ? readIdentity(dataDir) : createIdentity(dataDir);
  const store = SqliteStore.open(state.databasePath);
  try {
    const recorded = store.keyFingerprint();
    let keyAdopted = false;
    if (state.database !== 'present') {
      guardStorage(`database ${state.databasePath}`, 'restrict it to its owner', () => chmodSync(state.databasePath, 0o600));
      store.recordKeyFingerprint(identity.fingerprint, 'created');
    } else if (!state.key) {
      store.recordKeyFingerprint(identity.fingerprint, 'replaced');
    } else if (recorded === undefined) {
      store.recordKeyFingerprint(identity.fingerprint, 'recorded'); // a database from before keys were recorded
    } else if (recorded !== identity.fingerprint) {
      if (!init) throw keyMismatch(state, identity.fingerprint, recorded);
      store.recordKeyFingerprint(identity.fingerprint, 'replaced');
      keyAdopted = true;
    } else if (init) {
      throw new FedwardenError(
        'USAGE',
        `--init: the data dir ${dataDir} already holds the coordinator key ${state.keyPath} and its database ${state.databasePath}; ` +
          'there is nothing to initialise: start without --init',
      );
    }
    fsyncDirSync(dataDir);
    return { identity, store, created: { key: !state.key, database: state.database !== 'present', keyAdopted } };
  } catch (err) {
    store.close();
    throw err;
  }
}

/**
 * The key's fingerprint for `fedwarden fingerprint`: read from the key file when there is one; a data dir with
 * neither file is initialised (key and database, so that the coordinator's first start finds them together); a
 * database without its key is refused as at start.
 */
export function dataDirFingerprint(dataDir: string): { fingerprint: string; created: boolean } {
  const state = inspectDataDir(dataDir);
  if (state.key) return { fingerprint: readIdentity(dataDir).fingerprint, created: false };
  if (state.database === 'present') throw missingKey(state);
  const opened = openDataDir(dataDir);
  opened.store.close();
  return { fingerprint: opened.identity.fingerprint, created: true };
}

function restoreHint(dataDir: string): string {
  return `fedwarden restore --from <backup> --data-dir ${dataDir} --overwrite`;
}

function missingDatabase(state: DataDirState): FedwardenError {
  const what = state.database === 'missing' ? 'is missing' : 'is empty (no schema)';
  return new FedwardenError(
    'STORAGE_MISSING',
    `data dir ${state.dataDir}: the coordinator key ${state.keyPath} is there but the database ${state.databasePath} ${what}: ` +
      "the federation's rounds, checkpoints and audit log are not there, and starting would begin a new federation at round 1 " +
      `under the same key. Restore the data dir from a backup (${restoreHint(state.dataDir)}), or, to start a new federation ` +
      'under this key on purpose, start once with --init',
  );
}

function missingKey(state: DataDirState): FedwardenError {
  const facts = describeDatabase(state.databasePath);
  return new FedwardenError(
    'STORAGE_MISSING',
    `data dir ${state.dataDir}: the database ${state.databasePath} holds a federation (${facts}) but the coordinator key ` +
      `${state.keyPath} is missing: participants pin that key's fingerprint, and a new key would fail every one of them. ` +
      `Restore the key from a backup (${restoreHint(state.dataDir)} restores both), or, to generate a new key on purpose ` +
      '(every participant must then pin its fingerprint), start once with --init',
  );
}

function keyMismatch(state: DataDirState, found: string, recorded: string): FedwardenError {
  return new FedwardenError(
    'STORAGE_MISMATCH',
    `data dir ${state.dataDir}: the coordinator key ${state.keyPath} (fingerprint ${shortFingerprint(found)}) is not the key the ` +
      `database ${state.databasePath} belongs to (${shortFingerprint(recorded)}): put the matching key back (from a backup: ` +
      `${restoreHint(state.dataDir)}), or, to adopt this key for the federation on purpose, start once with --init`,
  );
}

/** The last finished round and the recorded key fingerprint of a database, for messages; best effort. */
function describeDatabase(path: string): string {
  try {
    const store = SqliteStore.open(path, { readonly: true });
    try {
      const last = store.rounds().filter((r) => r.status === 'finished').at(-1)?.round ?? 0;
      const key = store.keyFingerprint();
      return `last finished round ${last}${key ? `, key fingerprint ${shortFingerprint(key)}` : ''}`;
    } finally {
      store.close();
    }
  } catch {
    return 'unreadable';
  }
}

/**
 * Before a new database is created: move an empty database file aside and drop the write-ahead log and shared
 * memory a deleted database left behind (SQLite would replay that log into the new file).
 */
function discardDatabaseFiles(state: DataDirState): void {
  const db = state.databasePath;
  guardStorage(`database ${db}`, 'clear the way for a new database', () => {
    if (existsSync(db)) renameSync(db, `${db}.empty-${Date.now()}`);
    for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${db}${suffix}`, { force: true });
  });
}
