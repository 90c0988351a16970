/**
 * Storage failures leave the storage boundary as STORAGE_* codes naming the file. The failures are real SQLite
 * and file-system errors where this machine can produce them as root (chmod does not stop root): a database
 * opened read-only, a page limit standing in for a full disk, a write lock held by another connection, a file
 * that is not a database, a data dir under a regular file. An I/O error cannot be provoked here, so its mapping
 * is checked on the codes alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { FedwardenError, silentLogger } from '@fedwarden/shared';
import { Coordinator } from '../coordinator.ts';
import { openDataDir } from '../data-dir.ts';
import { ephemeralIdentity } from '../identity.ts';
import { guardStorage, storageCode, storageError } from './storage-errors.ts';
import { SqliteStore } from './store.ts';
import { CONFIG, storeWithRounds, tempDbPath } from './test-support.ts';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function dbPath(): string {
  const t = tempDbPath();
  cleanups.push(t.cleanup);
  return t.path;
}

function thrown(fn: () => unknown): FedwardenError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FedwardenError);
    return err as FedwardenError;
  }
  throw new Error('expected a throw');
}

describe('storage error codes', () => {
  it('maps SQLite result codes (extended ones by their primary prefix) and errno codes', () => {
    expect(storageCode('SQLITE_READONLY')).toBe('STORAGE_READONLY');
    expect(storageCode('SQLITE_READONLY_DBMOVED')).toBe('STORAGE_READONLY');
    expect(storageCode('SQLITE_IOERR')).toBe('STORAGE_IO');
    expect(storageCode('SQLITE_IOERR_WRITE')).toBe('STORAGE_IO');
    expect(storageCode('SQLITE_IOERR_FSYNC')).toBe('STORAGE_IO');
    expect(storageCode('SQLITE_CANTOPEN')).toBe('STORAGE_IO');
    expect(storageCode('SQLITE_FULL')).toBe('STORAGE_FULL');
    expect(storageCode('SQLITE_CORRUPT')).toBe('STORAGE_CORRUPT');
    expect(storageCode('SQLITE_NOTADB')).toBe('STORAGE_CORRUPT');
    expect(storageCode('SQLITE_BUSY')).toBe('STORAGE_LOCKED');
    expect(storageCode('SQLITE_BUSY_SNAPSHOT')).toBe('STORAGE_LOCKED');
    expect(storageCode('EROFS')).toBe('STORAGE_READONLY');
    expect(storageCode('EACCES')).toBe('STORAGE_READONLY');
    expect(storageCode('ENOSPC')).toBe('STORAGE_FULL');
    expect(storageCode('EIO')).toBe('STORAGE_IO');
    expect(storageCode('SQLITE_PROTOCOL')).toBe('STORAGE_LOCKED');
    expect(storageCode('SQLITE_NOMEM')).toBe('STORAGE_IO');
    expect(storageCode('ESTALE')).toBe('STORAGE_IO');
    expect(storageCode('ENAMETOOLONG')).toBe('STORAGE_IO');
    expect(storageCode('ELOOP')).toBe('STORAGE_IO');
    // Not storage failures: a constraint is a bug, and unknown codes are not guessed at.
    expect(storageCode('SQLITE_CONSTRAINT_UNIQUE')).toBeUndefined();
    expect(storageCode('SQLITE_IOERRX')).toBeUndefined();
    expect(storageCode(undefined)).toBeUndefined();
  });

  it('names the file and what was being done; a STORAGE_* error gets the file when it lacks it; other FedwardenErrors pass through; anything else is INTERNAL, still named', () => {
    const io = storageError(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }), 'database /srv/fw/fedwarden.db', 'finish round 3');
    expect(io.code).toBe('STORAGE_IO');
    expect(io.message).toBe('database /srv/fw/fedwarden.db: cannot finish round 3: disk I/O error');
    const own = new FedwardenError('STORAGE_CORRUPT', 'audit chain broken');
    const named = storageError(own, 'database /srv/fw/fedwarden.db', 'resume from it');
    expect(named).toMatchObject({ code: 'STORAGE_CORRUPT', message: 'database /srv/fw/fedwarden.db: cannot resume from it: audit chain broken', cause: own });
    expect(storageError(named, 'database /srv/fw/fedwarden.db', 'resume from it')).toBe(named);
    const usage = new FedwardenError('BAD_CONFIG', 'participant p9 is not in the database');
    expect(storageError(usage, 'x', 'y')).toBe(usage);
    expect(storageError(new Error('boom'), 'database d', 'read it')).toMatchObject({ code: 'INTERNAL', message: 'database d: cannot read it: boom' });
  });

  it('a database opened read-only: STORAGE_READONLY naming the file, from the store and from a coordinator resuming on it', () => {
    const path = dbPath();
    storeWithRounds(path, 1).close();
    const store = SqliteStore.open(path, { readonly: true });
    try {
      const e = thrown(() => store.beginRound(2, CONFIG, ['p0']));
      expect(e.code).toBe('STORAGE_READONLY');
      expect(e.message).toBe(`database ${path}: cannot start round 2: attempt to write a readonly database`);
      const resumed = thrown(() => new Coordinator(CONFIG, ephemeralIdentity(), silentLogger, { store }));
      expect(resumed.code).toBe('STORAGE_READONLY');
      expect(resumed.message).toContain(`database ${path}: cannot resume from it`);
    } finally {
      store.close();
    }
  });

  it('a full database (a page limit stands in for a full disk): STORAGE_FULL', () => {
    const path = dbPath();
    const raw = new Database(path);
    try {
      raw.exec('CREATE TABLE t (x BLOB)');
      raw.pragma('max_page_count = 8');
      const e = thrown(() => guardStorage(`database ${path}`, 'write', () => raw.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(64 * 1024))));
      expect(e.code).toBe('STORAGE_FULL');
      expect(e.message).toBe(`database ${path}: cannot write: database or disk is full`);
    } finally {
      raw.close();
    }
  });

  it('a write lock held by another connection past the busy timeout: STORAGE_LOCKED', () => {
    const path = dbPath();
    storeWithRounds(path, 0).close();
    const holder = new Database(path);
    const waiter = new Database(path, { timeout: 0 });
    try {
      holder.exec('BEGIN IMMEDIATE');
      const e = thrown(() => guardStorage(`database ${path}`, 'write', () => waiter.exec('BEGIN IMMEDIATE')));
      expect(e.code).toBe('STORAGE_LOCKED');
      expect(e.message).toContain(`database ${path}: cannot write: database is locked`);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
      waiter.close();
    }
  });

  it('a file that is not a database: STORAGE_CORRUPT naming it', () => {
    const path = dbPath();
    writeFileSync(path, 'this is not a database, but it is long enough to have a header of a hundred bytes........................');
    const e = thrown(() => SqliteStore.open(path));
    expect(e.code).toBe('STORAGE_CORRUPT');
    expect(e.message).toContain(`database ${path}: cannot open it: file is not a database`);
  });

  it('a data dir that cannot be created (under a regular file): STORAGE_IO naming the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedwarden-storage-errors-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, '');
    const e = thrown(() => openDataDir(join(file, 'data')));
    expect(e.code).toBe('STORAGE_IO');
    expect(e.message).toContain(`data dir ${join(file, 'data')}: cannot create it`);
    expect(e.message).toContain('ENOTDIR');
  });

  it('integrity failures found deep in the tables name the database file; so does the audit head', () => {
    const path = dbPath();
    storeWithRounds(path, 2).close();
    const raw = new Database(path);
    raw.prepare('UPDATE checkpoints SET adapter = ? WHERE round = 1').run(Buffer.alloc(8));
    raw.close();
    const store = SqliteStore.open(path);
    cleanups.push(() => store.close());
    const e = thrown(() => store.checkpoint(1));
    expect(e.code).toBe('STORAGE_CORRUPT');
    expect(e.message).toMatch(new RegExp(`^database ${path}: cannot read a checkpoint: checkpoint of round 1 is corrupt`));
    const raw2 = new Database(path);
    raw2.exec('DROP TABLE audit_log');
    raw2.close();
    const head = thrown(() => store.auditHead());
    expect(head.message).toContain(`database ${path}: cannot read the audit head`);
  });
});
