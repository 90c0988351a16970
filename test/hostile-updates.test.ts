/**
 * Poisoned updates over real loopback sockets: an update with NaN, with Infinity, of the wrong length, or with
 * an absurd norm (above limits.maxUpdateNorm) is refused for that participant alone — its connection closes
 * with BAD_UPDATE (4006) — while the round completes with the honest participants' updates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient } from '@fedwarden/client';
import { codeFromCloseReason } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { RawPeer } from './support/raw-peer.ts';

let fed: TestFederation | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
});

const DIM = 4;
const MAX_NORM = 100;
const manifest = new FakeModel(new Float32Array(DIM)).manifest;

const POISONED: ReadonlyArray<readonly [name: string, delta: Float32Array]> = [
  ['NaN', Float32Array.of(0.1, Number.NaN, 0.1, 0.1)],
  ['Infinity', Float32Array.of(0.1, 0.1, Number.NEGATIVE_INFINITY, 0.1)],
  ['wrong length', new Float32Array(DIM + 1)],
  ['absurd norm', Float32Array.of(0, MAX_NORM, 1, 0)],
];

describe('poisoned updates', () => {
  it('refuses NaN, Infinity, wrong length and absurd norm for that participant only; the round completes with the rest', async () => {
    const honest = 2;
    const n = POISONED.length + honest;
    fed = await startFederation(n, {
      rounds: { count: 1, minParticipants: n, quorum: honest / n, deadlineMs: 10_000 },
      limits: { maxUpdateNorm: MAX_NORM },
    });
    const federation = fed;
    const run = federation.coordinator.run();
    const stillOpen = run.then(() => ({ code: -1, reason: 'still open after the round' }));

    // Hand-driven participants that answer roundStart with a poisoned update.
    const poisoned = POISONED.map(async ([name, delta], i) => {
      const peer = await RawPeer.connect(federation.url);
      const { participantId } = await peer.join(federation.fingerprint, federation.tokens[i]!, manifest);
      const start = await peer.next('roundStart');
      peer.sendSealed({ kind: 'update', round: start!.round, numSamples: 10, meanLoss: 1, trainMs: 1, delta });
      return { name, participantId, ...(await Promise.race([peer.closed, stillOpen])) };
    });
    const step = Float32Array.of(0.5, -0.25, 0.125, 1);
    const clients = federation.tokens.slice(POISONED.length).map(
      (token) => new FederatedClient({ url: federation.url, fingerprint: federation.fingerprint, token, model: new FakeModel(step), data: fakeData(10) }),
    );
    const [records, ...rest] = await Promise.all([run, ...clients.map((c) => c.run()), ...poisoned]);
    const closes = rest.slice(honest) as Awaited<(typeof poisoned)[number]>[];

    for (const close of closes) {
      expect(close.code, close.name).toBe(4006);
      expect(codeFromCloseReason(close.reason), close.name).toBe('BAD_UPDATE');
    }
    expect(closes.find((c) => c.name === 'absurd norm')!.reason).toMatch(/maxUpdateNorm/);

    const record = records[0]!;
    expect(record.outcome).toBe('completed');
    expect([...record.reported].sort()).toEqual(federation.tokens.slice(POISONED.length).map((_, i) => `p${POISONED.length + i}`));
    expect([...record.dropped].sort()).toEqual(closes.map((c) => c.participantId).sort());
    // Only the honest step is in the new global adapter (FedAvg of two equal steps from zeros).
    expect(Array.from(federation.coordinator.globalAdapter()!)).toEqual(Array.from(step));
  });

  it('accepts an update whose norm is just under the bound', async () => {
    fed = await startFederation(1, {
      rounds: { count: 1, minParticipants: 1, deadlineMs: 10_000 },
      limits: { maxUpdateNorm: MAX_NORM },
    });
    const step = Float32Array.of(0, MAX_NORM * 0.99, 0, 0);
    const client = new FederatedClient({ url: fed.url, fingerprint: fed.fingerprint, token: fed.tokens[0]!, model: new FakeModel(step), data: fakeData(3) });
    const [records] = await Promise.all([fed.coordinator.run(), client.run()]);
    expect(records[0]!.outcome).toBe('completed');
    expect(fed.coordinator.globalAdapter()![1]).toBeCloseTo(MAX_NORM * 0.99, 3);
  });
});
