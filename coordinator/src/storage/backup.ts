/**
 * Online backups of a data dir: the database copied with SQLite's backup API (https://sqlite.org/backup.html),
 * which gives a consistent snapshot while the coordinator keeps committing, plus the coordinator key and a
 * manifest (backup.json) that restore.ts checks before it trusts anything:
 *
 *   <backup>/fedwarden.db           the copy, in rollback-journal mode (opening it read-only leaves no -wal/-shm)
 *   <backup>/coordinator-key.json   the key, byte for byte
 *   <backup>/backup.json            when, from where, each file's size and SHA-256, the key's fingerprint, and the
 *                                   database's schema version, audit head and last finished round
 *
 * A backup holds the key, a secret: the directory is 0700 and its files 0600. It is written under a temporary
 * name beside the target, every file and the directory fsynced, then renamed into place, so a backup directory
 * is either complete or absent; the temporary directory of a process killed mid-backup (.<name>.partial-<pid>-…)
 * is removed by the next backup (sweepPartialBackups). A backup directory is also a data dir:
 * `fedwarden verify --data-dir <backup>`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { FedwardenError, shortFingerprint } from '@fedwarden/shared';
import { KEY_FILE_NAME, keyPath, parseKeyFile } from '../identity.ts';
import { AuditLog } from './audit-log.ts';
import { DB_FILE_NAME, databasePath } from './database.ts';
import { schemaVersion } from './migrations.ts';
import { fsyncDir, fsyncFile } from './fsync.ts';
import { processAlive, type ProcessAlive } from './process-alive.ts';
import { RoundsTable } from './rounds.ts';
import { io, storageError } from './storage-errors.ts';
import { META_KEY_SHA256, SqliteStore } from './store.ts';
import { verifyDatabase } from './verify.ts';

export const BACKUP_MANIFEST_NAME = 'backup.json';
export const BACKUP_FORMAT = 'fedwarden-backup';
export const BACKUP_FORMAT_VERSION = 1;
/** Scheduled backups are directories named BACKUP_PREFIX + an ISO time, so that names sort by age. */
export const BACKUP_PREFIX = 'fedwarden-backup-';
/** writeBackup's temporary directory: .<name>.partial-<pid>-<8 hex>, beside the target. */
const PARTIAL_INFIX = '.partial-';
const PARTIAL_NAME = /^\..+\.partial-(\d+)-[0-9a-f]{8}$/;

export interface BackupFileEntry {
  readonly bytes: number;
  readonly sha256: string;
}

export interface BackupDatabaseSummary {
  readonly schemaVersion: number;
  readonly auditEntries: number;
  readonly auditHead: string;
  readonly lastFinishedRound: number;
  readonly checkpoints: number;
}

export interface BackupManifest {
  readonly format: typeof BACKUP_FORMAT;
  readonly version: typeof BACKUP_FORMAT_VERSION;
  readonly createdAt: string;
  /** The data dir it was taken from (absolute). */
  readonly source: string;
  /** The coordinator key's SHA-256 fingerprint, the one participants pin. */
  readonly keyFingerprint: string;
  readonly database: BackupDatabaseSummary;
  /** Whether `verify` passed on the copy when it was taken (scheduled backups skip it; restore always runs it). */
  readonly verified: boolean;
  readonly files: Readonly<Record<string, BackupFileEntry>>;
}

export interface BackupSource {
  readonly dataDir: string;
  /** Copy the database into the new file `to`: SqliteStore.backupTo on the live store, or copyDatabaseFile. */
  copyDatabase(to: string): Promise<void>;
}

export interface WriteBackupOptions {
  /** Run `verify` on the copy and refuse to keep a copy that fails it. */
  readonly verify?: boolean;
  readonly now?: () => Date;
}

/** The database file of another process's coordinator, copied through a read-only connection in one backup step. */
export async function copyDatabaseFile(path: string, to: string): Promise<void> {
  const store = SqliteStore.open(path, { readonly: true });
  try {
    // One step copies every page under one read snapshot; smaller steps would restart whenever the coordinator commits.
    await store.backupTo(to, 0x7fffffff);
  } finally {
    store.close();
  }
}

/** Write a complete backup of `source` to the new directory `target` (its parent is created 0700 if missing). */
export async function writeBackup(source: BackupSource, target: string, options: WriteBackupOptions = {}): Promise<BackupManifest> {
  const now = options.now ?? (() => new Date());
  const dest = resolve(target);
  const parent = dirname(dest);
  await io(`backup directory ${parent}`, 'create it', () => mkdir(parent, { recursive: true, mode: 0o700 }));
  if (await exists(dest)) throw new FedwardenError('USAGE', `backup: ${dest} exists; a backup goes into a new directory`);
  const tmp = join(parent, `.${basename(dest)}${PARTIAL_INFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  await io(`backup directory ${tmp}`, 'create it', () => mkdir(tmp, { mode: 0o700 }));
  try {
    const db = join(tmp, DB_FILE_NAME);
    await source.copyDatabase(db);
    const { summary, recordedKey } = settleCopy(db, options.verify ?? false);
    const keySource = keyPath(source.dataDir);
    const keyText = await io(`key file ${keySource}`, 'read it', () => readFile(keySource, 'utf8'));
    const { fingerprint } = parseKeyFile(keySource, keyText);
    if (recordedKey !== undefined && recordedKey !== fingerprint) {
      throw new FedwardenError(
        'STORAGE_MISMATCH',
        `backup: the key ${keySource} (${shortFingerprint(fingerprint)}) is not the one the database belongs to (${shortFingerprint(recordedKey)})`,
      );
    }
    await writeSecret(join(tmp, KEY_FILE_NAME), keyText);
    await io(`backup file ${db}`, 'restrict it', () => chmod(db, 0o600));
    await fsyncFile(db);
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_FORMAT_VERSION,
      createdAt: now().toISOString(),
      source: resolve(source.dataDir),
      keyFingerprint: fingerprint,
      database: summary,
      verified: options.verify ?? false,
      files: { [DB_FILE_NAME]: await fileEntry(db), [KEY_FILE_NAME]: await fileEntry(join(tmp, KEY_FILE_NAME)) },
    };
    await writeSecret(join(tmp, BACKUP_MANIFEST_NAME), JSON.stringify(manifest, null, 2) + '\n');
    await fsyncDir(tmp);
    await io(`backup directory ${dest}`, `move ${tmp} into place`, () => rename(tmp, dest));
    await fsyncDir(parent);
    return manifest;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

/** A backup taken by the CLI from a data dir (a running coordinator's or not): both files must be there. */
export function dataDirSource(dataDir: string): BackupSource {
  return { dataDir, copyDatabase: (to) => copyDatabaseFile(databasePath(dataDir), to) };
}

/** The name of a backup taken at `at` (scheduled backups; names sort by age). */
export function backupName(at: Date): string {
  return BACKUP_PREFIX + at.toISOString().replace(/[:.]/g, '-');
}

/** Remove all but the newest `keep` complete backups in `dir` (those named by backupName with a manifest). */
export async function pruneBackups(dir: string, keep: number): Promise<string[]> {
  const names = (await io(`backup directory ${dir}`, 'list it', () => readdir(dir))).filter((n) => n.startsWith(BACKUP_PREFIX)).sort();
  const complete: string[] = [];
  for (const name of names) if (await exists(join(dir, name, BACKUP_MANIFEST_NAME))) complete.push(name);
  const doomed = complete.slice(0, Math.max(0, complete.length - keep));
  for (const name of doomed) await io(`backup ${join(dir, name)}`, 'remove it', () => rm(join(dir, name), { recursive: true, force: true }));
  return doomed.map((n) => join(dir, n));
}

/**
 * Remove the temporary directories that writeBackup left in `dir` when its process died mid-backup (those of
 * live processes, this one included, may still be written). Returns their paths, for the caller to report.
 */
export async function sweepPartialBackups(dir: string, alive: ProcessAlive = processAlive): Promise<string[]> {
  if (!(await exists(dir))) return [];
  const swept: string[] = [];
  for (const name of await io(`backup directory ${dir}`, 'list it', () => readdir(dir))) {
    const pid = PARTIAL_NAME.exec(name)?.[1];
    if (pid === undefined || alive(Number(pid))) continue;
    await io(`partial backup ${join(dir, name)}`, 'remove it', () => rm(join(dir, name), { recursive: true, force: true }));
    swept.push(join(dir, name));
  }
  return swept;
}

/** SHA-256 and size of a file, streamed (a database may be large). */
export async function fileEntry(path: string): Promise<BackupFileEntry> {
  return io(`file ${path}`, 'hash it', async () => {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    return { bytes, sha256: hash.digest('hex') };
  });
}

/**
 * Put the fresh copy in rollback-journal mode (a read-only open of a WAL database leaves -wal and -shm files
 * behind, which would change the backup), check it if asked, and read what the manifest records.
 */
function settleCopy(path: string, verify: boolean): { summary: BackupDatabaseSummary; recordedKey: string | undefined } {
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    db.pragma('journal_mode = DELETE');
    if (verify) {
      const report = verifyDatabase(db);
      if (!report.ok) {
        throw new FedwardenError('STORAGE_CORRUPT', `backup: the database copy fails verify, so no backup was kept: ${report.problems.join('; ')}`);
      }
    }
    const audit = new AuditLog(db);
    const recordedKey = (db.prepare('SELECT value FROM meta WHERE key = ?').get(META_KEY_SHA256) as { value: string } | undefined)?.value;
    const summary: BackupDatabaseSummary = {
      schemaVersion: schemaVersion(db),
      auditEntries: audit.size,
      auditHead: audit.head().hash,
      lastFinishedRound: new RoundsTable(db).lastFinished(),
      checkpoints: (db.prepare('SELECT count(*) AS n FROM checkpoints').get() as { n: number }).n,
    };
    return { summary, recordedKey };
  } catch (err) {
    throw storageError(err, `database copy ${path}`, 'read it');
  } finally {
    db?.close();
  }
}

/** Create `path` (never overwriting) with mode 0600, write `content` and fsync it. */
export async function writeSecret(path: string, content: string | Uint8Array): Promise<void> {
  await io(`file ${path}`, 'write it', async () => {
    await writeFile(path, content, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
  });
  await fsyncFile(path);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw storageError(err, path, 'look at it');
  }
}
