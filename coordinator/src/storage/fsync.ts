/**
 * fsync of a file or a directory, the one helper every durable write in the data dir and in backups goes
 * through: a file's content survives a power loss once the file is synced, and a name created or renamed in a
 * directory once the directory is synced (fsync(2)). Failures are STORAGE_* errors naming the path.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { storageError } from './storage-errors.ts';

export type SyncTarget = 'file' | 'directory';

/** Directories open read-only; files read-write (some systems refuse fsync on a read-only descriptor). */
function openFlags(kind: SyncTarget): string {
  return kind === 'file' ? 'r+' : 'r';
}

async function fsyncPath(path: string, kind: SyncTarget): Promise<void> {
  try {
    const handle = await open(path, openFlags(kind));
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw storageError(err, `${kind} ${path}`, 'sync it');
  }
}

function fsyncPathSync(path: string, kind: SyncTarget): void {
  try {
    const fd = openSync(path, openFlags(kind));
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw storageError(err, `${kind} ${path}`, 'sync it');
  }
}

export const fsyncFile = (path: string): Promise<void> => fsyncPath(path, 'file');
export const fsyncDir = (path: string): Promise<void> => fsyncPath(path, 'directory');
export const fsyncFileSync = (path: string): void => fsyncPathSync(path, 'file');
export const fsyncDirSync = (path: string): void => fsyncPathSync(path, 'directory');
