/**
 * In-process fuzzing of everything that parses bytes from the network, seeded and reproducible (the failure
 * message names the seed; FEDWARDEN_FUZZ_SEED replays it):
 *
 *   decodeMessage         100,000 random frames and mutants of valid messages of every kind, under the default
 *                         and under tight limits
 *   SecureSession.open     15,000 mutated, replayed, reordered and random sealed frames
 *   ServerHandshake.accept  6,000 random and mutated clientKex frames (800 of them carry a real key exchange)
 *
 * Every input is either accepted — and then re-encodes to exactly its own bytes and allocates no more than its
 * own size — or rejected with a FedwardenError whose code is the one the wire spec (channel.ts, codec.ts)
 * predicts; nothing else escapes, and the heap after GC does not grow with the number of cases.
 * The loopback-socket half is fuzz-network.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  CHANNEL_VERSION,
  CLIENT_KEX_BYTES,
  DEFAULT_LIMITS,
  FRAME_CLIENT_KEX,
  FRAME_SEALED,
  FedwardenError,
  IDENTITY_KEY_BYTES,
  PROTOCOL_VERSION,
  SEALED_OVERHEAD_BYTES,
  SecureSession,
  ServerHandshake,
  clientHandshake,
  createRng,
  decodeMessage,
  deriveSeed,
  encodeMessage,
  generateKemKeyPair,
  fingerprint,
  type ErrorCode,
  type Message,
  type ProtocolLimits,
  type Rng,
} from '@fedwarden/shared';
import { FUZZ_SEED, Tally, breathe, expectRejection, failCase, heapAfterGc, type FuzzCase } from './support/fuzz-harness.ts';
import { MESSAGE_KINDS, MUTATORS, concat, int, mutate, pick, randomBytes, sampleMessage } from './support/fuzz-inputs.ts';

const DECODE_CASES = 100_000;
const OPEN_CASES = 15_000;
const ACCEPT_CHEAP_CASES = 5_200;
const ACCEPT_KEX_CASES = 800;
/** Heap growth allowed across a suite after GC: a leak of 100 bytes per decode case would exceed it. */
const MAX_HEAP_GROWTH_BYTES = 8 * 1024 * 1024;

const TIGHT_LIMITS: ProtocolLimits = { maxFrameBytes: 4096, maxVectorLength: 16, maxStringBytes: 12, maxManifestEntries: 1, maxGroupSize: 3 };

function samples(rng: Rng, perKind: number): Uint8Array[] {
  return MESSAGE_KINDS.flatMap((kind) => Array.from({ length: perKind }, () => encodeMessage(sampleMessage(rng, kind))));
}

/** Bytes of every typed array and relayed blob a decoded message holds. */
function payloadBytes(msg: Message): number {
  let n = 0;
  for (const value of Object.values(msg)) {
    if (ArrayBuffer.isView(value)) n += value.byteLength;
    else if (Array.isArray(value)) for (const e of value) if (e && typeof e === 'object' && 'bytes' in e) n += (e.bytes as Uint8Array).byteLength;
  }
  return n;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/** Decode one hostile input and check whichever way it went. Returns the outcome: a kind or an error code. */
function decodeCase(c: FuzzCase & { input: Uint8Array }, limits: ProtocolLimits): string {
  let msg: Message;
  try {
    msg = decodeMessage(c.input, limits);
  } catch (err) {
    return expectRejection(c, err, ['BAD_FRAME', 'TOO_BIG']);
  }
  let again: Uint8Array;
  try {
    again = encodeMessage(msg);
  } catch (err) {
    failCase(c, `decoded ${msg.kind} but encodeMessage refuses it: ${String(err)}`);
  }
  // Canonical encoding: what the decoder accepts is exactly what the encoder writes for the result.
  if (!sameBytes(again, c.input)) failCase(c, `decoded ${msg.kind} re-encodes to different bytes`);
  if (payloadBytes(msg) > c.input.length) failCase(c, `decoded ${msg.kind} holds more bytes than the frame`);
  return msg.kind;
}

/** channel.ts's rules for a frame that is not the exact next sealed frame: which check refuses it first. */
function expectedOpenCode(frame: Uint8Array): ErrorCode {
  if (frame.length < 2) return 'BAD_FRAME';
  if (frame[0] !== CHANNEL_VERSION) return 'UNSUPPORTED';
  if (frame[1] !== FRAME_SEALED) return 'BAD_FRAME';
  if (frame.length < SEALED_OVERHEAD_BYTES) return 'BAD_FRAME';
  return 'DECRYPT_FAILED'; // any other change touches the AAD, nonce, ciphertext or tag
}

/** channel.ts's checks on a clientKex before decapsulation; undefined when the frame reaches ML-KEM. */
function expectedAcceptCode(frame: Uint8Array): ErrorCode | undefined {
  if (frame.length < 2) return 'BAD_FRAME';
  if (frame[0] !== CHANNEL_VERSION) return 'UNSUPPORTED';
  if (frame[1] !== FRAME_CLIENT_KEX || frame.length !== CLIENT_KEX_BYTES) return 'BAD_FRAME';
  return undefined;
}

describe('fuzz: decodeMessage', () => {
  it(`survives ${DECODE_CASES.toLocaleString('en')} random and mutated frames of every kind`, async () => {
    const rng = createRng(deriveSeed(FUZZ_SEED, 1));
    const valid = samples(rng, 6);
    const outcomes = new Tally();
    const mutatorsSeen = new Tally();
    // Warm up (JIT, lazily built tables) before taking the baseline.
    for (const bytes of valid) decodeMessage(bytes);
    const heapBefore = heapAfterGc();
    for (let index = 0; index < DECODE_CASES; index++) {
      await breathe(index);
      const limits = index % 4 === 3 ? TIGHT_LIMITS : DEFAULT_LIMITS;
      let c: FuzzCase & { input: Uint8Array };
      if (index % 10 === 0) {
        // Random frames, most of them with a real tag so that the body parsers are reached.
        const input = randomBytes(rng, int(rng, 320));
        if (input.length > 0 && rng.next() < 0.7) input[0] = 1 + int(rng, MESSAGE_KINDS.length);
        c = { suite: 'decode', index, input };
      } else {
        const { bytes, steps } = mutate(rng, pick(rng, valid), pick(rng, valid));
        for (const s of steps) mutatorsSeen.add(s);
        c = { suite: 'decode', index, input: bytes, steps };
      }
      outcomes.add(decodeCase(c, limits));
    }
    const heapGrowth = heapAfterGc() - heapBefore;

    expect(outcomes.total()).toBe(DECODE_CASES);
    // Coverage: mutants of every kind still decode (the fuzzer reaches every body parser's end), and both
    // rejection codes occur.
    for (const kind of MESSAGE_KINDS) expect(outcomes.get(kind), `mutants decoded as ${kind}`).toBeGreaterThan(0);
    expect(outcomes.get('BAD_FRAME')).toBeGreaterThan(DECODE_CASES / 4);
    expect(outcomes.get('TOO_BIG')).toBeGreaterThan(100);
    expect(mutatorsSeen.keys()).toEqual(Object.keys(MUTATORS).sort());
    expect(heapGrowth).toBeLessThan(MAX_HEAP_GROWTH_BYTES);
  });

  it('replays every valid sample exactly (the oracle itself holds on good input)', () => {
    const rng = createRng(deriveSeed(FUZZ_SEED, 2));
    for (const [index, input] of samples(rng, 3).entries()) {
      expect(decodeCase({ suite: 'decode-valid', index, input }, DEFAULT_LIMITS)).not.toMatch(/^[A-Z_]+$/);
    }
  });
});

describe('fuzz: SecureSession.open', () => {
  it(`refuses ${OPEN_CASES.toLocaleString('en')} mutated, replayed, reordered and random sealed frames with the predicted code`, async () => {
    const rng = createRng(deriveSeed(FUZZ_SEED, 3));
    const plaintexts = samples(rng, 2);
    const outcomes = new Tally();
    const heapBefore = heapAfterGc();
    for (let index = 0; index < OPEN_CASES; index++) {
      await breathe(index);
      const k1 = randomBytes(rng, 32);
      const k2 = randomBytes(rng, 32);
      const client = new SecureSession(k1, k2);
      const server = new SecureSession(k2, k1);
      // Advance both counters by a few good frames, so that counters other than 0 are exercised.
      const earlier: Uint8Array[] = [];
      for (let n = int(rng, 3); n > 0; n--) {
        const f = client.seal(pick(rng, plaintexts));
        server.open(f);
        earlier.push(f);
      }
      const plaintext = pick(rng, plaintexts);
      const frame = client.seal(plaintext);
      const kind = int(rng, 10);
      let input: Uint8Array;
      let steps: string[] = [];
      let expected: ErrorCode | 'ok';
      if (kind === 0 && earlier.length > 0) {
        input = pick(rng, earlier);
        steps = ['replay'];
        expected = 'REPLAY';
      } else if (kind === 1) {
        input = client.seal(pick(rng, plaintexts)); // the frame after next: `frame` was never delivered
        steps = ['reorder'];
        expected = 'REPLAY';
      } else if (kind === 2) {
        input = randomBytes(rng, int(rng, 80));
        if (input.length >= 2 && rng.next() < 0.7) input.set([CHANNEL_VERSION, FRAME_SEALED]);
        steps = ['random'];
        expected = sameBytes(input, frame) ? 'ok' : expectedOpenCode(input);
      } else {
        ({ bytes: input, steps } = mutate(rng, frame, pick(rng, plaintexts)));
        expected = sameBytes(input, frame) ? 'ok' : expectedOpenCode(input);
      }
      const c: FuzzCase = { suite: 'open', index, input, steps };
      try {
        const opened = server.open(input);
        if (expected !== 'ok') failCase(c, `opened, expected ${expected}`);
        if (!sameBytes(opened, plaintext)) failCase(c, 'opened to different plaintext');
        outcomes.add('ok');
        continue;
      } catch (err) {
        const code = expectRejection(c, err, ['BAD_FRAME', 'UNSUPPORTED', 'DECRYPT_FAILED', 'REPLAY']);
        if (code !== expected) failCase(c, `rejected with ${code}, expected ${expected}`);
        outcomes.add(code);
      }
      // A failed session stays failed: even the genuine next frame is refused, with the same code.
      try {
        server.open(frame);
        failCase({ ...c, suite: 'open-poisoned' }, 'a poisoned session opened a frame');
      } catch (err) {
        expect(err instanceof FedwardenError && err.code).toBe(expected);
      }
    }
    const heapGrowth = heapAfterGc() - heapBefore;
    for (const code of ['ok', 'BAD_FRAME', 'UNSUPPORTED', 'DECRYPT_FAILED', 'REPLAY']) expect(outcomes.get(code), code).toBeGreaterThan(0);
    expect(heapGrowth).toBeLessThan(MAX_HEAP_GROWTH_BYTES);
  });
});

describe('fuzz: ServerHandshake.accept', () => {
  const identity = generateKemKeyPair();
  const pin = fingerprint(identity.publicKey);

  it(`refuses ${ACCEPT_CHEAP_CASES.toLocaleString('en')} random and reshaped clientKex frames before decapsulating`, async () => {
    const rng = createRng(deriveSeed(FUZZ_SEED, 4));
    const { kexFrame } = clientHandshake(new ServerHandshake(identity).helloFrame, pin);
    const outcomes = new Tally();
    const heapBefore = heapAfterGc();
    for (let index = 0; index < ACCEPT_CHEAP_CASES; index++) {
      await breathe(index);
      let input: Uint8Array;
      let steps: string[];
      const kind = int(rng, 4);
      if (kind === 0) {
        input = randomBytes(rng, int(rng, 2 * CLIENT_KEX_BYTES));
        if (input.length >= 2 && rng.next() < 0.5) input.set([CHANNEL_VERSION, FRAME_CLIENT_KEX]);
        steps = ['random'];
      } else if (kind === 1) {
        const header = randomBytes(rng, 2);
        input = concat(header, kexFrame.subarray(2));
        steps = ['header'];
      } else {
        // Length-changing mutations only: a frame of the right length and header goes on to ML-KEM (next test).
        const name = pick(rng, ['truncate', 'extend', 'insertOrDelete', 'splice'] as const);
        input = MUTATORS[name]!(rng, kexFrame, randomBytes(rng, int(rng, 64)));
        steps = [name];
      }
      const expected = expectedAcceptCode(input);
      const c: FuzzCase = { suite: 'accept', index, input, steps };
      if (expected === undefined) continue; // would decapsulate: left to the next test's budget
      try {
        new ServerHandshake(identity).accept(input);
        failCase(c, `accepted, expected ${expected}`);
      } catch (err) {
        const code = expectRejection(c, err, ['BAD_FRAME', 'UNSUPPORTED']);
        if (code !== expected) failCase(c, `rejected with ${code}, expected ${expected}`);
        outcomes.add(code);
      }
    }
    expect(outcomes.total()).toBeGreaterThan(ACCEPT_CHEAP_CASES * 0.95);
    expect(outcomes.get('UNSUPPORTED')).toBeGreaterThan(0);
    expect(outcomes.get('BAD_FRAME')).toBeGreaterThan(0);
    expect(heapAfterGc() - heapBefore).toBeLessThan(MAX_HEAP_GROWTH_BYTES);
  });

  it(`derives a useless session from ${ACCEPT_KEX_CASES} tampered key exchanges, and refuses a second accept`, async () => {
    const rng = createRng(deriveSeed(FUZZ_SEED, 5));
    const hello = encodeMessage({
      kind: 'hello',
      version: PROTOCOL_VERSION,
      token: 'fuzz',
      manifest: { entries: [{ name: 'w', shape: [1], init: { kind: 'zeros' } }] },
      identityKey: new Uint8Array(IDENTITY_KEY_BYTES),
    });
    const outcomes = new Tally();
    for (let index = 0; index < ACCEPT_KEX_CASES; index++) {
      await breathe(index);
      const server = new ServerHandshake(identity);
      const { kexFrame, session: client } = clientHandshake(server.helloFrame, pin);
      let input: Uint8Array;
      let steps: string[];
      if (rng.next() < 0.75) {
        // Same length, header kept: the tampering reaches ML-KEM (nonce or ciphertext bytes).
        const name = pick(rng, ['bitFlips', 'interestingBytes', 'lengthField', 'float64'] as const);
        input = concat(kexFrame.subarray(0, 2), MUTATORS[name]!(rng, kexFrame.subarray(2), kexFrame));
        steps = [name];
      } else {
        ({ bytes: input, steps } = mutate(rng, kexFrame, randomBytes(rng, int(rng, 64))));
      }
      const c: FuzzCase = { suite: 'accept-kex', index, input, steps };
      const expected = expectedAcceptCode(input);
      let session: SecureSession;
      try {
        session = server.accept(input);
      } catch (err) {
        const code = expectRejection(c, err, ['BAD_FRAME', 'UNSUPPORTED']);
        if (code !== expected) failCase(c, `rejected with ${code}, expected ${expected ?? 'a session'}`);
        outcomes.add(code);
        continue;
      }
      if (expected !== undefined) failCase(c, `accepted, expected ${expected}`);
      // ML-KEM's implicit rejection: a tampered ciphertext or nonce yields a session, but not the client's.
      const intact = sameBytes(input, kexFrame);
      try {
        session.open(client.seal(hello));
        if (!intact) failCase(c, 'a tampered key exchange produced the client\'s session');
        outcomes.add('intact');
      } catch (err) {
        if (intact) failCase(c, `the genuine key exchange failed: ${String(err)}`);
        expectRejection(c, err, ['DECRYPT_FAILED']);
        outcomes.add('DECRYPT_FAILED');
      }
      try {
        server.accept(kexFrame);
        failCase(c, 'a handshake accepted twice');
      } catch (err) {
        expectRejection(c, err, ['UNEXPECTED_MESSAGE']);
      }
    }
    expect(outcomes.get('DECRYPT_FAILED')).toBeGreaterThan(ACCEPT_KEX_CASES / 2);
    expect(outcomes.get('BAD_FRAME') + outcomes.get('UNSUPPORTED')).toBeGreaterThan(0);
  });
});
