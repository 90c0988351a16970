/**
 * The post-quantum channel and enrolment, end to end over real loopback sockets: what a wire observer sees,
 * what a wrong key, token, oversized, tampered, replayed or reordered frame gets, and what a recorded session
 * gives a later thief of the coordinator's long-term key (forward secrecy).
 *
 * The ML-KEM key generator is wrapped (vi.mock) so that the forward-secrecy control can hold a copy of each
 * ephemeral secret key, and check that the coordinator wiped its own.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { FederatedClient, SecureConnection } from '@fedwarden/client';
import { ephemeralIdentity } from '@fedwarden/coordinator';
import {
  CHANNEL_VERSION,
  FedwardenError,
  SERVER_HELLO_BYTES,
  SERVER_HELLO_EPHEMERAL_KEY_OFFSET,
  clientHandshake,
  createRng,
  decodeMessage,
  encodeMessage,
  type SecureSession,
} from '@fedwarden/shared';
import { keysWithEphemeral, longTermOnlyGuesses, openRecorded, type RecordedSession } from './support/channel-attacker.ts';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { startLinkProxy, type LinkProxy } from './support/link-proxy.ts';
import { helloMessage } from './support/raw-peer.ts';
import { binaryMessages, startWireRecorder, type WireRecorder } from './support/wire-recorder.ts';

const generatedKeys = vi.hoisted(() => [] as { publicKey: Uint8Array; secretKey: Uint8Array; secretKeyCopy: Uint8Array }[]);

vi.mock('../shared/src/crypto/kem.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../shared/src/crypto/kem.ts')>();
  return {
    ...actual,
    generateKemKeyPair: (seed?: Uint8Array) => {
      const pair = actual.generateKemKeyPair(seed);
      generatedKeys.push({ publicKey: pair.publicKey, secretKey: pair.secretKey, secretKeyCopy: pair.secretKey.slice() });
      return pair;
    },
  };
});

let fed: TestFederation | undefined;
let proxy: LinkProxy | undefined;
let recorder: WireRecorder | undefined;

afterEach(async () => {
  await proxy?.close();
  await recorder?.close();
  await fed?.stop();
  fed = undefined;
  proxy = undefined;
  recorder = undefined;
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

  it('a recorded federation stays closed to a later thief of the coordinator\'s long-term key (forward secrecy)', async () => {
    fed = await startFederation(2, { rounds: { count: 1, minParticipants: 2, deadlineMs: 10_000 } });
    recorder = await startWireRecorder(fed.coordinator.port);
    const step = distinctiveStep(64);
    const clients = fed.tokens.map(
      (token) => new FederatedClient({ url: recorder!.url, fingerprint: fed!.fingerprint, token, model: new FakeModel(step), data: fakeData(10) }),
    );
    await Promise.all([fed.coordinator.run(), ...clients.map((c) => c.run())]);
    await fed.stop();

    // Later, the coordinator's long-term secret key is stolen.
    const stolen = fed.coordinator.identity.keyPair.secretKey;
    const links = recorder.links();
    expect(links).toHaveLength(2);
    for (const [n, link] of links.entries()) {
      const down = binaryMessages(link.down);
      const up = binaryMessages(link.up);
      const session: RecordedSession = { serverHello: down[0]!, clientKex: up[0]!, toCoordinator: up.slice(1), toParticipant: down.slice(1) };
      expect(session.serverHello[0], 'the recording is of the current channel').toBe(CHANNEL_VERSION);
      // The whole session was recorded: hello and update one way; welcome, round start, end and finish the other.
      expect(session.toCoordinator.length, `link ${n}`).toBeGreaterThanOrEqual(2);
      expect(session.toParticipant.length, `link ${n}`).toBeGreaterThanOrEqual(3);

      for (const [guess, keys] of longTermOnlyGuesses(session, stolen)) {
        expect(openRecorded(session, keys), `link ${n}: ${guess}`).toEqual({ toCoordinator: [], toParticipant: [] });
      }

      // Control: with the ephemeral secret key as well, the same attacker opens every frame, enrolment token and
      // update included. The coordinator itself no longer holds that key: it wiped it after the handshake.
      const ek = Buffer.from(session.serverHello.subarray(SERVER_HELLO_EPHEMERAL_KEY_OFFSET));
      const ephemeral = generatedKeys.find((p) => ek.equals(p.publicKey));
      expect(ephemeral, `link ${n}: the ephemeral key pair was seen`).toBeDefined();
      expect(ephemeral!.secretKey.every((b) => b === 0), `link ${n}: the coordinator wiped its ephemeral key`).toBe(true);
      const opened = openRecorded(session, keysWithEphemeral(session, stolen, ephemeral!.secretKeyCopy));
      expect(opened.toCoordinator).toHaveLength(session.toCoordinator.length);
      expect(opened.toParticipant).toHaveLength(session.toParticipant.length);
      const sent = opened.toCoordinator.map((p) => decodeMessage(p));
      expect(sent[0]).toMatchObject({ kind: 'hello' });
      expect(fed.tokens).toContain((sent[0] as { token: string }).token);
      const update = sent.find((m) => m.kind === 'update');
      expect(update && Array.from(update.delta)).toEqual(Array.from(step));
    }
  });

  it('a participant speaking channel version 1 is closed with UNSUPPORTED (1003), not a crash', async () => {
    fed = await startFederation(1);
    const ws = new WebSocket(fed.url, { perMessageDeflate: false });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, r) => resolve({ code, reason: r.toString() })));
    const hello = await new Promise<Buffer>((resolve) => ws.once('message', (d: Buffer) => resolve(d)));
    expect(hello).toHaveLength(SERVER_HELLO_BYTES);
    // Version 1 clientKex: [1, 2] nonce(32) c_lt(1088).
    ws.send(Buffer.concat([Buffer.from([1, 2]), Buffer.alloc(32 + 1088, 5)]));
    const { code, reason } = await closed;
    expect(code).toBe(1003);
    expect(reason).toMatch(/^UNSUPPORTED: accept: channel version 1, expected 2/);
    expect(fed.coordinator.connectedParticipants).toBe(0);
  });

  it('a coordinator speaking channel version 1 is refused with UNSUPPORTED (1003) before the participant sends anything', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    const heard: Buffer[] = [];
    const identity = ephemeralIdentity();
    const closedWith = new Promise<number>((resolve) =>
      server.on('connection', (ws) => {
        ws.on('message', (d: Buffer) => heard.push(d));
        ws.on('close', (code) => resolve(code));
        ws.send(Buffer.concat([Buffer.from([1, 1]), Buffer.alloc(32, 9), Buffer.from(identity.keyPair.publicKey)]));
      }),
    );
    try {
      const port = (server.address() as { port: number }).port;
      const err = await SecureConnection.open({ url: `ws://127.0.0.1:${port}`, fingerprint: identity.fingerprint }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FedwardenError);
      expect((err as FedwardenError).code).toBe('UNSUPPORTED');
      expect(await closedWith).toBe(1003);
      expect(heard).toEqual([]);
    } finally {
      await new Promise((r) => server.close(r));
    }
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
    const frame = peer.session.seal(encodeMessage(helloMessage(fed.tokens[0]!, manifest)));
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
    const hello = peer.session.seal(encodeMessage(helloMessage(fed.tokens[0]!, manifest)));
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
    const first = peer.session.seal(encodeMessage(helloMessage(fed.tokens[0]!, manifest)));
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
