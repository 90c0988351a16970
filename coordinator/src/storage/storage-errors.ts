/**
 * Storage failures as stable STORAGE_* codes that name the file, mapped where storage is entered (database.ts,
 * store.ts, data-dir.ts, backup.ts) so that an operator reads
 *   error [STORAGE_READONLY]: database /srv/fedwarden/fedwarden.db: cannot finish round 3: attempt to write a readonly database
 * instead of `error [INTERNAL]: disk I/O error`. SQLite's primary result codes (https://sqlite.org/rescode.html;
 * extended codes such as SQLITE_IOERR_WRITE keep their primary prefix) and Node's errno codes map alike.
 */
import { FedwardenError, type ErrorCode } from '@fedwarden/shared';

const SQLITE_CODES: ReadonlyArray<readonly [prefix: string, code: ErrorCode]> = [
  ['SQLITE_READONLY', 'STORAGE_READONLY'],
  ['SQLITE_PERM', 'STORAGE_READONLY'],
  ['SQLITE_FULL', 'STORAGE_FULL'],
  ['SQLITE_CORRUPT', 'STORAGE_CORRUPT'],
  ['SQLITE_NOTADB', 'STORAGE_CORRUPT'],
  ['SQLITE_BUSY', 'STORAGE_LOCKED'],
  ['SQLITE_LOCKED', 'STORAGE_LOCKED'],
  // WAL's lock protocol lost a race with another connection (https://sqlite.org/rescode.html#protocol).
  ['SQLITE_PROTOCOL', 'STORAGE_LOCKED'],
  ['SQLITE_IOERR', 'STORAGE_IO'],
  ['SQLITE_CANTOPEN', 'STORAGE_IO'],
  ['SQLITE_NOLFS', 'STORAGE_IO'],
  // SQLite could not allocate memory for the statement: the storage step failed, not the caller's logic.
  ['SQLITE_NOMEM', 'STORAGE_IO'],
];

const ERRNO_CODES: Readonly<Record<string, ErrorCode>> = {
  EROFS: 'STORAGE_READONLY',
  EACCES: 'STORAGE_READONLY',
  EPERM: 'STORAGE_READONLY',
  ENOSPC: 'STORAGE_FULL',
  EDQUOT: 'STORAGE_FULL',
  EFBIG: 'STORAGE_FULL',
  EIO: 'STORAGE_IO',
  ENOTDIR: 'STORAGE_IO',
  EISDIR: 'STORAGE_IO',
  ENOENT: 'STORAGE_IO',
  EEXIST: 'STORAGE_IO',
  EMFILE: 'STORAGE_IO',
  ENFILE: 'STORAGE_IO',
  ESTALE: 'STORAGE_IO', // a file on NFS removed or replaced under an open handle
  ENAMETOOLONG: 'STORAGE_IO', // a data dir or backup path the file system cannot name
  ELOOP: 'STORAGE_IO', // a symbolic-link cycle in a data dir or backup path
};

/** The STORAGE_* code for an SQLite or errno code, or undefined when it is not a storage failure. */
export function storageCode(code: unknown): ErrorCode | undefined {
  if (typeof code !== 'string') return undefined;
  if (code.startsWith('SQLITE_')) return SQLITE_CODES.find(([prefix]) => code === prefix || code.startsWith(`${prefix}_`))?.[1];
  return ERRNO_CODES[code];
}

/**
 * `err` as a FedwardenError naming `what` (e.g. "database /data/fedwarden.db") and what was being done. A
 * STORAGE_* FedwardenError whose message does not name `what` gets it as a prefix (checks deep in the tables
 * know the row, not the file); other FedwardenErrors pass through unchanged; a failure that is not a storage
 * one becomes INTERNAL, still named.
 */
export function storageError(err: unknown, what: string, doing: string): FedwardenError {
  if (err instanceof FedwardenError) {
    if (!err.code.startsWith('STORAGE_') || err.message.includes(what)) return err;
    return new FedwardenError(err.code, `${what}: cannot ${doing}: ${err.message}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  const code = storageCode((err as { code?: unknown } | null)?.code);
  return new FedwardenError(code ?? 'INTERNAL', `${what}: cannot ${doing}: ${message}`, { cause: err });
}

/** Run `fn`, turning what it throws into storageError(…). */
export function guardStorage<T>(what: string, doing: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw storageError(err, what, doing);
  }
}

/** guardStorage for an asynchronous file-system step (backup, restore). */
export async function io<T>(what: string, doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw storageError(err, what, doing);
  }
}
