/**
 * Backups and data-dir safety as an operator meets them: `fedwarden backup` taken from another process while a
 * real coordinator (CLI child process, loopback sockets, real crypto) is in the middle of round 3 gives a copy
 * that `verify` accepts; `restore` puts it into a new data dir, and the coordinator started there continues the
 * run (round 3 again, then 4) under the same key with the same history, taking scheduled backups as configured.
 * A data dir that lost its database or its key is refused at start, naming the files; --init starts it anyway.
 * Participants run in this process with the fake model; `backup`, `restore` and `verify` run in-process (runCli).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient, type LabeledData } from '@fedwarden/client';
import { BACKUP_MANIFEST_NAME, KEY_FILE_NAME, SqliteStore, databasePath, generateToken, hashToken, runCli, type BackupManifest } from '@fedwarden/coordinator';
import { ML_DSA_SEED_BYTES } from '@fedwarden/shared';
import { startCoordinatorCli as cli, killCoordinatorClis } from './support/coordinator-cli.ts';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { until } from './support/until.ts';
import { within } from './support/within.ts';

/** The data-dir lock (coordinator/src/data-dir-lock.ts), held by a running coordinator. */
const LOCK_FILE_NAME = 'coordinator.lock';
const ROUNDS = 4;
const DIM = 32;
const SAMPLES = [10, 20, 30];
const STEPS = SAMPLES.map((_, i) => Float32Array.from({ length: DIM }, (_, d) => Math.cos(1 + i * DIM + d) / 10));
const IDENTITIES = SAMPLES.map(() => randomBytes(ML_DSA_SEED_BYTES));

let dir: string | undefined;
const clients: FederatedClient[] = [];

afterEach(() => {
  clients.splice(0).forEach((c) => c.close());
  killCoordinatorClis();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A FakeModel whose n-th training (round n: one per round here) waits for `gate`: the test holds that round open. */
class GatedModel extends FakeModel {
  constructor(
    step: Float32Array,
    private readonly gatedCall: number,
    private readonly gate: Promise<void>,
  ) {
    super(step);
  }

  override async *train(data: LabeledData) {
    if (this.trainCalls + 1 === this.gatedCall) await this.gate;
    return yield* super.train(data);
  }
}

/** A temporary root, enrolled tokens, and config(dataDir, more) writing a config file and returning the CLI arguments for it. */
function setUp(): { dir: string; tokens: string[]; config: (dataDir: string, more?: Record<string, unknown>) => string[] } {
  const root = mkdtempSync(join(tmpdir(), 'fedwarden-backup-e2e-'));
  dir = root;
  const tokens = SAMPLES.map(() => generateToken());
  let n = 0;
  const config = (dataDir: string, more: Record<string, unknown> = {}) => {
    const path = join(root, `coordinator-${n++}.json`);
    writeFileSync(
      path,
      JSON.stringify({
        port: 0,
        operator: { port: 0 },
        logLevel: 'warn',
        participants: tokens.map((t, i) => ({ id: `p${i}`, tokenSha256: hashToken(t) })),
        rounds: { count: ROUNDS, minParticipants: SAMPLES.length, deadlineMs: 60_000, finishGraceMs: 5_000 },
        privacy: 'trusted',
        aggregation: { strategy: 'fedavg' },
        ...more,
      }),
    );
    return ['--config', path, '--data-dir', dataDir];
  };
  return { dir: root, tokens, config };
}

function participant(url: string, fingerprint: string, token: string, i: number, model: FakeModel): FederatedClient {
  const c = new FederatedClient({ url, fingerprint, token, identity: IDENTITIES[i], model, data: fakeData(SAMPLES[i]!), reconnect: false });
  clients.push(c);
  return c;
}

async function fedwarden(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {}, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

function readStore<T>(dataDir: string, read: (store: SqliteStore) => T): T {
  const store = SqliteStore.open(databasePath(dataDir), { readonly: true });
  try {
    return read(store);
  } finally {
    store.close();
  }
}

describe('backup and restore of a live federation', () => {
  it('backs up mid-round from another process; the restored coordinator continues the run with the same key and history', async () => {
    const { dir: root, tokens, config } = setUp();
    const dataDir = join(root, 'data');
    const backupDir = join(root, 'backups', 'mid-round-3');

    // The first coordinator runs all four rounds; round 3 is held open (training gated) while the backup runs.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = cli(config(dataDir));
    const { url, fingerprint } = await within(30_000, 'first coordinator listening', first.ready);
    const models = STEPS.map((step) => new GatedModel(step, 3, gate));
    const originals = tokens.map((t, i) => participant(url, fingerprint, t, i, models[i]!));
    let inRound3 = 0;
    const round3 = new Promise<void>((resolve) =>
      originals.forEach((c) =>
        c.on('roundStart', (round) => {
          if (round === 3 && ++inRound3 === originals.length) resolve();
        }),
      ),
    );
    const runs = originals.map((c) => c.run());
    await within(30_000, 'round 3 to start', round3);

    const backup = await within(30_000, 'fedwarden backup', fedwarden('backup', '--data-dir', dataDir, '--out', backupDir));
    expect(backup.err).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.out).toContain(`backup written to ${backupDir}: last finished round 2;`);
    expect(backup.out).toContain(`key fingerprint ${fingerprint}`);
    // The running coordinator holds the data dir's lock: a restore into it is refused and moves nothing aside.
    const before = readdirSync(dataDir).sort();
    const intoLive = await fedwarden('restore', '--from', backupDir, '--data-dir', dataDir, '--overwrite');
    expect(intoLive.code).not.toBe(0);
    expect(intoLive.err).toContain(`error [STORAGE_LOCKED]: data dir ${dataDir} is in use: coordinator process ${first.child.pid} holds its lock`);
    expect(readdirSync(dataDir).sort()).toEqual(before);
    release();
    await within(60_000, 'the first federation to finish', Promise.all(runs));
    expect(await within(20_000, 'first coordinator to exit', first.exited)).toEqual({ code: 0, signal: null });

    const manifest = JSON.parse(readFileSync(join(backupDir, BACKUP_MANIFEST_NAME), 'utf8')) as BackupManifest;
    expect(manifest).toMatchObject({ keyFingerprint: fingerprint, verified: true, database: { lastFinishedRound: 2 } });
    const verified = await fedwarden('verify', '--data-dir', backupDir);
    expect(verified.code).toBe(0);
    expect(verified.out).toContain('OK: audit chain, checkpoints and rounds are intact');
    expect(verified.out).toContain('note: round 3 attempt 1 was left open'); // the backup caught round 3 in progress

    // Restore into a new data dir, then run a coordinator there, taking a backup after every round (keep 1).
    const restoredDir = join(root, 'restored');
    const restored = await fedwarden('restore', '--from', backupDir, '--data-dir', restoredDir);
    expect(restored.err).toBe('');
    expect(restored.code).toBe(0);
    expect(restored.out).toContain(`into ${restoredDir}`);
    const scheduled = join(root, 'scheduled');
    const second = cli(config(restoredDir, { backups: { dir: scheduled, everyRounds: 1, keep: 1 } }));
    const again = await within(30_000, 'restored coordinator listening', second.ready);
    expect(again.fingerprint).toBe(fingerprint); // participants' pinned fingerprint still holds
    expect(second.stderr()).toMatch(new RegExp(`rounds 1\\.\\.2 of ${ROUNDS} finished; round 3 was interrupted and runs again`));
    const fresh = tokens.map((t, i) => participant(again.url, again.fingerprint, t, i, new FakeModel(STEPS[i]!)));
    const roundsSeen: number[] = [];
    fresh[0]!.on('roundStart', (r) => roundsSeen.push(r));
    const summaries = await within(60_000, 'the restored federation to finish', Promise.all(fresh.map((c) => c.run())));
    expect(await within(20_000, 'restored coordinator to exit', second.exited)).toEqual({ code: 0, signal: null });
    expect(roundsSeen).toEqual([3, 4]);
    expect(summaries.every((s) => s.lastRound === ROUNDS)).toBe(true);

    // Same history: rounds 1 and 2 and their checkpoints as the original ran them, the audit chain continued from
    // the backup's head; rounds 3 and 4 once each, and the run's result equal to the original's.
    const original = readStore(dataDir, (s) => ({ rounds: s.rounds(), audit: s.auditEntries(), checkpoints: [1, 2, 4].map((r) => s.checkpoint(r)!.sha256) }));
    readStore(restoredDir, (s) => {
      const finished = s.rounds().filter((r) => r.status === 'finished');
      expect(finished.map((r) => r.round)).toEqual([1, 2, 3, 4]);
      expect(finished.slice(0, 2)).toEqual(original.rounds.filter((r) => r.status === 'finished').slice(0, 2));
      expect(s.rounds().filter((r) => r.status === 'interrupted').map((r) => [r.round, r.attempt])).toEqual([[3, 1]]);
      const audit = s.auditEntries();
      expect(audit.slice(0, manifest.database.auditEntries)).toEqual(original.audit.slice(0, manifest.database.auditEntries));
      expect(audit[manifest.database.auditEntries - 1]!.hash).toBe(manifest.database.auditHead);
      expect([1, 2, 4].map((r) => s.checkpoint(r)!.sha256)).toEqual(original.checkpoints);
      expect(s.verify().ok).toBe(true);
    });

    // Scheduled backups: one after each of rounds 3 and 4, only the newest kept, and it verifies.
    expect(second.stderr()).toMatch(/"msg":"backup taken"/);
    const kept = readdirSync(scheduled);
    expect(kept).toHaveLength(1);
    const newest = JSON.parse(readFileSync(join(scheduled, kept[0]!, BACKUP_MANIFEST_NAME), 'utf8')) as BackupManifest;
    expect(newest.database.lastFinishedRound).toBe(4);
    expect((await fedwarden('verify', '--data-dir', join(scheduled, kept[0]!))).code).toBe(0);
  });

  it('restore refuses a tampered backup and leaves the data dir untouched', async () => {
    const { dir: root, config } = setUp();
    const dataDir = join(root, 'data');
    expect((await fedwarden('fingerprint', ...config(dataDir))).code).toBe(0);
    const backupDir = join(root, 'backup');
    expect((await fedwarden('backup', '--data-dir', dataDir, '--out', backupDir)).code).toBe(0);
    writeFileSync(join(backupDir, KEY_FILE_NAME), readFileSync(join(backupDir, KEY_FILE_NAME), 'utf8').replace(/"seed":"(.)/, (_, c: string) => `"seed":"${c === '0' ? '1' : '0'}`));
    const target = join(root, 'restored');
    const r = await fedwarden('restore', '--from', backupDir, '--data-dir', target);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error [STORAGE_MISMATCH]: backup ${backupDir}: ${KEY_FILE_NAME} differs from its manifest`);
    expect(() => readdirSync(target)).toThrow();
  });
});

describe('data-dir safety at start', () => {
  it('refuses a key without its database and a database without its key, naming the files; --init starts anyway', async () => {
    const { dir: root, config } = setUp();
    const dataDir = join(root, 'data');
    const args = config(dataDir);
    const first = cli(args); // a new data dir: no --init needed
    const { fingerprint } = await within(30_000, 'coordinator listening', first.ready);
    first.child.kill('SIGTERM');
    expect(await within(20_000, 'coordinator to stop', first.exited)).toEqual({ code: 0, signal: null });

    // The database deleted, the key left: refused (in-process: the refusal comes before anything listens).
    const dbFile = databasePath(dataDir);
    const keyFile = join(dataDir, KEY_FILE_NAME);
    const saved = readFileSync(dbFile);
    rmSync(dbFile);
    const noDb = await fedwarden('coordinator', ...args);
    expect(noDb.code).toBe(1);
    expect(noDb.err).toContain(`error [STORAGE_MISSING]: data dir ${dataDir}: the coordinator key ${keyFile} is there but the database ${dbFile} is missing`);
    expect(noDb.err).toContain('fedwarden restore --from <backup>');
    expect(noDb.err).toContain('--init');
    expect(readdirSync(dataDir)).toEqual([KEY_FILE_NAME]);

    // The key deleted, the database back: refused.
    const key = readFileSync(keyFile);
    rmSync(keyFile);
    writeFileSync(dbFile, saved, { mode: 0o600 });
    const noKey = await fedwarden('coordinator', ...args);
    expect(noKey.code).toBe(1);
    expect(noKey.err).toContain(`error [STORAGE_MISSING]: data dir ${dataDir}: the database ${dbFile} holds a federation`);
    expect(noKey.err).toContain(`the coordinator key ${keyFile} is missing`);
    expect(readdirSync(dataDir)).not.toContain(KEY_FILE_NAME);

    // The key back and the database gone again: --init starts a new federation under the same key.
    writeFileSync(keyFile, key, { mode: 0o600 });
    rmSync(dbFile);
    const init = cli([...args, '--init']);
    const restarted = await within(30_000, 'coordinator --init listening', init.ready);
    expect(restarted.fingerprint).toBe(fingerprint);
    expect(init.stderr()).toContain('--init: created a new database under the existing key');
    init.child.kill('SIGTERM');
    expect(await within(20_000, 'coordinator --init to stop', init.exited)).toEqual({ code: 0, signal: null });
    // --init stays a one-off: on a data dir that is whole it is a usage error.
    const twice = await fedwarden('coordinator', ...args, '--init');
    expect(twice.code).toBe(2);
    expect(twice.err).toContain('there is nothing to initialise: start without --init');
  });

  it('SIGTERM while scheduled backups run: the coordinator stops, the backup in progress completes, the lock is released', async () => {
    const { dir: root, config } = setUp();
    const dataDir = join(root, 'data');
    const backups = join(root, 'backups');
    const run = cli(config(dataDir, { backups: { dir: backups, intervalMs: 5, keep: 3 } }));
    await within(30_000, 'coordinator listening', run.ready);
    expect(readdirSync(dataDir)).toContain(LOCK_FILE_NAME);
    await within(30_000, 'a scheduled backup', until(() => run.stderr().includes('"msg":"backup taken"'), 'a scheduled backup', 30_000));
    run.child.kill('SIGTERM');
    expect(await within(20_000, 'coordinator to stop', run.exited)).toEqual({ code: 0, signal: null });
    const log = run.stderr();
    expect(log.split('\n').filter((l) => /backup failed|shutdown failed/.test(l))).toEqual([]);
    expect(readdirSync(dataDir)).not.toContain(LOCK_FILE_NAME);
    // Every backup directory is complete (no partial one left) and the newest verifies.
    const kept = readdirSync(backups).sort();
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.every((name) => name.startsWith('fedwarden-backup-'))).toBe(true);
    expect((await fedwarden('verify', '--data-dir', join(backups, kept.at(-1)!))).code).toBe(0);
  });
});
