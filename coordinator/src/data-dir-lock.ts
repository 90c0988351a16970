/**
 * The data-dir lock: <dataDir>/coordinator.lock, created exclusively (O_EXCL) by the process that owns the data
 * dir, a running coordinator or a restore into it, and holding its pid; removed when it stops. `fedwarden
 * restore` refuses a data dir locked by a live process, so it never moves a running coordinator's database,
 * -wal and -shm from under it, and a coordinator refuses to start on a data dir being restored.
 *
 * A lock whose process is gone (killed, power loss) is stale: the next owner takes it over and reports whose it
 * was. A pid reused after a reboot reads as alive; the error then says to remove the lock file by hand.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FedwardenError } from '@fedwarden/shared';
import { fsyncFileSync } from './storage/fsync.ts';
import { processAlive, type ProcessAlive } from './storage/process-alive.ts';
import { guardStorage, storageError } from './storage/storage-errors.ts';

export const LOCK_FILE_NAME = 'coordinator.lock';

/** Who holds a lock, as its file records it. */
export interface LockHolder {
  readonly pid: number;
  /** 'coordinator' or 'restore'. */
  readonly holder: string;
  readonly since: string;
}

export interface DataDirLock {
  readonly path: string;
  /** The stale lock this one replaced (its process was gone), for the caller to report. */
  readonly tookOver?: LockHolder;
  /** Remove the lock file, if it is still this lock's (idempotent). */
  release(): void;
}

export function lockPath(dataDir: string): string {
  return join(dataDir, LOCK_FILE_NAME);
}

/**
 * Take the data dir's lock for `holder` (the data dir is created 0700 if missing). Throws STORAGE_LOCKED when a
 * live process holds it; takes over a stale one.
 */
export function lockDataDir(dataDir: string, holder: string, alive: ProcessAlive = processAlive): DataDirLock {
  const path = lockPath(dataDir);
  guardStorage(`data dir ${dataDir}`, 'create it', () => mkdirSync(dataDir, { recursive: true, mode: 0o700 }));
  const token = randomBytes(8).toString('hex');
  const body = JSON.stringify({ pid: process.pid, holder, since: new Date().toISOString(), token }) + '\n';
  let tookOver: LockHolder | undefined;
  for (let attempt = 0; ; attempt++) {
    if (tryCreate(path, body)) break;
    const current = readLock(path);
    if (current === undefined) continue; // removed meanwhile: try again
    if (alive(current.pid) || attempt > 0) throw lockedError(dataDir, path, current);
    // Stale: move it aside under a name of our own, so that two processes taking it over cannot both win.
    const aside = `${path}.stale-${token}`;
    try {
      renameSync(path, aside);
      rmSync(aside, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw storageError(err, `lock file ${path}`, 'remove the stale lock');
    }
    tookOver = current;
  }
  let released = false;
  return {
    path,
    ...(tookOver ? { tookOver } : {}),
    release() {
      if (released) return;
      released = true;
      try {
        if ((JSON.parse(readFileSync(path, 'utf8')) as { token?: unknown }).token === token) rmSync(path, { force: true });
      } catch {
        // Gone or replaced: not ours to remove.
      }
    },
  };
}

function lockedError(dataDir: string, path: string, current: LockHolder): FedwardenError {
  return new FedwardenError(
    'STORAGE_LOCKED',
    `data dir ${dataDir} is in use: ${current.holder} process ${current.pid} holds its lock ${path} (since ${current.since}); ` +
      `stop it first. If no such process uses this data dir (its pid was reused after a reboot), remove ${path}`,
  );
}

function tryCreate(path: string, body: string): boolean {
  try {
    writeFileSync(path, body, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw storageError(err, `lock file ${path}`, 'create it');
  }
  fsyncFileSync(path);
  return true;
}

/** The lock file's holder; undefined if there is none; an unreadable or malformed one reads as a dead holder. */
function readLock(path: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw storageError(err, `lock file ${path}`, 'read it');
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    return { pid: typeof parsed.pid === 'number' ? parsed.pid : 0, holder: String(parsed.holder ?? 'unknown'), since: String(parsed.since ?? 'unknown') };
  } catch {
    return { pid: 0, holder: 'unknown (malformed lock file)', since: 'unknown' };
  }
}
