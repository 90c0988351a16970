/**
 * `fedwarden restore`: a backup (backup.ts) back into a data dir, trusted only after every check passes:
 *
 *   1. backup.json parses, lists exactly the database and the key, and each has its recorded size and SHA-256
 *      (nothing else may stand in for the database: a -wal or -journal beside the copy is refused);
 *   2. the key file holds the key whose fingerprint the manifest records (the bytes hashed are the bytes restored);
 *   3. the database, copied into the data dir under a temporary name (and migrated if it is older), passes
 *      `verify`, and its audit head, last finished round and recorded key equal the manifest's;
 *   4. the data dir is empty, or the operator said --overwrite: then its key and database files are moved
 *      into <dataDir>/replaced-<time>/, not deleted.
 *
 * Only then are the copies renamed into place and the directory fsynced. The restore holds the data-dir lock
 * (data-dir-lock.ts) throughout: a data dir whose coordinator runs is refused (STORAGE_LOCKED), and a data dir
 * the restore had to create is removed again if it fails. The restored coordinator resumes as after a restart:
 * a round the backup caught in progress is recorded as interrupted and runs again.
 */
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { FedwardenError, shortFingerprint } from '@fedwarden/shared';
import { LOCK_FILE_NAME, lockDataDir, type LockHolder } from '../data-dir-lock.ts';
import { KEY_FILE_NAME, parseKeyFile } from '../identity.ts';
import {
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  BACKUP_MANIFEST_NAME,
  exists,
  fileEntry,
  writeSecret,
  type BackupManifest,
} from './backup.ts';
import { DB_FILE_NAME } from './database.ts';
import { fsyncDir, fsyncFile } from './fsync.ts';
import { io } from './storage-errors.ts';
import { SqliteStore } from './store.ts';
import type { VerifyReport } from './verify.ts';

const fileEntrySchema = z.strictObject({ bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
const manifestSchema = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(BACKUP_FORMAT_VERSION),
  createdAt: z.string(),
  source: z.string(),
  keyFingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  database: z.strictObject({
    schemaVersion: z.number().int().min(1),
    auditEntries: z.number().int().min(0),
    auditHead: z.string().regex(/^[0-9a-f]{64}$/),
    lastFinishedRound: z.number().int().min(0),
    checkpoints: z.number().int().min(0),
  }),
  verified: z.boolean(),
  // Exactly these names: a manifest naming any other path (../../etc/passwd) must not make restore read it.
  files: z.strictObject({ [DB_FILE_NAME]: fileEntrySchema, [KEY_FILE_NAME]: fileEntrySchema }),
});

/** Files of a data dir that a restore replaces (with --overwrite, they are moved aside). */
const DATA_DIR_FILES = [DB_FILE_NAME, `${DB_FILE_NAME}-wal`, `${DB_FILE_NAME}-shm`, `${DB_FILE_NAME}-journal`, KEY_FILE_NAME];

export interface RestoreOptions {
  /** Replace the key and database of a data dir that is not empty (moved aside, not deleted). */
  readonly overwrite?: boolean;
  readonly now?: () => Date;
}

export interface RestoreResult {
  readonly manifest: BackupManifest;
  /** `verify` on the restored database. */
  readonly report: VerifyReport;
  /** Where the data dir's previous files went (--overwrite), if there were any. */
  readonly replacedTo?: string;
  /** A stale data-dir lock (its process was gone) that the restore took over. */
  readonly staleLock?: LockHolder;
}

/** Read and check a backup's manifest and files (steps 1 and 2); nothing is written. */
export async function checkBackup(from: string): Promise<BackupManifest> {
  return (await readBackup(from)).manifest;
}

/** Steps 1 and 2; returns the key file's bytes as hashed, so that restore writes exactly what was checked. */
async function readBackup(from: string): Promise<{ manifest: BackupManifest; key: Buffer }> {
  const dir = resolve(from);
  const manifestPath = join(dir, BACKUP_MANIFEST_NAME);
  if (!(await exists(manifestPath))) {
    throw new FedwardenError('BAD_CONFIG', `${dir} is not a fedwarden backup: it has no ${BACKUP_MANIFEST_NAME}`);
  }
  const text = await io(`backup manifest ${manifestPath}`, 'read it', () => readFile(manifestPath, 'utf8'));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FedwardenError('STORAGE_CORRUPT', `backup manifest ${manifestPath} is not valid JSON`, { cause: err });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new FedwardenError('STORAGE_CORRUPT', `backup manifest ${manifestPath} is malformed: ${problems}`);
  }
  const manifest = parsed.data as BackupManifest;
  for (const stray of [`${DB_FILE_NAME}-wal`, `${DB_FILE_NAME}-journal`]) {
    if (await exists(join(dir, stray))) {
      throw new FedwardenError('STORAGE_MISMATCH', `backup ${dir} holds ${stray}: the database was changed in place after the backup was taken`);
    }
  }
  const keyFile = join(dir, KEY_FILE_NAME);
  let key: Buffer | undefined;
  for (const name of [DB_FILE_NAME, KEY_FILE_NAME]) {
    const expected = manifest.files[name]!;
    const path = join(dir, name);
    if (!(await exists(path))) throw new FedwardenError('STORAGE_MISMATCH', `backup ${dir}: ${name} is missing`);
    if (name === KEY_FILE_NAME) key = await io(`key file ${keyFile}`, 'read it', () => readFile(keyFile));
    const actual = key && name === KEY_FILE_NAME ? { bytes: key.length, sha256: createHash('sha256').update(key).digest('hex') } : await fileEntry(path);
    if (actual.bytes !== expected.bytes || actual.sha256 !== expected.sha256) {
      throw new FedwardenError(
        'STORAGE_MISMATCH',
        `backup ${dir}: ${name} differs from its manifest (${actual.bytes} bytes, SHA-256 ${shortFingerprint(actual.sha256)}; ` +
          `the manifest says ${expected.bytes} bytes, ${shortFingerprint(expected.sha256)}): it was altered or damaged`,
      );
    }
  }
  const { fingerprint } = parseKeyFile(keyFile, key!.toString('utf8'));
  if (fingerprint !== manifest.keyFingerprint) {
    throw new FedwardenError('STORAGE_MISMATCH', `backup ${dir}: the key's fingerprint ${shortFingerprint(fingerprint)} is not the manifest's ${shortFingerprint(manifest.keyFingerprint)}`);
  }
  return { manifest, key: key! };
}

/** Restore the backup at `from` into `dataDir` (steps 1-4 of the header). */
export async function restoreBackup(from: string, dataDir: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const source = resolve(from);
  const { manifest, key } = await readBackup(source);
  const target = resolve(dataDir);
  const listed = (await exists(target)) ? await io(`data dir ${target}`, 'list it', () => readdir(target)) : [];
  const present = listed.filter((name) => name !== LOCK_FILE_NAME);
  if (present.length > 0 && !options.overwrite) {
    throw new FedwardenError(
      'USAGE',
      `restore: the data dir ${target} is not empty (${present.slice(0, 5).join(', ')}${present.length > 5 ? ', …' : ''}); ` +
        'add --overwrite to replace its key and database (they are moved into a replaced-<time> directory inside it, not deleted)',
    );
  }
  // The first directory mkdir created (target or a parent of it), if any: removed again when the restore fails.
  const created = await io(`data dir ${target}`, 'create it', () => mkdir(target, { recursive: true, mode: 0o700 }));
  try {
    const lock = lockDataDir(target, 'restore');
    try {
      const restored = await restoreLocked(source, target, manifest, key, options);
      return { ...restored, ...(lock.tookOver ? { staleLock: lock.tookOver } : {}) };
    } finally {
      lock.release();
    }
  } catch (err) {
    if (created !== undefined) await rm(created, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

async function restoreLocked(source: string, target: string, manifest: BackupManifest, key: Buffer, options: RestoreOptions): Promise<RestoreResult> {
  const stamp = (options.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-');
  const tmp = join(target, `.restore-${stamp}-${process.pid}`);
  await io(`directory ${tmp}`, 'create it', () => mkdir(tmp, { mode: 0o700 }));
  try {
    const db = join(tmp, DB_FILE_NAME);
    await io(`file ${db}`, `copy ${join(source, DB_FILE_NAME)} to it`, async () => {
      await copyFile(join(source, DB_FILE_NAME), db);
      await chmod(db, 0o600);
    });
    const copied = await fileEntry(db);
    if (copied.sha256 !== manifest.files[DB_FILE_NAME]!.sha256) {
      throw new FedwardenError('STORAGE_MISMATCH', `restore: the copy of ${join(source, DB_FILE_NAME)} differs from the backup's manifest (changed while copying?)`);
    }
    const report = checkRestoredDatabase(db, manifest, source);
    await writeSecret(join(tmp, KEY_FILE_NAME), key);
    await fsyncFile(db);
    let replacedTo: string | undefined;
    for (const name of DATA_DIR_FILES) {
      if (!(await exists(join(target, name)))) continue;
      replacedTo ??= join(target, `replaced-${stamp}`);
      const aside = replacedTo;
      await io(`directory ${aside}`, 'create it', () => mkdir(aside, { recursive: true, mode: 0o700 }));
      await io(`file ${join(target, name)}`, `move it into ${aside}`, () => rename(join(target, name), join(aside, name)));
    }
    // The database first: a restore cut short here leaves a database without its key, which a start refuses.
    await io(`database ${join(target, DB_FILE_NAME)}`, 'move the restored copy into place', () => rename(db, join(target, DB_FILE_NAME)));
    await io(`key file ${join(target, KEY_FILE_NAME)}`, 'move the restored key into place', () => rename(join(tmp, KEY_FILE_NAME), join(target, KEY_FILE_NAME)));
    await fsyncDir(target);
    return { manifest, report, ...(replacedTo ? { replacedTo } : {}) };
  } finally {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Step 3: open the copy (migrating an older schema), verify it, and compare it with the manifest. */
function checkRestoredDatabase(path: string, manifest: BackupManifest, source: string): VerifyReport {
  const store = SqliteStore.open(path);
  try {
    const report = store.verify();
    if (!report.ok) {
      throw new FedwardenError('STORAGE_CORRUPT', `restore: the database in backup ${source} fails verify: ${report.problems.join('; ')}`);
    }
    const mismatches: string[] = [];
    if (report.summary.headHash !== manifest.database.auditHead) mismatches.push(`audit head ${shortFingerprint(report.summary.headHash)}, the manifest's ${shortFingerprint(manifest.database.auditHead)}`);
    if (report.summary.lastRound !== manifest.database.lastFinishedRound) mismatches.push(`last finished round ${report.summary.lastRound}, the manifest's ${manifest.database.lastFinishedRound}`);
    const recorded = store.keyFingerprint();
    if (recorded !== undefined && recorded !== manifest.keyFingerprint) mismatches.push(`key fingerprint ${shortFingerprint(recorded)}, the manifest's ${shortFingerprint(manifest.keyFingerprint)}`);
    if (mismatches.length > 0) throw new FedwardenError('STORAGE_MISMATCH', `restore: the database in backup ${source} does not match its manifest: ${mismatches.join('; ')}`);
    return report;
  } finally {
    store.close();
  }
}
