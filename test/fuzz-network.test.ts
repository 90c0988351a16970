/**
 * Hostile peers against a real coordinator over loopback WebSocket sockets, seeded and reproducible: thousands
 * of connections in eight concurrent lanes, each playing one scenario — text frames, garbage or tampered key
 * exchanges, tampered and garbage sealed frames, messages in the wrong order or of the wrong direction,
 * oversized frames, data and ping floods past the rate limit, stalled handshakes, and raw WebSocket-level
 * violations.
 *
 * For every connection the test predicts the stable error code from the wire spec and checks that the socket
 * closes with that code's close code and a "CODE: …" reason (ws's own 1002/1009 for protocol violations it
 * catches below us). Afterwards: every socket is gone, the rejections counted in /metrics match the
 * predictions code by code, the heap has not grown, and two well-behaved participants complete a round.
 */
import { connect as tcpConnect } from 'node:net';
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FederatedClient } from '@fedwarden/client';
import {
  CHANNEL_VERSION,
  CLIENT_KEX_BYTES,
  ERROR_CODES,
  ERROR_CODE_LIST,
  FRAME_CLIENT_KEX,
  FRAME_SEALED,
  SEALED_OVERHEAD_BYTES,
  PROTOCOL_VERSION,
  codeFromCloseReason,
  createRng,
  decodeMessage,
  deriveSeed,
  encodeMessage,
  generateIdentity,
  type ErrorCode,
  type FedwardenError,
  type IdentityKeyPair,
  type Message,
  type MessageKind,
  type Rng,
} from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { FUZZ_SEED, Tally, failCase, heapAfterGc } from './support/fuzz-harness.ts';
import { MESSAGE_KINDS, concat, int, mutate, pick, randomBytes, sampleMessage } from './support/fuzz-inputs.ts';
import { RawPeer, helloMessage } from './support/raw-peer.ts';

const LANES = 8;
const SCENARIOS_PER_LANE = 300;
const MAX_FRAME_BYTES = 64 * 1024;
const BURST = 40;
/** Long enough that a loaded machine completes every genuine handshake in time; stalls run concurrently. */
const HANDSHAKE_TIMEOUT_MS = 3_000;
const STALLS = new Set(['stalled handshake', 'key exchange, then silence']);
/**
 * The whole run's limit: about 40–50 s alone, every connection paying the ML-KEM handshake (a key pair, two
 * encapsulations, two decapsulations) in this one process; far more on a loaded machine, and a run that is merely
 * slow must not read as a failure.
 */
const RUN_TIMEOUT_MS = 240_000;
/**
 * How long a scenario may wait for the close it predicts (stalls included: they close at HANDSHAKE_TIMEOUT_MS).
 * A coordinator that ignores what the scenario expected it to refuse fails that case, named, instead of hanging
 * the run until RUN_TIMEOUT_MS.
 */
const CLOSE_DEADLINE_MS = 30_000;
/** Heap growth allowed over the run after GC: about 5 KB per connection, so retaining whole connections fails. */
const MAX_HEAP_GROWTH_BYTES = 12 * 1024 * 1024;
const manifest = new FakeModel(new Float32Array(4)).manifest;

/** Participant → coordinator kinds the coordinator ignores outside a round (no close to observe). */
const IGNORED_OUTSIDE_ROUND = new Set<MessageKind>(['update', 'saKeys', 'saEncaps', 'saShares', 'saMasked', 'saSurvivorsSigned', 'saUnmaskReply', 'error']);
const SERVER_ONLY_KINDS = MESSAGE_KINDS.filter((k) => k !== 'hello' && !IGNORED_OUTSIDE_ROUND.has(k));

interface Expectation {
  readonly code: ErrorCode;
  /** Closed by ws itself (1002/1009), without our "CODE: reason". */
  readonly wsLevel?: boolean;
}

interface Lane {
  readonly rng: Rng;
  readonly token: string;
  /** The identity the lane's participant registered at its first hello: every later hello presents it again. */
  readonly identity: IdentityKeyPair;
  readonly valid: Uint8Array[];
}

let fed: TestFederation;
const limits = { maxFrameBytes: MAX_FRAME_BYTES, maxVectorLength: 1024, maxStringBytes: 1024, maxManifestEntries: 256, maxGroupSize: 255 };

beforeAll(async () => {
  fed = await startFederation(LANES + 2, {
    rounds: { count: 1, minParticipants: 2, deadlineMs: 10_000 },
    // Stalls pile up from one loopback address while the lanes go on: no per-address quota here (lockout.test.ts tests it).
    limits: { ...limits, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS, messageBurst: BURST, messageRatePerSecond: 20, maxUnauthenticatedPerAddress: 0 },
  });
});

afterAll(async () => {
  await fed?.stop();
});

/** channel.ts's checks for a frame that is not the exact next sealed frame. */
function expectedOpenCode(frame: Uint8Array): ErrorCode {
  if (frame.length < 2) return 'BAD_FRAME';
  if (frame[0] !== CHANNEL_VERSION) return 'UNSUPPORTED';
  if (frame[1] !== FRAME_SEALED || frame.length < SEALED_OVERHEAD_BYTES) return 'BAD_FRAME';
  return 'DECRYPT_FAILED';
}

/** channel.ts's checks on a clientKex; undefined when it reaches ML-KEM and yields a (useless) session. */
function expectedAcceptCode(frame: Uint8Array): ErrorCode | undefined {
  if (frame.length < 2) return 'BAD_FRAME';
  if (frame[0] !== CHANNEL_VERSION) return 'UNSUPPORTED';
  if (frame[1] !== FRAME_CLIENT_KEX || frame.length !== CLIENT_KEX_BYTES) return 'BAD_FRAME';
  return undefined;
}

/** What the coordinator does with a decrypted message before or after hello; undefined: ignored, no close. */
function expectedForPlaintext(plaintext: Uint8Array, authenticated: boolean): ErrorCode | undefined {
  let msg: Message;
  try {
    msg = decodeMessage(plaintext, limits);
  } catch (err) {
    return (err as FedwardenError).code;
  }
  // The version is checked before the token: a hello of another version never gets as far as AUTH_FAILED.
  if (!authenticated) return msg.kind !== 'hello' ? 'UNEXPECTED_MESSAGE' : msg.version !== PROTOCOL_VERSION ? 'UNSUPPORTED' : 'AUTH_FAILED';
  return IGNORED_OUTSIDE_ROUND.has(msg.kind) ? undefined : 'UNEXPECTED_MESSAGE';
}

function hostilePlaintext(lane: Lane): Uint8Array {
  return lane.rng.next() < 0.3 ? randomBytes(lane.rng, int(lane.rng, 200)) : mutate(lane.rng, pick(lane.rng, lane.valid), pick(lane.rng, lane.valid)).bytes;
}

type Scenario = (peer: RawPeer, lane: Lane) => Promise<Expectation>;

const SCENARIOS: ReadonlyArray<readonly [name: string, weight: number, run: Scenario]> = [
  ['text frame first', 5, async (peer, { rng }) => {
    peer.ws.send(randomBytes(rng, int(rng, 100)), { binary: false });
    return { code: 'UNSUPPORTED' };
  }],
  ['garbage handshake', 14, async (peer, { rng }) => {
    const frame = randomBytes(rng, rng.next() < 0.2 ? CLIENT_KEX_BYTES : int(rng, CLIENT_KEX_BYTES + 300));
    if (frame.length >= 2 && rng.next() < 0.5) frame.set([CHANNEL_VERSION, FRAME_CLIENT_KEX]);
    peer.ws.send(frame);
    const early = expectedAcceptCode(frame);
    if (early) return { code: early };
    // A session came out of ML-KEM's implicit rejection; it cannot open anything the peer sends.
    const next = randomBytes(rng, int(rng, 100));
    if (next.length >= 2 && rng.next() < 0.7) next.set([CHANNEL_VERSION, FRAME_SEALED]);
    peer.ws.send(next);
    return { code: expectedOpenCode(next) };
  }],
  ['tampered key exchange', 10, async (peer, { rng }) => {
    const { kexFrame } = await peer.handshake(fed.fingerprint, false);
    const { bytes } = mutate(rng, kexFrame, randomBytes(rng, 64));
    peer.ws.send(bytes);
    const early = expectedAcceptCode(bytes);
    if (early) return { code: early };
    peer.sendSealed(helloMessage('not-enrolled', manifest));
    return { code: Buffer.compare(bytes, kexFrame) === 0 ? 'AUTH_FAILED' : 'DECRYPT_FAILED' };
  }],
  ['tampered sealed frame', 14, async (peer, { rng }) => {
    await peer.handshake(fed.fingerprint);
    const frame = peer.session!.seal(encodeMessage(helloMessage('not-enrolled', manifest)));
    const { bytes } = mutate(rng, frame, randomBytes(rng, 64));
    peer.ws.send(bytes);
    return { code: Buffer.compare(bytes, frame) === 0 ? 'AUTH_FAILED' : expectedOpenCode(bytes) };
  }],
  ['garbage sealed message before hello', 20, async (peer, lane) => {
    await peer.handshake(fed.fingerprint);
    const plaintext = hostilePlaintext(lane);
    peer.sendSealed(plaintext);
    return { code: expectedForPlaintext(plaintext, false)! };
  }],
  ['valid message before hello', 7, async (peer, { rng }) => {
    await peer.handshake(fed.fingerprint);
    peer.sendSealed(sampleMessage(rng, pick(rng, MESSAGE_KINDS.filter((k) => k !== 'hello'))));
    return { code: 'UNEXPECTED_MESSAGE' };
  }],
  ['hostile frame after hello', 16, async (peer, lane) => {
    const { rng } = lane;
    await peer.join(fed.fingerprint, lane.token, manifest, lane.identity);
    switch (int(rng, 7)) {
      case 0:
        peer.sendSealed(peer.hello(lane.token, manifest));
        return { code: 'UNEXPECTED_MESSAGE' };
      case 1:
        peer.sendSealed(sampleMessage(rng, pick(rng, SERVER_ONLY_KINDS)));
        return { code: 'UNEXPECTED_MESSAGE' };
      case 2: {
        const frame = peer.session!.seal(encodeMessage({ kind: 'updateAck', round: 1 }));
        const { bytes } = mutate(rng, frame, randomBytes(rng, 32));
        peer.ws.send(bytes);
        return { code: Buffer.compare(bytes, frame) === 0 ? 'UNEXPECTED_MESSAGE' : expectedOpenCode(bytes) };
      }
      case 3:
        peer.ws.send('{"kind":"update"}');
        return { code: 'UNSUPPORTED' };
      case 4:
        peer.ws.send(randomBytes(rng, MAX_FRAME_BYTES + 1 + int(rng, 1000)));
        return { code: 'TOO_BIG', wsLevel: true };
      case 5: {
        // Stale updates are refused with a reply that keeps the link (UPDATE_REFUSED): only the rate limit ends this flood.
        const stale = { kind: 'update', round: 0, numSamples: 1, meanLoss: 0, trainMs: 0, delta: new Float32Array(4) } as const;
        for (let i = 0; i < BURST + 100; i++) peer.sendSealed(stale);
        return { code: 'RATE_LIMITED' };
      }
      default: {
        for (let attempt = 0; attempt < 20; attempt++) {
          const plaintext = hostilePlaintext(lane);
          const code = expectedForPlaintext(plaintext, true);
          if (code === undefined) continue; // a well-formed participant message outside a round: ignored
          peer.sendSealed(plaintext);
          return { code };
        }
        peer.sendSealed({ kind: 'roundEnd', round: 1, outcome: 'completed', reason: '' });
        return { code: 'UNEXPECTED_MESSAGE' };
      }
    }
  }],
  ['oversized first frame', 3, async (peer, { rng }) => {
    peer.ws.send(randomBytes(rng, MAX_FRAME_BYTES + 1 + int(rng, 4096)));
    return { code: 'TOO_BIG', wsLevel: true };
  }],
  ['handshake flood', 3, async (peer, { rng }) => {
    // Frames arriving after the first refusal are dropped unread: the first one decides.
    const first = randomBytes(rng, 1 + int(rng, 50));
    for (let i = 0; i < 200; i++) peer.ws.send(i === 0 ? first : randomBytes(rng, 10));
    return { code: expectedAcceptCode(first) ?? 'BAD_FRAME' };
  }],
  ['ping flood', 2, async (peer) => {
    for (let i = 0; i < BURST + 100; i++) peer.ws.ping();
    return { code: 'RATE_LIMITED' };
  }],
  ['stalled handshake', 1, async () => ({ code: 'TIMEOUT' })],
  ['key exchange, then silence', 1, async (peer) => {
    await peer.handshake(fed.fingerprint);
    return { code: 'TIMEOUT' };
  }],
];

const TOTAL_WEIGHT = SCENARIOS.reduce((s, [, w]) => s + w, 0);

function drawScenario(rng: Rng): (typeof SCENARIOS)[number] {
  let x = rng.next() * TOTAL_WEIGHT;
  for (const s of SCENARIOS) if ((x -= s[1]) < 0) return s;
  return SCENARIOS[0]!;
}

/** WebSocket-level violations (RFC 6455 §5.2) written on a raw TCP socket after a hand-made upgrade. */
const RAW_VIOLATIONS: ReadonlyArray<readonly [name: string, closeCode: number, frame: (rng: Rng) => Uint8Array]> = [
  ['unmasked client frame', 1002, (rng) => concat(Uint8Array.of(0x82, 5), randomBytes(rng, 5))],
  ['reserved bits set', 1002, (rng) => concat(Uint8Array.of(0x82 | 0x40, 0x80 | 4), randomBytes(rng, 8))],
  ['reserved opcode', 1002, (rng) => concat(Uint8Array.of(0x80 | pick(rng, [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]), 0x80 | 4), randomBytes(rng, 8))],
  ['fragmented ping', 1002, (rng) => concat(Uint8Array.of(0x09, 0x80 | 4), randomBytes(rng, 8))],
  ['control frame over 125 bytes', 1002, (rng) => concat(Uint8Array.of(0x89, 0x80 | 126, 0, 200), randomBytes(rng, 204))],
  ['continuation without a start', 1002, (rng) => concat(Uint8Array.of(0x80, 0x80 | 4), randomBytes(rng, 8))],
  ['length beyond maxPayload', 1009, () => Uint8Array.of(0x82, 0x80 | 127, 0, 0, 0x10, 0, 0, 0, 0, 0, 1, 2, 3, 4)],
];

/** Upgrade a raw TCP socket, write `frame`, and return the close code the server's close frame carries. */
function rawViolation(port: number, frame: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const done = (code: number) => {
      socket.destroy();
      resolve(code);
    };
    socket.on('error', reject);
    socket.on('close', () => done(1006));
    socket.on('connect', () => {
      const key = cryptoRandomBytes(16).toString('base64');
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, end).toString().startsWith('HTTP/1.1 101')) return done(-1);
        upgraded = true;
        buf = buf.subarray(end + 4);
        socket.write(frame);
      }
      // Server frames are unmasked: opcode, 7/16/64-bit length, payload.
      while (buf.length >= 2) {
        let len = buf[1]! & 0x7f;
        let at = 2;
        if (len === 126) [len, at] = buf.length >= 4 ? [buf.readUInt16BE(2), 4] : [Infinity, 0];
        else if (len === 127) [len, at] = buf.length >= 10 ? [Number(buf.readBigUInt64BE(2)), 10] : [Infinity, 0];
        if (buf.length < at + len) return;
        if ((buf[0]! & 0x0f) === 0x8) return done(len >= 2 ? buf.readUInt16BE(at) : 1005);
        buf = buf.subarray(at + len);
      }
    });
  });
}

/** `closed`, or what `late` throws once `ms` have passed without it. */
function closedWithin<T>(closed: Promise<T>, ms: number, late: () => never): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      try {
        late();
      } catch (err) {
        reject(err as Error);
      }
    }, ms);
  });
  return Promise.race([closed, deadline]).finally(() => clearTimeout(timer));
}

async function rejectionsByCode(): Promise<Map<string, number>> {
  const metric = (await fed.coordinator.metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'fedwarden_rejections_total');
  return new Map((metric?.values ?? []).map((v) => [String(v.labels.code), v.value]));
}

async function openConnections(): Promise<number> {
  const metric = (await fed.coordinator.metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'fedwarden_connections_open');
  return metric?.values[0]?.value ?? Number.NaN;
}

describe('fuzz: hostile peers over loopback sockets', () => {
  it(`closes ${(LANES * SCENARIOS_PER_LANE).toLocaleString('en')} hostile connections with the predicted code, then serves honest participants`, async () => {
    const before = await rejectionsByCode();
    const predicted = new Tally();
    const scenariosSeen = new Tally();

    const runLane = async (laneIndex: number) => {
      const rng = createRng(deriveSeed(FUZZ_SEED, 100 + laneIndex));
      const valid = MESSAGE_KINDS.map((kind) => encodeMessage(sampleMessage(rng, kind)));
      const lane: Lane = { rng, token: fed.tokens[laneIndex]!, identity: generateIdentity(), valid };
      for (let index = 0; index < SCENARIOS_PER_LANE; index++) {
        const c = { suite: `network lane ${laneIndex}`, index };
        if (rng.next() < 0.05) {
          const [name, closeCode, make] = pick(rng, RAW_VIOLATIONS);
          const got = await rawViolation(fed.coordinator.port, make(rng));
          if (got !== closeCode) failCase({ ...c, steps: [name] }, `closed with ${got}, expected ${closeCode}`);
          predicted.add(closeCode === 1009 ? 'TOO_BIG' : 'BAD_FRAME');
          scenariosSeen.add(`raw: ${name}`);
          continue;
        }
        const [name, , run] = drawScenario(rng);
        const peer = await RawPeer.connect(fed.url);
        const expected = await run(peer, lane);
        const closed = closedWithin(peer.closed, CLOSE_DEADLINE_MS, () => {
          peer.ws.terminate();
          failCase({ ...c, steps: [name] }, `no close within ${CLOSE_DEADLINE_MS} ms, expected ${expected.code}`);
        });
        const verdict = closed.then(({ code, reason }) => {
          const steps = [name];
          if (code !== ERROR_CODES[expected.code].close) failCase({ ...c, steps }, `closed with ${code} (${reason}), expected ${expected.code}`);
          if (!expected.wsLevel && codeFromCloseReason(reason) !== expected.code) failCase({ ...c, steps }, `close reason "${reason}", expected ${expected.code}`);
          predicted.add(expected.code);
          scenariosSeen.add(name);
        });
        // A stall waits out the handshake timeout: let the lane go on meanwhile.
        if (STALLS.has(name)) stalls.push(verdict);
        else await verdict;
      }
    };
    const stalls: Promise<void>[] = [];

    const heapBefore = heapAfterGc();
    await Promise.all(Array.from({ length: LANES }, (_, lane) => runLane(lane)));
    await Promise.all(stalls);
    await expect.poll(() => openConnections(), { timeout: 10_000 }).toBe(0);
    const heapGrowth = heapAfterGc() - heapBefore;

    expect(predicted.total()).toBe(LANES * SCENARIOS_PER_LANE);
    for (const [name] of SCENARIOS) expect(scenariosSeen.get(name), name).toBeGreaterThan(0);
    for (const [name] of RAW_VIOLATIONS) expect(scenariosSeen.get(`raw: ${name}`), name).toBeGreaterThan(0);
    // /metrics counted exactly the refusals predicted, code by code.
    const after = await rejectionsByCode();
    for (const code of ERROR_CODE_LIST) {
      expect((after.get(code) ?? 0) - (before.get(code) ?? 0), `rejections_total{code="${code}"}`).toBe(predicted.get(code));
    }
    expect(heapGrowth).toBeLessThan(MAX_HEAP_GROWTH_BYTES);

    // Still serving: two well-behaved participants complete a round.
    const step = Float32Array.of(0.25, -0.5, 1, 0);
    const clients = fed.tokens.slice(LANES).map(
      (token) => new FederatedClient({ url: fed.url, fingerprint: fed.fingerprint, token, model: new FakeModel(step), data: fakeData(5) }),
    );
    const [records] = await Promise.all([fed.coordinator.run(), ...clients.map((client) => client.run())]);
    expect(records.map((r) => r.outcome)).toEqual(['completed']);
    expect(Array.from(fed.coordinator.globalAdapter()!)).toEqual(Array.from(step));
  }, RUN_TIMEOUT_MS);
});
