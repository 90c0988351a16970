/**
 * The coordinator's limits over real loopback sockets: the per-connection message rate (RATE_LIMITED, 4011),
 * the authenticated-participant cap (FULL, 4009; a reconnect is always admitted), the socket cap (FULL, at
 * accept), the reserved share and the per-address quota (RATE_LIMITED), and
 * that each is a config field with a default that tight honest traffic stays within.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient, SecureConnection } from '@fedwarden/client';
import { parseConfig } from '@fedwarden/coordinator';
import { FedwardenError, codeFromCloseReason } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { RawPeer } from './support/raw-peer.ts';

let fed: TestFederation | undefined;
const peers: RawPeer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.ws.terminate();
  await fed?.stop();
  fed = undefined;
});

const manifest = new FakeModel(new Float32Array(4)).manifest;

async function peer(url: string): Promise<RawPeer> {
  const p = await RawPeer.connect(url);
  peers.push(p);
  return p;
}

/** A peer, retried while the coordinator still refuses it at accept (it has not yet seen an earlier socket close). */
async function admittedPeer(url: string): Promise<RawPeer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await peer(url);
    } catch (err) {
      if (attempt >= 100 || !/Unexpected server response/.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('limits are config fields with defaults', () => {
  it('fills every new limit with a positive default, takes overrides, and refuses a federation that could never start', () => {
    const defaults = parseConfig({}).limits;
    for (const key of [
      'maxParticipants', 'messageRatePerSecond', 'messageBurst', 'maxUpdateNorm', 'maxConnections', 'handshakeTimeoutMs', 'maxFrameBytes',
      'reservedShare', 'maxUnauthenticatedPerAddress', 'displaceAfterMs', 'stallPenaltyMs', 'upgradeTimeoutMs',
    ] as const) {
      expect(defaults[key], key).toBeGreaterThan(0);
    }
    const custom = parseConfig({ limits: { maxParticipants: 7, messageRatePerSecond: 2.5, messageBurst: 3, maxUpdateNorm: 10 } }).limits;
    expect(custom).toMatchObject({ maxParticipants: 7, messageRatePerSecond: 2.5, messageBurst: 3, maxUpdateNorm: 10 });
    expect(custom.maxConnections).toBe(defaults.maxConnections);
    for (const limits of [{ messageBurst: 0 }, { messageRatePerSecond: 0 }, { maxParticipants: 1.5 }, { maxUpdateNorm: -1 }, { reservedShare: 1 }, { maxUnauthenticatedPerAddress: -1 }, { upgradeTimeoutMs: 0 }]) {
      expect(() => parseConfig({ limits }), JSON.stringify(limits)).toThrow(FedwardenError);
    }
    expect(() => parseConfig({ rounds: { minParticipants: 3 }, limits: { maxParticipants: 2 } })).toThrow(/minParticipants exceeds limits.maxParticipants/);
  });
});

describe('message rate limit', () => {
  it('closes a flooding participant with RATE_LIMITED and keeps serving the others', async () => {
    fed = await startFederation(2, { limits: { messageBurst: 10, messageRatePerSecond: 5 } });
    const flooder = await peer(fed.url);
    await flooder.join(fed.fingerprint, fed.tokens[0]!, manifest);
    const stale = { kind: 'update', round: 0, numSamples: 1, meanLoss: 0, trainMs: 0, delta: new Float32Array(4) } as const;
    for (let i = 0; i < 50; i++) flooder.sendSealed(stale);
    const { code, reason } = await flooder.closed;
    expect(code).toBe(4011);
    expect(codeFromCloseReason(reason)).toBe('RATE_LIMITED');

    const other = await peer(fed.url);
    const welcome = await other.join(fed.fingerprint, fed.tokens[1]!, manifest);
    expect(welcome.participantId).toBe('p1');
  });

  it('counts the handshake and hello against the burst: the fourth frame of a burst of three is refused', async () => {
    fed = await startFederation(1, { limits: { messageBurst: 3, messageRatePerSecond: 0.01 } });
    const p = await peer(fed.url);
    await p.join(fed.fingerprint, fed.tokens[0]!, manifest); // frames 1 (clientKex) and 2 (hello)
    const stale = { kind: 'update', round: 0, numSamples: 1, meanLoss: 0, trainMs: 0, delta: new Float32Array(4) } as const;
    p.sendSealed(stale); // frame 3: the last token
    p.sendSealed(stale); // frame 4
    const outcome = await Promise.race([p.closed, new Promise<'open'>((r) => setTimeout(() => r('open'), 5_000))]);
    expect(outcome).not.toBe('open');
    expect(codeFromCloseReason((outcome as { reason: string }).reason)).toBe('RATE_LIMITED');
  });

  it('counts pings too: a ping flood is cut off like a data flood', async () => {
    fed = await startFederation(1, { limits: { messageBurst: 10, messageRatePerSecond: 5 } });
    const p = await peer(fed.url);
    await p.nextFrame();
    for (let i = 0; i < 50; i++) p.ws.ping();
    const { code, reason } = await p.closed;
    expect(code).toBe(4011);
    expect(codeFromCloseReason(reason)).toBe('RATE_LIMITED');
  });

  it('lets honest participants run whole rounds under a tight limit (they send one frame per round)', async () => {
    // clientKex + hello + one update per round: 5 frames for 3 rounds, in well under a second.
    fed = await startFederation(2, { rounds: { count: 3, minParticipants: 2, deadlineMs: 10_000 }, limits: { messageBurst: 6, messageRatePerSecond: 1 } });
    const step = Float32Array.of(1, 2, 3, 4);
    const clients = fed.tokens.map((token) => new FederatedClient({ url: fed!.url, fingerprint: fed!.fingerprint, token, model: new FakeModel(step), data: fakeData(4) }));
    const [records] = await Promise.all([fed.coordinator.run(), ...clients.map((c) => c.run())]);
    expect(records.map((r) => r.outcome)).toEqual(['completed', 'completed', 'completed']);
  });
});

describe('participant cap', () => {
  it('refuses a hello beyond maxParticipants with FULL, admits a reconnect, and admits again once one leaves', async () => {
    fed = await startFederation(3, { rounds: { count: 1, minParticipants: 1 }, limits: { maxParticipants: 2 } });
    const a = await peer(fed.url);
    const b = await peer(fed.url);
    await a.join(fed.fingerprint, fed.tokens[0]!, manifest);
    await b.join(fed.fingerprint, fed.tokens[1]!, manifest);
    expect(fed.coordinator.readiness()).toEqual({ ready: false, reason: 'at participant capacity (2 of 2)' });

    const c = await peer(fed.url);
    await c.handshake(fed.fingerprint);
    c.sendSealed(c.hello(fed.tokens[2]!, manifest));
    const refused = await c.closed;
    expect(refused.code).toBe(4009);
    expect(refused.reason).toMatch(/^FULL: at most 2 participants/);
    expect(fed.coordinator.connectedParticipants).toBe(2);

    // The same participant connecting again (with the identity key it registered) replaces its own connection, even at the cap.
    const a2 = await peer(fed.url);
    await a2.join(fed.fingerprint, fed.tokens[0]!, manifest, a.identity);
    expect((await a.closed).code).toBe(4010);
    expect(fed.coordinator.connectedParticipants).toBe(2);

    b.ws.close();
    await expect.poll(() => fed!.coordinator.connectedParticipants).toBe(1);
    // With a key of its own: the hello refused as FULL registered nothing.
    const c2 = await peer(fed.url);
    expect((await c2.join(fed.fingerprint, fed.tokens[2]!, manifest)).participantId).toBe('p2');
  });
});

describe('connection cap', () => {
  it('refuses sockets beyond maxConnections with FULL at accept, in plain HTTP with the code (no handshake spent)', async () => {
    // No reserved share and no displacing, so that the two stalled sockets hold the cap.
    fed = await startFederation(1, { limits: { maxConnections: 2, maxParticipants: 1, reservedShare: 0, displaceAfterMs: 600_000 } });
    const open = [await peer(fed.url), await peer(fed.url)];
    for (const p of open) await p.nextFrame();
    const refused = await SecureConnection.open({ url: fed.url, fingerprint: fed.fingerprint }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ code: 'FULL', message: expect.stringMatching(/refused the connection \(HTTP 503\)/) });
    expect(fed.coordinator.readiness()).toMatchObject({ ready: false, reason: 'at connection capacity (2 of 2)' });
  });

  it('keeps the reserved share for authenticated participants: unauthenticated sockets are refused below maxConnections', async () => {
    // 4 sockets, 2 of them reserved: at most 2 unauthenticated at once.
    fed = await startFederation(1, { rounds: { count: 1, minParticipants: 1 }, limits: { maxConnections: 4, reservedShare: 0.5, maxUnauthenticatedPerAddress: 0, displaceAfterMs: 600_000 } });
    const refusal = () => SecureConnection.open({ url: fed!.url, fingerprint: fed!.fingerprint }).then(() => undefined, (e: unknown) => e);
    const s1 = await peer(fed.url);
    const s2 = await peer(fed.url);
    for (const s of [s1, s2]) await s.nextFrame();
    expect(await refusal()).toMatchObject({ code: 'FULL' });
    s1.ws.terminate();
    const a = await admittedPeer(fed.url); // once the coordinator has seen s1 go
    await a.join(fed.fingerprint, fed.tokens[0]!, manifest);
    const s3 = await peer(fed.url);
    await s3.nextFrame();
    // 3 sockets of 4, but the fourth place is kept for a participant: a third unauthenticated socket is refused.
    expect(await refusal()).toMatchObject({ code: 'FULL' });
  });

  it('refuses a second unauthenticated socket from one address with RATE_LIMITED (maxUnauthenticatedPerAddress)', async () => {
    fed = await startFederation(1, { limits: { maxUnauthenticatedPerAddress: 1, displaceAfterMs: 600_000 } });
    const stalled = await peer(fed.url);
    await stalled.nextFrame();
    const second = await SecureConnection.open({ url: fed.url, fingerprint: fed.fingerprint }).then(() => undefined, (e: unknown) => e);
    expect(second).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/HTTP 429/) });
    stalled.ws.terminate();
    await expect.poll(() => SecureConnection.open({ url: fed!.url, fingerprint: fed!.fingerprint }).then((c) => (c.close(), 'open'), (e: FedwardenError) => e.code)).toBe('open');
  });
});
