/**
 * Data-dir safety (data-dir.ts): a key without its database, a database without its key, or a key the database
 * was not bound to is refused with a message naming the files and what to do; --init creates what is missing; a
 * data dir with neither is a new federation.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FedwardenError } from '@fedwarden/shared';
import { dataDirFingerprint, inspectDataDir, openDataDir } from './data-dir.ts';
import { createIdentity, keyPath, readIdentity } from './identity.ts';
import { databasePath } from './storage/database.ts';
import { SqliteStore } from './storage/store.ts';
import { storeWithRounds } from './storage/test-support.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fedwarden-datadir-'));
  dirs.push(d);
  return join(d, 'data');
}

/** A data dir opened once (key and database bound), with `rounds` finished rounds; returns its key's fingerprint. */
function federation(rounds = 2): { dataDir: string; fingerprint: string } {
  const dataDir = tempDataDir();
  const opened = openDataDir(dataDir);
  opened.store.close();
  if (rounds > 0) storeWithRounds(databasePath(dataDir), rounds).close();
  return { dataDir, fingerprint: opened.identity.fingerprint };
}

function refusal(fn: () => unknown): FedwardenError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FedwardenError);
    return err as FedwardenError;
  }
  throw new Error('expected a refusal');
}

function keyEvents(dataDir: string): unknown[] {
  const store = SqliteStore.open(databasePath(dataDir), { readonly: true });
  try {
    expect(store.verify().ok).toBe(true);
    return store.auditEntries('coordinator-key').map((e) => e.body);
  } finally {
    store.close();
  }
}

describe('data dir', () => {
  it('with neither key nor database: a new federation, both created owner-only and bound together', () => {
    const dataDir = tempDataDir();
    expect(inspectDataDir(dataDir)).toMatchObject({ key: false, database: 'missing' });
    const opened = openDataDir(dataDir);
    opened.store.close();
    expect(opened.created).toEqual({ key: true, database: true, keyAdopted: false });
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(keyPath(dataDir)).mode & 0o777).toBe(0o600);
    expect(statSync(databasePath(dataDir)).mode & 0o777).toBe(0o600);
    expect(keyEvents(dataDir)).toEqual([{ event: 'created', fingerprint: opened.identity.fingerprint }]);

    const again = openDataDir(dataDir);
    again.store.close();
    expect(again.created).toEqual({ key: false, database: false, keyAdopted: false });
    expect(again.identity.fingerprint).toBe(opened.identity.fingerprint);
    expect(keyEvents(dataDir)).toHaveLength(1);
  });

  it('refuses a key whose database is missing, naming both files and the ways out, and creates nothing', () => {
    const { dataDir } = federation();
    rmSync(databasePath(dataDir));
    const e = refusal(() => openDataDir(dataDir));
    expect(e.code).toBe('STORAGE_MISSING');
    expect(e.message).toContain(`the coordinator key ${keyPath(dataDir)} is there but the database ${databasePath(dataDir)} is missing`);
    expect(e.message).toContain('starting would begin a new federation at round 1');
    expect(e.message).toContain(`fedwarden restore --from <backup> --data-dir ${dataDir} --overwrite`);
    expect(e.message).toContain('--init');
    expect(existsSync(databasePath(dataDir))).toBe(false);
  });

  it('refuses a key whose database was truncated to nothing, and leaves the file as it was', () => {
    const { dataDir } = federation();
    truncateSync(databasePath(dataDir), 0);
    expect(inspectDataDir(dataDir).database).toBe('empty');
    const e = refusal(() => openDataDir(dataDir));
    expect(e.code).toBe('STORAGE_MISSING');
    expect(e.message).toContain(`the database ${databasePath(dataDir)} is empty (no schema)`);
    expect(statSync(databasePath(dataDir)).size).toBe(0);
  });

  it('refuses a database whose key is missing, naming both files, its last round and the key participants pinned', () => {
    const { dataDir, fingerprint } = federation(3);
    rmSync(keyPath(dataDir));
    const e = refusal(() => openDataDir(dataDir));
    expect(e.code).toBe('STORAGE_MISSING');
    expect(e.message).toContain(`the database ${databasePath(dataDir)} holds a federation (last finished round 3, key fingerprint ${fingerprint.slice(0, 16)}…)`);
    expect(e.message).toContain(`the coordinator key ${keyPath(dataDir)} is missing`);
    expect(e.message).toContain('--init');
    expect(existsSync(keyPath(dataDir))).toBe(false);
    // `fedwarden fingerprint` must not mint a new key either.
    expect(refusal(() => dataDirFingerprint(dataDir)).code).toBe('STORAGE_MISSING');
    expect(existsSync(keyPath(dataDir))).toBe(false);
  });

  it('refuses a key that the database was not bound to', () => {
    const { dataDir, fingerprint } = federation();
    const other = federation(0);
    writeFileSync(keyPath(dataDir), readFileSync(keyPath(other.dataDir)), { mode: 0o600 });
    const e = refusal(() => openDataDir(dataDir));
    expect(e.code).toBe('STORAGE_MISMATCH');
    expect(e.message).toContain(`the coordinator key ${keyPath(dataDir)} (fingerprint ${other.fingerprint.slice(0, 16)}…) is not the key`);
    expect(e.message).toContain(`(${fingerprint.slice(0, 16)}…)`);
  });

  it('--init: a new database under the existing key (an empty file is moved aside, not deleted)', () => {
    const { dataDir, fingerprint } = federation();
    truncateSync(databasePath(dataDir), 0);
    const opened = openDataDir(dataDir, { init: true });
    const state = opened.store.resume([]);
    opened.store.close();
    expect(opened.created).toEqual({ key: false, database: true, keyAdopted: false });
    expect(opened.identity.fingerprint).toBe(fingerprint);
    expect(state.lastFinishedRound).toBe(0);
    expect(keyEvents(dataDir)).toEqual([{ event: 'created', fingerprint }]);
    expect(readdirSync(dataDir).filter((n) => n.startsWith('fedwarden.db.empty-'))).toHaveLength(1);
  });

  it('--init: a new key for the existing database, audited with the one it replaces; the history stays', () => {
    const { dataDir, fingerprint } = federation(2);
    rmSync(keyPath(dataDir));
    const opened = openDataDir(dataDir, { init: true });
    const state = opened.store.resume([]);
    opened.store.close();
    expect(opened.created).toEqual({ key: true, database: false, keyAdopted: false });
    expect(opened.identity.fingerprint).not.toBe(fingerprint);
    expect(state.lastFinishedRound).toBe(2);
    expect(keyEvents(dataDir)).toEqual([
      { event: 'created', fingerprint },
      { event: 'replaced', fingerprint: opened.identity.fingerprint, previous: fingerprint },
    ]);
    expect(openDataDir(dataDir).identity.fingerprint).toBe(opened.identity.fingerprint); // and from now on, without --init
  });

  it('--init adopts a key the database was not bound to; on a data dir already whole it is refused (USAGE)', () => {
    const { dataDir } = federation();
    const other = federation(0);
    writeFileSync(keyPath(dataDir), readFileSync(keyPath(other.dataDir)), { mode: 0o600 });
    const adopted = openDataDir(dataDir, { init: true });
    adopted.store.close();
    expect(adopted.created.keyAdopted).toBe(true);
    expect(adopted.identity.fingerprint).toBe(other.fingerprint);
    const e = refusal(() => openDataDir(dataDir, { init: true }).store.close());
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain('there is nothing to initialise: start without --init');
  });

  it('binds a database from before keys were recorded to the key found beside it', () => {
    const dataDir = tempDataDir();
    const identity = createIdentity(dataDir);
    storeWithRounds(databasePath(dataDir), 1).close();
    const opened = openDataDir(dataDir);
    opened.store.close();
    expect(opened.created).toEqual({ key: false, database: false, keyAdopted: false });
    expect(keyEvents(dataDir)).toEqual([{ event: 'recorded', fingerprint: identity.fingerprint }]);
  });

  it('`fingerprint` reads an existing key without touching the database, and sets up a new data dir whole', () => {
    const { dataDir, fingerprint } = federation();
    rmSync(databasePath(dataDir));
    expect(dataDirFingerprint(dataDir)).toEqual({ fingerprint, created: false });
    expect(existsSync(databasePath(dataDir))).toBe(false);

    const fresh = tempDataDir();
    const first = dataDirFingerprint(fresh);
    expect(first.created).toBe(true);
    expect(readIdentity(fresh).fingerprint).toBe(first.fingerprint);
    expect(inspectDataDir(fresh)).toMatchObject({ key: true, database: 'present' });
    const opened = openDataDir(fresh); // the coordinator's first start finds them together
    opened.store.close();
    expect(opened.created).toEqual({ key: false, database: false, keyAdopted: false });
  });
});
