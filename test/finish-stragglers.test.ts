/**
 * A participant that loses its link in the last round still learns that the federation finished: the
 * coordinator CLI stays up (rounds.finishGraceMs) until every participant that connected has confirmed the end,
 * so the straggler reconnects and gets `finished` with the final adapter. Found by the chaos test: the CLI used
 * to exit right after the last round, leaving such participants retrying against a closed port for ever.
 * Real CLI child process, loopback sockets and crypto; participants in this process with the fake model.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient, type ClientSummary } from '@fedwarden/client';
import { SqliteStore, databasePath, generateToken, hashToken } from '@fedwarden/coordinator';
import { startCoordinatorCli, killCoordinatorClis } from './support/coordinator-cli.ts';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { freePort } from './support/free-port.ts';
import { startLinkProxy, type LinkProxy } from './support/link-proxy.ts';
import { within } from './support/within.ts';

const ROUNDS = 2;
const reconnect = { baseMs: 20, maxDelayMs: 100, maxAttempts: Infinity, failureThreshold: 1000 } as const;

let dir: string | undefined;
let proxy: LinkProxy | undefined;
const clients: FederatedClient[] = [];

afterEach(async () => {
  clients.splice(0).forEach((c) => c.close());
  await proxy?.close();
  proxy = undefined;
  killCoordinatorClis();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/**
 * Two participants; p1 reaches the coordinator through a proxy whose link is cut as round ROUNDS starts, and
 * trains slowly, so the round (quorum 1 of 2) completes with p0 alone while p1 is still away.
 */
async function federation(finishGraceMs: number) {
  dir = mkdtempSync(join(tmpdir(), 'fedwarden-stragglers-'));
  const dataDir = join(dir, 'data');
  const tokens = [generateToken(), generateToken()];
  const port = await freePort();
  const config = {
    port,
    operator: { port: 0 },
    logLevel: 'warn',
    participants: tokens.map((t, i) => ({ id: `p${i}`, tokenSha256: hashToken(t) })),
    rounds: { count: ROUNDS, minParticipants: 2, quorum: 0.5, deadlineMs: 10_000, finishGraceMs },
    aggregation: { strategy: 'fedavg' },
  };
  const configPath = join(dir, 'coordinator.json');
  writeFileSync(configPath, JSON.stringify(config));
  const cli = startCoordinatorCli(['--config', configPath, '--data-dir', dataDir]);
  const { url, fingerprint } = await within(20_000, 'coordinator listening', cli.ready);
  proxy = await startLinkProxy(port);
  const options = (i: number, link: string, trainMs: number) => ({
    url: link,
    fingerprint,
    token: tokens[i] as string,
    model: new FakeModel(new Float32Array([0.5, -0.25, i + 1]), trainMs),
    data: fakeData(5 + i),
    reconnect,
  });
  const p0 = new FederatedClient(options(0, url, 0));
  const p1 = new FederatedClient(options(1, proxy.url, 300));
  clients.push(p0, p1);
  const cutProxy = proxy;
  p1.on('roundStart', (round) => {
    if (round === ROUNDS) cutProxy.cut();
  });
  let reconnected = 0;
  p1.on('reconnected', () => reconnected++);
  return { cli, dataDir, p0, p1, reconnects: () => reconnected };
}

describe('participants that lose their link in the last round', () => {
  it('reconnect to the lingering coordinator and get the final adapter; the CLI then exits 0', async () => {
    const { cli, dataDir, p0, p1, reconnects } = await federation(30_000);
    const summaries: ClientSummary[] = await within(20_000, 'both participants to finish', Promise.all([p0.run(), p1.run()]));
    expect(await within(10_000, 'coordinator to exit once both confirmed', cli.exited)).toEqual({ code: 0, signal: null });
    expect(reconnects()).toBe(1);

    const store = SqliteStore.open(databasePath(dataDir), { readonly: true });
    try {
      // p1 really missed the end of the last round: it is not in it.
      const last = store.rounds().find((r) => r.round === ROUNDS && r.status === 'finished');
      expect(JSON.parse(last?.record ?? '{}')).toMatchObject({ outcome: 'completed', reported: ['p0'] });
      const final = store.checkpoint()!;
      expect(final.round).toBe(ROUNDS);
      for (const s of summaries) {
        expect(s.lastRound).toBe(ROUNDS);
        expect([...s.global]).toEqual([...final.adapter]);
      }
    } finally {
      store.close();
    }
  });

  it('with finishGraceMs 0 the CLI exits at once and leaves the straggler retrying (the old behaviour)', async () => {
    const { cli, p0, p1 } = await federation(0);
    let p1Finished = false;
    const p1Run = p1.run().then(
      () => (p1Finished = true),
      () => undefined,
    );
    await within(20_000, 'p0 to finish', p0.run());
    expect(await within(10_000, 'coordinator to exit', cli.exited)).toEqual({ code: 0, signal: null });
    await new Promise((r) => setTimeout(r, 1_000)); // p1 is back from training and retrying by now
    expect(p1Finished).toBe(false);
    p1.close();
    await within(5_000, 'p1 to stop', p1Run);
  });
});
