/**
 * The post-quantum channel and enrolment, end to end over real loopback sockets: what a wire observer sees,
 * what a wrong key, token, oversized, tampered, replayed or reordered frame gets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FederatedClient, SecureConnection } from '@fedwarden/client';
import { ephemeralIdentity } from '@fedwarden/coordinator';
import { FedwardenError, clientHandshake, createRng, encodeMessage, type SecureSession } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { startLinkProxy, type LinkProxy } from './support/link-proxy.ts';

let fed: TestFederation | undefined;
let proxy: LinkProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await fed?.stop();
  fed = undefined;
  proxy = undefined;
});

function distinctiveStep(n: number): Float32Array {
  const rng = createRng(42);
  return Float32Array.from({ length: n }, () => 0.5 + rng.next());
}

interface RawPeer {
  ws: WebSocket;
  session: SecureSession;
  closed: Promise<{ code: number; reason: string }>;
  messages: Buffer[];
}

/** A hand-driven participant: real handshake, then whatever frames the test wants to send. */
async function rawPeer(url: string, fingerprint: string): Promise<RawPeer> {
  const ws = new WebSocket(url);
  const messages: Buffer[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const session = await new Promise<SecureSession>((resolve, reject) => {
    ws.once('message', (data: Buffer) => {
      const { kexFrame, session } = clientHandshake(new Uint8Array(data), fingerprint);
      ws.send(kexFrame);
      ws.on('message', (d: Buffer) => messages.push(d));
      resolve(session);
    });
    ws.once('error', reject);
  });
  return { ws, session, closed, messages };
}

const manifest = new FakeModel(new Float32Array(4)).manifest;

describe('post-quantum channel, end to end', () => {
  it('never shows an update or a token in clear on the wire after the handshake', async () => {
    fed = await startFederation(2, { rounds: { count: 1, minParticipants: 2, deadlineMs: 10_000 } });
    proxy = await startLinkProxy(fed.coordinator.port, { capture: true });
    const step = distinctiveStep(256);
    const clients = fed.tokens.map(
      (token) => new FederatedClient({ url: proxy!.url, fingerprint: fed!.fingerprint, token, model: new FakeModel(step), data: fakeData(10) }),
    );
    await Promise.all([fed.coordinator.run(), ...clients.map((c) => c.run())]);

    // The updates did arrive and were aggregated (both participants sent `step`; FedAvg of equal steps is `step`).
    expect(Array.from(fed.coordinator.globalAdapter()!)).toEqual(Array.from(step));
    const wire = proxy.captured();
    // Control: the tap sees the handshake's public key in clear, so a search for clear bytes would succeed.
    expect(wire.includes(Buffer.from(fed.coordinator.identity.keyPair.publicKey.subarray(0, 32)))).toBe(true);
    // Control: the unencrypted encoding of an update contains the step's bytes.
    const stepBytes = Buffer.from(step.buffer);
    const plain = Buffer.from(encodeMessage({ kind: 'update', round: 1, numSamples: 10, meanLoss: 1, trainMs: 0, delta: step }));
    expect(plain.includes(stepBytes.subarray(0, 16))).toBe(true);
    for (let i = 0; i + 16 <= stepBytes.length; i += 4) {
      expect(wire.includes(stepBytes.subarray(i, i + 16))).toBe(false);
    }
    for (const token of fed.tokens) expect(wire.includes(Buffer.from(token))).toBe(false);
  });

  it('a client pinned to another key refuses the coordinator before sending anything', async () => {
    fed = await startFederation(1);
    const wrongPin = ephemeralIdentity().fingerprint;
    const err = await SecureConnection.open({ url: fed.url, fingerprint: wrongPin }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FedwardenError);
    expect((err as FedwardenError).code).toBe('FINGERPRINT_MISMATCH');
    expect(fed.coordinator.connectedParticipants).toBe(0);
  });

  it('refuses a bad token with a clear reason', async () => {
    fed = await startFederation(1);
    const client = new FederatedClient({
      url: fed.url,
      fingerprint: fed.fingerprint,
      token: 'not-a-real-token',
      model: new FakeModel(new Float32Array(4)),
      data: fakeData(3),
    });
    const err = await client.run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FedwardenError);
    expect((err as FedwardenError).code).toBe('AUTH_FAILED');
    expect((err as FedwardenError).message).toMatch(/4004.*unknown enrolment token/);
    expect(fed.coordinator.connectedParticipants).toBe(0);
  });

  it('closes an oversized frame with 1009', async () => {
    fed = await startFederation(1, { limits: { maxFrameBytes: 64 * 1024 } });
    const ws = new WebSocket(fed.url);
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((r) => ws.once('open', r));
    ws.send(Buffer.alloc(100_000, 7));
    expect(await closed).toBe(1009);
  });

  it('closes the connection on a tampered frame', async () => {
    fed = await startFederation(1);
    const peer = await rawPeer(fed.url, fed.fingerprint);
    const frame = peer.session.seal(encodeMessage({ kind: 'hello', token: fed.tokens[0]!, manifest }));
    frame[frame.length - 20]! ^= 0x01;
    peer.ws.send(frame);
    const { code, reason } = await peer.closed;
    expect(code).toBe(4002);
    expect(reason).toMatch(/^DECRYPT_FAILED/);
    expect(fed.coordinator.connectedParticipants).toBe(0);
  });

  it('closes the connection on a replayed frame', async () => {
    fed = await startFederation(1);
    const peer = await rawPeer(fed.url, fed.fingerprint);
    const hello = peer.session.seal(encodeMessage({ kind: 'hello', token: fed.tokens[0]!, manifest }));
    peer.ws.send(hello);
    await expect.poll(() => fed!.coordinator.connectedParticipants).toBe(1);
    peer.ws.send(hello);
    const { code, reason } = await peer.closed;
    expect(code).toBe(4003);
    expect(reason).toMatch(/^REPLAY/);
  });

  it('closes the connection on reordered frames', async () => {
    fed = await startFederation(1);
    const peer = await rawPeer(fed.url, fed.fingerprint);
    const first = peer.session.seal(encodeMessage({ kind: 'hello', token: fed.tokens[0]!, manifest }));
    const second = peer.session.seal(encodeMessage({ kind: 'error', code: 'INTERNAL', message: 'x' }));
    void first;
    peer.ws.send(second);
    const { code, reason } = await peer.closed;
    expect(code).toBe(4003);
    expect(reason).toMatch(/^REPLAY/);
  });

  it('closes a connection that never completes the handshake', async () => {
    fed = await startFederation(1, { limits: { handshakeTimeoutMs: 200 } });
    const ws = new WebSocket(fed.url);
    const { code, reason } = await new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on('close', (c, r) => resolve({ code: c, reason: r.toString() })),
    );
    expect(code).toBe(4008);
    expect(reason).toMatch(/^TIMEOUT/);
  });
});
