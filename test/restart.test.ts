/**
 * Persistence across coordinator processes, through the real CLI: a coordinator killed mid-round (SIGKILL)
 * and started again on the same data dir finishes the run with every round exactly once and the killed round
 * run again; SIGTERM stops it cleanly (exit 0, round stored as interrupted, participants closed with 1001).
 * Real loopback sockets and crypto; participants run in this process with the fake model.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient, type ClientSummary } from '@fedwarden/client';
import { SqliteStore, databasePath, generateToken, hashToken } from '@fedwarden/coordinator';
import { ML_DSA_SEED_BYTES, type FedwardenError } from '@fedwarden/shared';
import { startCoordinatorCli as cli, killCoordinatorClis } from './support/coordinator-cli.ts';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { within } from './support/within.ts';

const ROUNDS = 3;
const DIM = 64;
const SAMPLES = [10, 20, 30];
const STEPS = SAMPLES.map((_, i) => Float32Array.from({ length: DIM }, (_, d) => Math.sin(1 + i * DIM + d) / 10));

let dir: string | undefined;

afterEach(() => {
  killCoordinatorClis();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Each participant's identity seed: a participant that comes back to the restarted coordinator presents the key it registered. */
const IDENTITIES = SAMPLES.map(() => randomBytes(ML_DSA_SEED_BYTES));

function setUp(): { args: string[]; tokens: string[]; dataDir: string } {
  dir = mkdtempSync(join(tmpdir(), 'fedwarden-restart-'));
  const dataDir = join(dir, 'data');
  const tokens = SAMPLES.map(() => generateToken());
  const config = {
    port: 0,
    operator: { port: 0 },
    logLevel: 'warn',
    participants: tokens.map((t, i) => ({ id: `p${i}`, tokenSha256: hashToken(t) })),
    rounds: { count: ROUNDS, minParticipants: SAMPLES.length, deadlineMs: 5_000 },
    privacy: 'trusted',
    // The robust pipeline would rightly distrust three participants that send the same update every round.
    aggregation: { strategy: 'fedavg' },
  };
  const configPath = join(dir, 'coordinator.json');
  writeFileSync(configPath, JSON.stringify(config));
  return { args: ['--config', configPath, '--data-dir', dataDir], tokens, dataDir };
}

function participants(url: string, fingerprint: string, tokens: string[], trainMs = [100, 100, 100]): FederatedClient[] {
  return tokens.map(
    (token, i) =>
      new FederatedClient({
        url,
        fingerprint,
        token,
        identity: IDENTITIES[i],
        model: new FakeModel(STEPS[i]!, trainMs[i]),
        data: fakeData(SAMPLES[i]!),
        reconnect: false,
      }),
  );
}

/** What FedAvg adds to the global adapter in one completed round: the sample-weighted mean step. */
function meanStep(): Float64Array {
  const total = SAMPLES.reduce((a, b) => a + b, 0);
  const out = new Float64Array(DIM);
  STEPS.forEach((step, i) => step.forEach((v, d) => (out[d] = (out[d] as number) + (v * SAMPLES[i]!) / total)));
  return out;
}

function expectClose(actual: Float32Array, expected: Float64Array, times: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, d) => expect(v).toBeCloseTo(times * (expected[d] as number), 5));
}

describe('coordinator restart from its data dir', () => {
  it('continues from the last finished round after a SIGKILL mid-round: every round once, the killed one rerun', async () => {
    const { args, tokens, dataDir } = setUp();

    // First process: killed as soon as round 2 has started.
    const first = cli(args);
    const { url, fingerprint } = await within(20_000, 'first coordinator listening', first.ready);
    const doomed = participants(url, fingerprint, tokens);
    const killed = new Promise<void>((res) =>
      doomed.forEach((c) =>
        c.on('roundStart', (round) => {
          if (round === 2 && first.child.exitCode === null && first.child.signalCode === null) {
            first.child.kill('SIGKILL');
            res();
          }
        }),
      ),
    );
    const doomedRuns = doomed.map((c) => c.run().then(() => 'finished', (e: FedwardenError) => e.code));
    await within(20_000, 'round 2 to start', killed);
    expect(await within(5_000, 'first coordinator to die', first.exited)).toEqual({ code: null, signal: 'SIGKILL' });
    doomed.forEach((c) => c.close());
    expect(await within(5_000, 'old participants to notice', Promise.all(doomedRuns))).not.toContain('finished');

    // Second process, same data dir, fresh participants (new clients with the identities registered before).
    const second = cli(args);
    const again = await within(20_000, 'second coordinator listening', second.ready);
    expect(again.fingerprint).toBe(fingerprint); // the key persisted in the data dir
    expect(second.stderr()).toMatch(new RegExp(`rounds 1\\.\\.1 of ${ROUNDS} finished; round 2 was interrupted and runs again`));
    const fresh = participants(again.url, again.fingerprint, tokens);
    const roundsSeen: number[] = [];
    fresh[0]!.on('roundStart', (r) => roundsSeen.push(r));
    const summaries: ClientSummary[] = await within(20_000, 'participants to finish', Promise.all(fresh.map((c) => c.run())));
    expect(await within(10_000, 'second coordinator to exit', second.exited)).toEqual({ code: 0, signal: null });
    expect(roundsSeen).toEqual([2, 3]);

    const store = SqliteStore.open(databasePath(dataDir), { readonly: true });
    try {
      const rows = store.rounds();
      expect(rows.filter((r) => r.status === 'finished').map((r) => [r.round, r.outcome])).toEqual([
        [1, 'completed'],
        [2, 'completed'],
        [3, 'completed'],
      ]);
      expect(rows.filter((r) => r.status !== 'finished').map((r) => [r.round, r.attempt, r.status, r.reason])).toEqual([
        [2, 1, 'interrupted', 'coordinator restarted'],
      ]);
      expect(rows.find((r) => r.status === 'finished' && r.round === 2)?.attempt).toBe(2);

      // Each completed round added the weighted mean step exactly once: round 2 was not applied twice.
      const mean = meanStep();
      expectClose(store.checkpoint(1)!.adapter, mean, 1);
      const final = store.checkpoint()!;
      expect(final.round).toBe(ROUNDS);
      expectClose(final.adapter, mean, ROUNDS);
      for (const s of summaries) {
        expect(s.lastRound).toBe(ROUNDS);
        expect(Buffer.from(s.global.buffer, s.global.byteOffset, s.global.byteLength).equals(Buffer.from(final.adapter.buffer))).toBe(true);
      }
    } finally {
      store.close();
    }

    const verify = cli(['verify', '--data-dir', dataDir]);
    expect(await within(20_000, 'verify', verify.exited)).toEqual({ code: 0, signal: null });
    expect(verify.stdout()).toMatch(/3 finished rounds \(last 3\); 4 checkpoints; 1 interrupted attempt/);
    expect(verify.stdout()).toContain('OK: audit chain, checkpoints and rounds are intact');
  });

  it('stops cleanly on SIGTERM: exit 0, the round stored as interrupted, participants closed with 1001', async () => {
    const { args, tokens, dataDir } = setUp();
    const run = cli(args);
    const { url, fingerprint } = await within(20_000, 'coordinator listening', run.ready);
    // p0 uploads at once, p1 and p2 are still training when the signal comes: the round cannot complete.
    const clients = participants(url, fingerprint, tokens, [0, 2_000, 2_000]);
    const ends: string[] = [];
    clients[0]!.on('roundEnd', (round, outcome, reason) => ends.push(`${round} ${outcome}: ${reason}`));
    clients[0]!.once('uploaded', () => run.child.kill('SIGTERM'));
    const errors = await within(
      20_000,
      'participants to be closed',
      Promise.all(clients.map((c) => c.run().then(() => undefined, (e: FedwardenError) => e))),
    );
    expect(await within(10_000, 'coordinator to exit', run.exited)).toEqual({ code: 0, signal: null });

    for (const e of errors) {
      expect(e?.code).toBe('GOING_AWAY');
      expect(e?.message).toMatch(/\(1001\)/);
    }
    // The round was ended for the participant waiting on it before the sockets closed.
    expect(ends).toEqual(['1 aborted: coordinator stopping']);

    const store = SqliteStore.open(databasePath(dataDir), { readonly: true });
    try {
      expect(store.rounds().map((r) => [r.round, r.attempt, r.status, r.outcome, r.reason])).toEqual([
        [1, 1, 'interrupted', 'aborted', 'coordinator stopping'],
      ]);
      expect(store.verify()).toMatchObject({ ok: true, notes: [] });
    } finally {
      store.close();
    }
  });
});
