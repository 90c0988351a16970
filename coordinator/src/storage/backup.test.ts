/**
 * Backups (backup.ts), restore (restore.ts) and scheduled backups (backup-schedule.ts) on real files: a copy
 * taken while rounds commit is consistent, complete or absent, owner-only, and described by its manifest;
 * restore refuses a backup that differs from its manifest or fails verify, and a data dir that is not empty.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { FedwardenError, silentLogger } from '@fedwarden/shared';
import { openDataDir } from '../data-dir.ts';
import { lockDataDir } from '../data-dir-lock.ts';
import { KEY_FILE_NAME, keyPath, readIdentity } from '../identity.ts';
import { BACKUP_MANIFEST_NAME, backupName, dataDirSource, fileEntry, pruneBackups, sweepPartialBackups, writeBackup, type BackupManifest } from './backup.ts';
import { BackupSchedule, type BackupTaken } from './backup-schedule.ts';
import { DB_FILE_NAME, databasePath } from './database.ts';
import { restoreBackup } from './restore.ts';
import { SqliteStore } from './store.ts';
import { CONFIG, PARTICIPANTS, globalAfter, record, storeWithRounds } from './test-support.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fedwarden-backup-'));
  dirs.push(d);
  return d;
}

/** A data dir (key and database bound together) whose database has finished `rounds` rounds. */
function dataDirWithRounds(rounds: number): { dataDir: string; fingerprint: string } {
  const dataDir = join(tempDir(), 'data');
  const opened = openDataDir(dataDir);
  opened.store.close();
  storeWithRounds(databasePath(dataDir), rounds).close();
  return { dataDir, fingerprint: opened.identity.fingerprint };
}

async function rejection(p: Promise<unknown>): Promise<FedwardenError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(FedwardenError);
    return err as FedwardenError;
  }
  throw new Error('expected a rejection');
}

function readManifest(backup: string): BackupManifest {
  return JSON.parse(readFileSync(join(backup, BACKUP_MANIFEST_NAME), 'utf8')) as BackupManifest;
}

/** Rewrite a backup's manifest after its files were changed, as a careful forger would. */
async function rehash(backup: string, change: (m: BackupManifest) => BackupManifest = (m) => m): Promise<void> {
  const m = readManifest(backup);
  const files = { [DB_FILE_NAME]: await fileEntry(join(backup, DB_FILE_NAME)), [KEY_FILE_NAME]: await fileEntry(join(backup, KEY_FILE_NAME)) };
  writeFileSync(join(backup, BACKUP_MANIFEST_NAME), JSON.stringify(change({ ...m, files })));
}

describe('backup', () => {
  it('copies the database while rounds commit through the same connection: consistent, owner-only, described by its manifest', async () => {
    const { dataDir, fingerprint } = dataDirWithRounds(0);
    let clock = 10_000;
    const store = SqliteStore.open(databasePath(dataDir), { now: () => clock++ });
    store.resume(PARTICIPANTS);
    for (let r = 1; r <= 3; r++) store.finishRound(store.beginRound(r, CONFIG, ['p0']), record(r, 'aborted'), undefined);
    const target = join(tempDir(), 'backups', 'first');
    // One page per step (the database has more than 16 pages), and rounds 4 and 5 committed between the first steps.
    const commitRoundsWhileCopying = () =>
      new Promise<void>((resolve) => {
        let round = 4;
        const next = () => {
          if (round > 5) return resolve();
          store.finishRound(store.beginRound(round, CONFIG, ['p0']), record(round, 'aborted'), undefined);
          round++;
          setImmediate(next);
        };
        setImmediate(next);
      });
    const copyDatabase = async (to: string) => {
      const copying = store.backupTo(to, 1);
      await commitRoundsWhileCopying();
      await copying;
    };
    const manifest = await writeBackup({ dataDir, copyDatabase }, target, { verify: true });
    store.close();

    expect(manifest).toMatchObject({ format: 'fedwarden-backup', version: 1, source: dataDir, keyFingerprint: fingerprint, verified: true });
    expect(manifest.database.lastFinishedRound).toBe(5); // the commits made during the copy reached it
    expect(readManifest(target)).toEqual(manifest);
    expect(statSync(target).mode & 0o777).toBe(0o700);
    for (const name of [DB_FILE_NAME, KEY_FILE_NAME, BACKUP_MANIFEST_NAME]) expect(statSync(join(target, name)).mode & 0o777).toBe(0o600);
    expect(readdirSync(target).sort()).toEqual([BACKUP_MANIFEST_NAME, KEY_FILE_NAME, DB_FILE_NAME].sort());
    expect(readdirSync(join(target, '..'))).toEqual(['first']); // no partial directory left
    expect(await fileEntry(join(target, DB_FILE_NAME))).toEqual(manifest.files[DB_FILE_NAME]);
    expect(readFileSync(join(target, KEY_FILE_NAME))).toEqual(readFileSync(keyPath(dataDir)));

    const copy = SqliteStore.open(join(target, DB_FILE_NAME), { readonly: true });
    try {
      const report = copy.verify();
      expect(report.ok).toBe(true);
      expect(report.summary.headHash).toBe(manifest.database.auditHead);
      expect(report.summary.lastRound).toBe(manifest.database.lastFinishedRound);
    } finally {
      copy.close();
    }
    // Opening the copy read-only changed nothing in it (rollback-journal mode: no -wal or -shm appear).
    expect(readdirSync(target)).toHaveLength(3);
    expect(await fileEntry(join(target, DB_FILE_NAME))).toEqual(manifest.files[DB_FILE_NAME]);
  });

  it('from another connection (the CLI beside a running coordinator), and never into an existing directory', async () => {
    const { dataDir } = dataDirWithRounds(2);
    const target = join(tempDir(), 'b');
    const manifest = await writeBackup(dataDirSource(dataDir), target, { verify: true });
    expect(manifest.database).toMatchObject({ lastFinishedRound: 2, checkpoints: 3 });
    const again = await rejection(writeBackup(dataDirSource(dataDir), target));
    expect(again.code).toBe('USAGE');
    expect(again.message).toContain(`${target} exists`);
  });

  it('keeps no copy of a database that fails verify', async () => {
    const { dataDir } = dataDirWithRounds(2);
    const raw = new Database(databasePath(dataDir));
    raw.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET body = replace(body, '\"reported\":3', '\"reported\":2') WHERE kind = 'round-finished'");
    raw.close();
    const parent = tempDir();
    const e = await rejection(writeBackup(dataDirSource(dataDir), join(parent, 'b'), { verify: true }));
    expect(e.code).toBe('STORAGE_CORRUPT');
    expect(e.message).toContain('the database copy fails verify, so no backup was kept');
    expect(readdirSync(parent)).toEqual([]);
  });

  it('prunes all but the newest complete backups, leaving other directories alone', async () => {
    const dir = tempDir();
    const names = [0, 1, 2, 3].map((i) => backupName(new Date(Date.UTC(2025, 0, 1, 0, 0, i))));
    for (const n of names) {
      mkdirSync(join(dir, n));
      writeFileSync(join(dir, n, BACKUP_MANIFEST_NAME), '{}');
    }
    mkdirSync(join(dir, backupName(new Date(Date.UTC(2024, 0, 1))))); // incomplete: no manifest
    mkdirSync(join(dir, 'mine'));
    expect(await pruneBackups(dir, 2)).toEqual(names.slice(0, 2).map((n) => join(dir, n)));
    expect(readdirSync(dir).sort()).toEqual([backupName(new Date(Date.UTC(2024, 0, 1))), ...names.slice(2), 'mine'].sort());
  });
});

describe('backup while rounds commit continuously', () => {
  /** Finish a round (checkpoint, reputation, audit entries) on every event-loop turn until stop() is called. */
  function keepCommitting(store: SqliteStore, from: number): { stop: () => Promise<number> } {
    let stopped = false;
    let round = from;
    const done = new Promise<number>((resolve, reject) => {
      const next = () => {
        if (stopped) return resolve(round - 1);
        try {
          const attempt = store.beginRound(round, CONFIG, ['p0', 'p1', 'p2']);
          store.reputation.set('p0', { alpha: round, beta: 0, lastRound: round, excludedThrough: 0, exclusions: 0, participations: 0, rejections: 0, recent: 0 });
          store.finishRound(attempt, record(round), globalAfter(round));
          round++;
          setImmediate(next);
        } catch (err) {
          reject(err as Error);
        }
      };
      setImmediate(next);
    });
    return { stop: () => ((stopped = true), done) };
  }

  /** The copy verifies and is the live database as it stood after some commit: a prefix of its audit log and rounds. */
  function expectPrefixOf(copyPath: string, live: SqliteStore, manifest: BackupManifest): void {
    const copy = SqliteStore.open(copyPath, { readonly: true });
    try {
      const report = copy.verify();
      expect(report.problems).toEqual([]);
      const entries = copy.auditEntries();
      expect(entries.length).toBe(manifest.database.auditEntries);
      expect(entries).toEqual(live.auditEntries().slice(0, entries.length));
      const rounds = copy.rounds();
      expect(rounds).toEqual(live.rounds().slice(0, rounds.length));
      const last = manifest.database.lastFinishedRound;
      expect(rounds.filter((r) => r.status === 'finished').map((r) => r.round)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      // Every finished round's checkpoint is there, and the latest is the one that round committed.
      expect(copy.checkpoint()?.round).toBe(last);
      expect([...copy.checkpoint()!.adapter]).toEqual([...globalAfter(last)]);
    } finally {
      copy.close();
    }
  }

  it("on the coordinator's own connection, a page per step: the copy catches up with the commits and verifies", async () => {
    const { dataDir } = dataDirWithRounds(2);
    const store = SqliteStore.open(databasePath(dataDir));
    store.resume(PARTICIPANTS);
    const writer = keepCommitting(store, 3);
    const target = join(tempDir(), 'own');
    const manifest = await writeBackup({ dataDir, copyDatabase: (to) => store.backupTo(to, 1) }, target, { verify: true });
    const lastWritten = await writer.stop();
    expect(manifest.database.lastFinishedRound).toBeGreaterThan(2); // rounds committed during the copy reached it
    expect(manifest.database.lastFinishedRound).toBeLessThanOrEqual(lastWritten);
    expectPrefixOf(join(target, DB_FILE_NAME), store, manifest);
    store.close();
  });

  it("through the CLI's own read-only connection: one snapshot, a consistent prefix of the live database", async () => {
    const { dataDir } = dataDirWithRounds(2);
    const store = SqliteStore.open(databasePath(dataDir));
    store.resume(PARTICIPANTS);
    const writer = keepCommitting(store, 3);
    await new Promise((resolve) => setTimeout(resolve, 20)); // some rounds in before the copy starts
    const targets = [join(tempDir(), 'cli-1'), join(tempDir(), 'cli-2')];
    const manifests: BackupManifest[] = [];
    for (const target of targets) manifests.push(await writeBackup(dataDirSource(dataDir), target, { verify: true }));
    const lastWritten = await writer.stop();
    expect(manifests[1]!.database.lastFinishedRound).toBeGreaterThanOrEqual(manifests[0]!.database.lastFinishedRound);
    expect(manifests[1]!.database.lastFinishedRound).toBeLessThanOrEqual(lastWritten);
    targets.forEach((target, i) => expectPrefixOf(join(target, DB_FILE_NAME), store, manifests[i]!));
    store.close();
  });
});

describe('restore', () => {
  async function backupOf(rounds: number): Promise<{ backup: string; dataDir: string; fingerprint: string; manifest: BackupManifest }> {
    const { dataDir, fingerprint } = dataDirWithRounds(rounds);
    const backup = join(tempDir(), 'backup');
    const manifest = await writeBackup(dataDirSource(dataDir), backup, { verify: true });
    return { backup, dataDir, fingerprint, manifest };
  }

  it('restores into an empty data dir: the key, and a database that resumes after its last round', async () => {
    const { backup, fingerprint, manifest } = await backupOf(2);
    const target = join(tempDir(), 'restored');
    const result = await restoreBackup(backup, target);
    expect(result.report.ok).toBe(true);
    expect(result.manifest).toEqual(manifest);
    expect(readdirSync(target).sort()).toEqual([KEY_FILE_NAME, DB_FILE_NAME].sort());
    expect(statSync(target).mode & 0o777).toBe(0o700);
    expect(statSync(keyPath(target)).mode & 0o777).toBe(0o600);
    const opened = openDataDir(target); // no refusal: key and database belong together
    expect(opened.identity.fingerprint).toBe(fingerprint);
    const state = opened.store.resume(PARTICIPANTS);
    opened.store.close();
    expect(state.lastFinishedRound).toBe(2);
    expect([...state.manifest!.global]).toEqual([...globalAfter(2)]);
  });

  it('refuses a backup whose database differs from its manifest, and writes nothing', async () => {
    const { backup } = await backupOf(2);
    const db = join(backup, DB_FILE_NAME);
    const bytes = readFileSync(db);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100]! + 1) % 256;
    chmodSync(db, 0o600);
    writeFileSync(db, bytes);
    const target = join(tempDir(), 'restored');
    const e = await rejection(restoreBackup(backup, target));
    expect(e.code).toBe('STORAGE_MISMATCH');
    expect(e.message).toContain(`backup ${backup}: ${DB_FILE_NAME} differs from its manifest`);
    expect(existsSync(target)).toBe(false);
  });

  it('refuses a backup altered and re-hashed so that its manifest matches, because verify fails', async () => {
    const { backup } = await backupOf(2);
    const raw = new Database(join(backup, DB_FILE_NAME));
    raw.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET body = replace(body, '\"reported\":3', '\"reported\":2') WHERE kind = 'round-finished'");
    raw.close();
    await rehash(backup);
    const target = join(tempDir(), 'restored');
    const e = await rejection(restoreBackup(backup, target));
    expect(e.code).toBe('STORAGE_CORRUPT');
    expect(e.message).toMatch(/fails verify: audit entry \d+: hash does not match its content/);
    expect(existsSync(target)).toBe(false); // created for the restore, removed with the temporary copy
    // Into an existing empty data dir: it stays, empty (no temporary copy, no lock).
    mkdirSync(target);
    expect((await rejection(restoreBackup(backup, target))).code).toBe('STORAGE_CORRUPT');
    expect(readdirSync(target)).toEqual([]);
  });

  it('refuses a manifest that names any file but the database and the key (a path outside the backup is never read)', async () => {
    const { backup } = await backupOf(1);
    const outside = join(tempDir(), 'secret');
    writeFileSync(outside, 'not for restore');
    const entry = await fileEntry(outside);
    for (const name of ['../secret', '../../etc/passwd', 'extra.bin']) {
      await rehash(backup, (m) => ({ ...m, files: { ...m.files, [name]: entry } }));
      const e = await rejection(restoreBackup(backup, join(tempDir(), 'restored')));
      expect(e.code).toBe('STORAGE_CORRUPT');
      expect(e.message).toMatch(/is malformed: files: /);
    }
  });

  it('restores the key bytes it hashed, even if the backup\'s key file changes after the check', async () => {
    const { backup, fingerprint } = await backupOf(1);
    const original = readFileSync(join(backup, KEY_FILE_NAME));
    const target = join(tempDir(), 'restored');
    // Swap the key file the moment restore has read it: the first read of the key is the only one.
    const restoring = restoreBackup(backup, target);
    const swap = setInterval(() => {
      try {
        chmodSync(join(backup, KEY_FILE_NAME), 0o600);
        writeFileSync(join(backup, KEY_FILE_NAME), '{"seed":"tampered"}');
      } catch {
        // the test's own race with the restore; harmless
      }
    }, 0);
    try {
      const result = await restoring.catch((err: unknown) => err);
      if (result instanceof FedwardenError) {
        // The swap came before the check: refused, and the data dir never created.
        expect(result.code).toBe('STORAGE_MISMATCH');
        expect(existsSync(target)).toBe(false);
      } else {
        expect(readFileSync(join(target, KEY_FILE_NAME))).toEqual(original);
        expect(readIdentity(target).fingerprint).toBe(fingerprint);
      }
    } finally {
      clearInterval(swap);
    }
  });

  it('refuses a data dir whose coordinator runs (its lock held by a live process); takes over a stale lock and says whose it was', async () => {
    const { backup } = await backupOf(1);
    const { dataDir } = dataDirWithRounds(1);
    const lock = lockDataDir(dataDir, 'coordinator');
    const before = readdirSync(dataDir).sort();
    const e = await rejection(restoreBackup(backup, dataDir, { overwrite: true }));
    expect(e.code).toBe('STORAGE_LOCKED');
    expect(e.message).toContain(`coordinator process ${process.pid} holds its lock ${lock.path}`);
    expect(readdirSync(dataDir).sort()).toEqual(before); // nothing moved aside
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
    // A lock left by a process that is gone (a pid no process has).
    writeFileSync(lock.path, JSON.stringify({ pid: 2 ** 30, holder: 'coordinator', since: '2025-01-01T00:00:00.000Z' }));
    const result = await restoreBackup(backup, dataDir, { overwrite: true });
    expect(result.staleLock).toEqual({ pid: 2 ** 30, holder: 'coordinator', since: '2025-01-01T00:00:00.000Z' });
    expect(existsSync(lock.path)).toBe(false); // released after the restore
    // A coordinator cannot take the lock while a live process holds it, and gets it once released.
    const held = lockDataDir(dataDir, 'restore');
    expect(() => lockDataDir(dataDir, 'coordinator')).toThrow(/STORAGE_LOCKED|is in use: restore process/);
    held.release();
    lockDataDir(dataDir, 'coordinator').release();
  });

  it("refuses a backup whose key is another federation's, or whose manifest misstates the database", async () => {
    const { backup } = await backupOf(1);
    const other = await backupOf(1);
    writeFileSync(join(backup, KEY_FILE_NAME), readFileSync(join(other.backup, KEY_FILE_NAME)));
    await rehash(backup);
    expect((await rejection(restoreBackup(backup, join(tempDir(), 'r')))).message).toMatch(/the key's fingerprint [0-9a-f]{16}… is not the manifest's/);
    await rehash(backup, (m) => ({ ...m, keyFingerprint: other.fingerprint }));
    const bound = await rejection(restoreBackup(backup, join(tempDir(), 'r')));
    expect(bound.code).toBe('STORAGE_MISMATCH');
    expect(bound.message).toMatch(/does not match its manifest: key fingerprint/);

    const { backup: second, manifest } = await backupOf(2);
    await rehash(second, (m) => ({ ...m, database: { ...m.database, lastFinishedRound: 1, auditHead: 'f'.repeat(64) } }));
    const misstated = await rejection(restoreBackup(second, join(tempDir(), 'r')));
    expect(misstated.code).toBe('STORAGE_MISMATCH');
    expect(misstated.message).toContain(`audit head ${manifest.database.auditHead.slice(0, 16)}…, the manifest's ffffffffffffffff…; last finished round 2, the manifest's 1`);
  });

  it('refuses a directory that is not a backup, or a manifest that does not parse', async () => {
    const notBackup = tempDir();
    expect((await rejection(restoreBackup(notBackup, join(tempDir(), 'r')))).code).toBe('BAD_CONFIG');
    const { backup } = await backupOf(0);
    writeFileSync(join(backup, BACKUP_MANIFEST_NAME), '{"format":"fedwarden-backup"}');
    const e = await rejection(restoreBackup(backup, join(tempDir(), 'r')));
    expect(e.code).toBe('STORAGE_CORRUPT');
    expect(e.message).toContain('is malformed');
  });

  it('refuses a data dir that is not empty unless told to overwrite; then moves its files aside', async () => {
    const { backup, fingerprint } = await backupOf(2);
    const { dataDir } = dataDirWithRounds(5);
    const before = readFileSync(keyPath(dataDir));
    const e = await rejection(restoreBackup(backup, dataDir));
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain(`restore: the data dir ${dataDir} is not empty`);
    expect(e.message).toContain('--overwrite');
    expect(readFileSync(keyPath(dataDir))).toEqual(before);

    const result = await restoreBackup(backup, dataDir, { overwrite: true, now: () => new Date(Date.UTC(2025, 5, 1)) });
    expect(result.replacedTo).toBe(join(dataDir, 'replaced-2025-06-01T00-00-00-000Z'));
    expect(readFileSync(join(result.replacedTo!, KEY_FILE_NAME))).toEqual(before);
    const opened = openDataDir(dataDir);
    expect(opened.identity.fingerprint).toBe(fingerprint);
    expect(opened.store.resume(PARTICIPANTS).lastFinishedRound).toBe(2);
    opened.store.close();
  });
});

describe('scheduled backups', () => {
  it('backs up every n-th round on the live store and keeps the newest; a trigger during a backup queues one more', async () => {
    const { dataDir } = dataDirWithRounds(0);
    const store = SqliteStore.open(databasePath(dataDir));
    store.resume(PARTICIPANTS);
    const dir = join(tempDir(), 'backups');
    let second = 0;
    const done: Array<BackupTaken | Error> = [];
    const schedule = new BackupSchedule(
      { dataDir, copyDatabase: (to) => store.backupTo(to) },
      { dir, everyRounds: 2, intervalMs: 0, keep: 2 },
      silentLogger,
      () => new Date(Date.UTC(2025, 0, 1, 0, 0, second++)),
      (r) => done.push(r),
    );
    const finish = (r: number) => {
      store.finishRound(store.beginRound(r, CONFIG, ['p0']), record(r, 'aborted'), undefined);
      schedule.roundFinished(r);
    };
    for (let r = 1; r <= 3; r++) {
      finish(r);
      await schedule.settled();
    }
    expect(done.map((d) => (d instanceof Error ? d.message : d.manifest.database.lastFinishedRound))).toEqual([2]);
    // Rounds 4 to 6 finish while the round-4 backup runs: round 6's trigger waits its turn, nothing is lost.
    for (let r = 4; r <= 6; r++) finish(r);
    await schedule.settled();
    await schedule.stop();
    expect(await schedule.take('after stop')).toBeUndefined();
    store.close();
    expect(done).toHaveLength(3);
    expect(done.every((d) => !(d instanceof Error))).toBe(true);
    expect((done[2] as BackupTaken).manifest.database.lastFinishedRound).toBe(6);
    const kept = readdirSync(dir).sort();
    expect(kept).toEqual([(done[1] as BackupTaken).path, (done[2] as BackupTaken).path].map((p) => p.slice(dir.length + 1)));
    expect((done[2] as BackupTaken).removed).toEqual([(done[0] as BackupTaken).path]);
  });

  it('logs a failed backup and goes on (a backup dir that cannot be created)', async () => {
    const { dataDir } = dataDirWithRounds(0);
    const store = SqliteStore.open(databasePath(dataDir));
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const done: Array<BackupTaken | Error> = [];
    const schedule = new BackupSchedule({ dataDir, copyDatabase: (to) => store.backupTo(to) }, { dir: join(file, 'backups'), everyRounds: 1, intervalMs: 0, keep: 1 }, silentLogger, undefined, (r) => done.push(r));
    expect(await schedule.take('test')).toBeUndefined();
    await schedule.stop();
    store.close();
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ code: 'STORAGE_IO' });
    expect((done[0] as Error).message).toContain(join(file, 'backups'));
  });

  it('stop() drops the queued backup and waits for the one in progress; the store closes its connection after that copy', async () => {
    const { dataDir } = dataDirWithRounds(2);
    const store = SqliteStore.open(databasePath(dataDir));
    store.resume(PARTICIPANTS);
    const dir = join(tempDir(), 'backups');
    const done: Array<BackupTaken | Error> = [];
    let second = 0;
    // One page per step: the copy spans many event-loop turns, as a large database's would.
    let copying: () => void = () => undefined;
    const copyStarted = new Promise<void>((resolve) => (copying = resolve));
    const schedule = new BackupSchedule(
      {
        dataDir,
        copyDatabase: (to) => {
          const copy = store.backupTo(to, 1);
          copying();
          return copy;
        },
      },
      { dir, everyRounds: 0, intervalMs: 0, keep: 5 },
      silentLogger,
      () => new Date(Date.UTC(2025, 0, 1, 0, 0, second++)),
      (r) => done.push(r),
    );
    const first = schedule.take('first');
    expect(await schedule.take('queued')).toBeUndefined();
    await copyStarted;
    // The CLI's order at SIGTERM: the coordinator stops (and closes the store), then the backup is awaited.
    store.close();
    await schedule.stop();
    const taken = await first;
    expect(done).toHaveLength(1);
    expect(taken?.manifest.database.lastFinishedRound).toBe(2);
    expect(readdirSync(dir)).toHaveLength(1);
    // The copy verifies, and the store's connection is closed now: the database opens read-write elsewhere with no -wal left.
    const copy = SqliteStore.open(join(taken!.path, DB_FILE_NAME), { readonly: true });
    expect(copy.verify().ok).toBe(true);
    copy.close();
    expect(existsSync(`${databasePath(dataDir)}-wal`)).toBe(false);
    await expect(store.backupTo(join(tempDir(), 'late.db'))).rejects.toMatchObject({ code: 'GOING_AWAY', message: expect.stringContaining('the store is closed') });
  });

  it('removes partial backups of processes that died, not those of live ones, and logs them', async () => {
    const { dataDir } = dataDirWithRounds(1);
    const dir = tempDir();
    const dead = join(dir, `.${backupName(new Date(Date.UTC(2024, 0, 1)))}.partial-${2 ** 30}-0123abcd`);
    const live = join(dir, `.${backupName(new Date(Date.UTC(2024, 0, 2)))}.partial-${process.pid}-89abcdef`);
    for (const d of [dead, live]) {
      mkdirSync(d);
      writeFileSync(join(d, DB_FILE_NAME), 'half a copy');
    }
    mkdirSync(join(dir, '.not-a-partial'));
    expect(await sweepPartialBackups(dir)).toEqual([dead]);
    expect(existsSync(live)).toBe(true);
    mkdirSync(dead);
    const warnings: Array<{ msg: string; fields: unknown }> = [];
    const log = { ...silentLogger, warn: (msg: string, fields?: unknown) => warnings.push({ msg, fields }) };
    const store = SqliteStore.open(databasePath(dataDir));
    const schedule = new BackupSchedule({ dataDir, copyDatabase: (to) => store.backupTo(to) }, { dir, everyRounds: 0, intervalMs: 0, keep: 5 }, log);
    expect(await schedule.take('test')).toBeDefined();
    await schedule.stop();
    store.close();
    expect(existsSync(dead)).toBe(false);
    expect(warnings).toEqual([{ msg: 'removed partial backups left by a process that died mid-backup', fields: { paths: [dead] } }]);
    expect(readdirSync(dir).sort()).toEqual([basename(live), '.not-a-partial', expect.stringMatching(/^fedwarden-backup-/)].sort());
  });
});
