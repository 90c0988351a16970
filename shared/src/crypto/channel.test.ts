import { describe, expect, it } from 'vitest';
import {
  CHANNEL_VERSION,
  CLIENT_KEX_BYTES,
  CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET,
  CLIENT_KEX_LONG_TERM_CIPHERTEXT_OFFSET,
  FRAME_CLIENT_KEX,
  FRAME_SEALED,
  FRAME_SERVER_HELLO,
  SEALED_OVERHEAD_BYTES,
  SERVER_HELLO_BYTES,
  SERVER_HELLO_EPHEMERAL_KEY_OFFSET,
  SERVER_HELLO_LONG_TERM_KEY_OFFSET,
  type SecureSession,
  ServerHandshake,
  clientHandshake,
  frameType,
} from './channel.ts';
import { ML_KEM768_CIPHERTEXT_BYTES, ML_KEM768_PUBLIC_KEY_BYTES, fingerprint, generateKemKeyPair } from './kem.ts';
import { codeOf } from '../test-support.ts';

const identity = generateKemKeyPair();
const pin = fingerprint(identity.publicKey);

function connect(): { client: SecureSession; server: SecureSession } {
  const handshake = new ServerHandshake(identity);
  const { kexFrame, session: client } = clientHandshake(handshake.helloFrame, pin);
  return { client, server: handshake.accept(kexFrame) };
}


/** The long-term and the ephemeral key a serverHello carries. */
function helloKeys(hello: Uint8Array): { longTerm: Uint8Array; ephemeral: Uint8Array } {
  return {
    longTerm: hello.subarray(SERVER_HELLO_LONG_TERM_KEY_OFFSET, SERVER_HELLO_EPHEMERAL_KEY_OFFSET),
    ephemeral: hello.subarray(SERVER_HELLO_EPHEMERAL_KEY_OFFSET),
  };
}

/** A copy of `frame` with one bit flipped at `index`. */
function flipped(frame: Uint8Array, index: number, bit = 1): Uint8Array {
  const out = frame.slice();
  out[index] = (out[index] ?? 0) ^ bit;
  return out;
}

function message(i: number): Uint8Array {
  return new TextEncoder().encode(`message ${i} `.repeat(1 + (i % 7)));
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).includes(Buffer.from(needle));
}

describe('handshake', () => {
  it('produces frames of the documented layout', () => {
    // serverHello [2, 1] nonce(32) ek_lt(1184) ek_eph(1184); clientKex [2, 2] nonce(32) c_lt(1088) c_eph(1088).
    expect(CHANNEL_VERSION).toBe(2);
    expect([SERVER_HELLO_LONG_TERM_KEY_OFFSET, SERVER_HELLO_EPHEMERAL_KEY_OFFSET, SERVER_HELLO_BYTES]).toEqual([34, 1218, 2402]);
    expect([CLIENT_KEX_LONG_TERM_CIPHERTEXT_OFFSET, CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET, CLIENT_KEX_BYTES]).toEqual([34, 1122, 2210]);
    const handshake = new ServerHandshake(identity);
    expect(handshake.helloFrame).toHaveLength(SERVER_HELLO_BYTES);
    expect(Array.from(handshake.helloFrame.subarray(0, 2))).toEqual([2, FRAME_SERVER_HELLO]);
    const keys = helloKeys(handshake.helloFrame);
    expect(keys.longTerm).toEqual(identity.publicKey);
    expect(keys.ephemeral).toHaveLength(ML_KEM768_PUBLIC_KEY_BYTES);
    expect(keys.ephemeral).not.toEqual(identity.publicKey);
    const { kexFrame } = clientHandshake(handshake.helloFrame, pin);
    expect(kexFrame).toHaveLength(CLIENT_KEX_BYTES);
    expect(Array.from(kexFrame.subarray(0, 2))).toEqual([2, FRAME_CLIENT_KEX]);
    expect(kexFrame.subarray(CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET)).toHaveLength(ML_KEM768_CIPHERTEXT_BYTES);
    expect(frameType(handshake.helloFrame)).toBe(FRAME_SERVER_HELLO);
    expect(frameType(kexFrame)).toBe(FRAME_CLIENT_KEX);
    expect(frameType(new Uint8Array(1))).toBeUndefined();
  });

  it('uses fresh nonces and a fresh ephemeral key per handshake, so two handshakes never share keys', () => {
    const a = new ServerHandshake(identity);
    const b = new ServerHandshake(identity);
    expect(a.helloFrame.subarray(2, 34)).not.toEqual(b.helloFrame.subarray(2, 34));
    expect(helloKeys(a.helloFrame).ephemeral).not.toEqual(helloKeys(b.helloFrame).ephemeral);
    // A clientKex recorded from one handshake, replayed into another, gives keys that open nothing.
    const { kexFrame, session: client } = clientHandshake(a.helloFrame, pin);
    const replayed = b.accept(kexFrame);
    expect(codeOf(() => replayed.open(client.seal(message(0))))).toBe('DECRYPT_FAILED');
  });

  it('accepts the pin in upper case and colon form', () => {
    const colons = pin.toUpperCase().match(/../g)?.join(':') ?? '';
    const handshake = new ServerHandshake(identity);
    const { kexFrame, session } = clientHandshake(handshake.helloFrame, colons);
    expect(handshake.accept(kexFrame).open(session.seal(message(1)))).toEqual(message(1));
  });

  it('refuses a coordinator key that does not match the pin, before encapsulating', () => {
    const impostor = new ServerHandshake(generateKemKeyPair());
    let result: unknown;
    const code = codeOf(() => {
      result = clientHandshake(impostor.helloFrame, pin);
    });
    expect(code).toBe('FINGERPRINT_MISMATCH');
    expect(result).toBeUndefined();
    // The same frame with the right pin for that key works, so the mismatch is the pin alone.
    expect(() => clientHandshake(impostor.helloFrame, fingerprint(helloKeys(impostor.helloFrame).longTerm))).not.toThrow();
  });

  it('refuses a malformed pin as BAD_CONFIG', () => {
    expect(codeOf(() => clientHandshake(new ServerHandshake(identity).helloFrame, 'not-a-fingerprint'))).toBe('BAD_CONFIG');
  });

  it('refuses malformed serverHello frames', () => {
    const hello = new ServerHandshake(identity).helloFrame;
    const wrongVersion = hello.slice();
    wrongVersion[0] = 3;
    const wrongType = hello.slice();
    wrongType[1] = FRAME_CLIENT_KEX;
    expect(codeOf(() => clientHandshake(wrongVersion, pin))).toBe('UNSUPPORTED');
    expect(codeOf(() => clientHandshake(wrongType, pin))).toBe('BAD_FRAME');
    expect(codeOf(() => clientHandshake(hello.subarray(0, hello.length - 1), pin))).toBe('BAD_FRAME');
    expect(codeOf(() => clientHandshake(new Uint8Array([...hello, 0]), pin))).toBe('BAD_FRAME');
    expect(codeOf(() => clientHandshake(new Uint8Array(1), pin))).toBe('BAD_FRAME');
  });

  it('refuses the version 1 handshake (one key, no forward secrecy) as UNSUPPORTED, whatever its length', () => {
    // Version 1 frames: serverHello [1, 1] nonce ek_lt; clientKex [1, 2] nonce c_lt.
    const hello = new ServerHandshake(identity).helloFrame;
    const v1Hello = Uint8Array.from(hello.subarray(0, SERVER_HELLO_EPHEMERAL_KEY_OFFSET), (b, i) => (i === 0 ? 1 : b));
    expect(codeOf(() => clientHandshake(v1Hello, pin))).toBe('UNSUPPORTED');
    const { kexFrame } = clientHandshake(hello, pin);
    const v1Kex = Uint8Array.from(kexFrame.subarray(0, CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET), (b, i) => (i === 0 ? 1 : b));
    const handshake = new ServerHandshake(identity);
    expect(codeOf(() => handshake.accept(v1Kex))).toBe('UNSUPPORTED');
    expect(codeOf(() => handshake.accept(kexFrame))).toBe('UNEXPECTED_MESSAGE'); // a refused kex uses the handshake up
  });

  it('refuses malformed clientKex frames', () => {
    const { kexFrame } = clientHandshake(new ServerHandshake(identity).helloFrame, pin);
    const cases: [Uint8Array, string][] = [
      [kexFrame.subarray(0, kexFrame.length - 1), 'BAD_FRAME'],
      [new Uint8Array([...kexFrame, 0]), 'BAD_FRAME'],
      [new Uint8Array(0), 'BAD_FRAME'],
      [Uint8Array.from(kexFrame, (b, i) => (i === 1 ? FRAME_SEALED : b)), 'BAD_FRAME'],
      [Uint8Array.from(kexFrame, (b, i) => (i === 0 ? 9 : b)), 'UNSUPPORTED'],
      [Uint8Array.from(kexFrame, (b, i) => (i === 0 ? 1 : b)), 'UNSUPPORTED'],
    ];
    for (const [frame, code] of cases) expect(codeOf(() => new ServerHandshake(identity).accept(frame))).toBe(code);
  });

  it('accepts one clientKex per handshake', () => {
    const handshake = new ServerHandshake(identity);
    const { kexFrame } = clientHandshake(handshake.helloFrame, pin);
    handshake.accept(kexFrame);
    expect(codeOf(() => handshake.accept(kexFrame))).toBe('UNEXPECTED_MESSAGE');
  });

  /** Neither side can open a single frame from the other: the handshake failed, whatever it returned. */
  function expectNoChannel(client: SecureSession, server: SecureSession, what: string): void {
    expect(codeOf(() => server.open(client.seal(message(0)))), `${what}: participant to coordinator`).toBe('DECRYPT_FAILED');
    expect(codeOf(() => client.open(server.seal(message(1)))), `${what}: coordinator to participant`).toBe('DECRYPT_FAILED');
  }

  it('a tampered clientKex (either ciphertext, or the nonce) is caught by the first sealed frame either way', () => {
    // ML-KEM implicit rejection turns a changed ciphertext into an unrelated secret; a changed nonce changes the
    // transcript. Either way the two sides derive different keys.
    const places: [string, number][] = [
      ['client nonce', 2 + 5],
      ['c_lt, first byte', CLIENT_KEX_LONG_TERM_CIPHERTEXT_OFFSET],
      ['c_lt, middle', 500],
      ['c_lt, last byte', CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET - 1],
      ['c_eph, first byte', CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET],
      ['c_eph, middle', CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET + 600],
      ['c_eph, last byte', CLIENT_KEX_BYTES - 1],
    ];
    for (const [what, index] of places) {
      const handshake = new ServerHandshake(identity);
      const { kexFrame, session: client } = clientHandshake(handshake.helloFrame, pin);
      expectNoChannel(client, handshake.accept(flipped(kexFrame, index)), what);
    }
    // Swapping the two ciphertexts is tampering too.
    const handshake = new ServerHandshake(identity);
    const { kexFrame, session: client } = clientHandshake(handshake.helloFrame, pin);
    const swapped = kexFrame.slice();
    swapped.set(kexFrame.subarray(CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET), CLIENT_KEX_LONG_TERM_CIPHERTEXT_OFFSET);
    swapped.set(
      kexFrame.subarray(CLIENT_KEX_LONG_TERM_CIPHERTEXT_OFFSET, CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET),
      CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET,
    );
    expectNoChannel(client, handshake.accept(swapped), 'ciphertexts swapped');
  });

  it('a tampered or substituted ephemeral key in the serverHello leaves no channel (the transcript binds it)', () => {
    // The last 32 bytes of an ML-KEM encapsulation key are its seed rho: any value is a valid key, so the
    // participant encapsulates to the changed key and only the transcript can catch it.
    for (const index of [SERVER_HELLO_BYTES - 1, SERVER_HELLO_BYTES - 32]) {
      const handshake = new ServerHandshake(identity);
      const { kexFrame, session: client } = clientHandshake(flipped(handshake.helloFrame, index), pin);
      expectNoChannel(client, handshake.accept(kexFrame), `ek_eph byte ${index}`);
    }
    // A man in the middle that swaps in an ephemeral key of its own knows K_eph, but not K_lt.
    const handshake = new ServerHandshake(identity);
    const substituted = handshake.helloFrame.slice();
    substituted.set(generateKemKeyPair().publicKey, SERVER_HELLO_EPHEMERAL_KEY_OFFSET);
    const { kexFrame, session: client } = clientHandshake(substituted, pin);
    expectNoChannel(client, handshake.accept(kexFrame), 'ek_eph substituted');
    // A changed coefficient that is no longer reduced mod q fails FIPS 203's check before any encapsulation.
    const unreduced = handshake.helloFrame.slice();
    unreduced.set([0xff, 0xff], SERVER_HELLO_EPHEMERAL_KEY_OFFSET);
    expect(codeOf(() => clientHandshake(unreduced, pin))).toBe('BAD_FRAME');
    // And a changed server nonce, through the transcript.
    const again = new ServerHandshake(identity);
    const { kexFrame: k2, session: c2 } = clientHandshake(flipped(again.helloFrame, 10), pin);
    expectNoChannel(c2, again.accept(k2), 'server nonce');
  });

  it('two ephemeral keys swapped between concurrent handshakes leave no channel', () => {
    const a = new ServerHandshake(identity);
    const b = new ServerHandshake(identity);
    const mixed = a.helloFrame.slice();
    mixed.set(helloKeys(b.helloFrame).ephemeral, SERVER_HELLO_EPHEMERAL_KEY_OFFSET);
    const { kexFrame, session: client } = clientHandshake(mixed, pin);
    expectNoChannel(client, a.accept(kexFrame), 'accepted by a');
    expectNoChannel(client, b.accept(kexFrame), 'accepted by b');
  });
});

describe('sealed frames', () => {
  it('carry many messages both ways, interleaved', () => {
    const { client, server } = connect();
    for (let i = 0; i < 200; i++) {
      expect(server.open(client.seal(message(i)))).toEqual(message(i));
      if (i % 3 === 0) expect(client.open(server.seal(message(i + 1000)))).toEqual(message(i + 1000));
    }
    // Bursts: several frames in flight in one direction, opened in order.
    const burst = Array.from({ length: 20 }, (_, i) => server.seal(message(i)));
    burst.forEach((frame, i) => expect(client.open(frame)).toEqual(message(i)));
    expect(server.open(client.seal(new Uint8Array(0)))).toEqual(new Uint8Array(0));
  });

  it('have the documented layout and overhead, and never contain the plaintext', () => {
    const { client } = connect();
    const plaintext = new TextEncoder().encode('a distinctive plaintext that must not appear on the wire');
    const first = client.seal(plaintext);
    const second = client.seal(plaintext);
    expect(first).toHaveLength(plaintext.length + SEALED_OVERHEAD_BYTES);
    expect(Array.from(first.subarray(0, 10))).toEqual([2, FRAME_SEALED, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(second.subarray(0, 10))).toEqual([2, FRAME_SEALED, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(frameType(first)).toBe(FRAME_SEALED);
    for (let i = 0; i + 8 <= plaintext.length; i++) {
      expect(contains(first, plaintext.subarray(i, i + 8))).toBe(false);
    }
    // Same plaintext, next counter: unrelated ciphertext.
    expect(first.subarray(10)).not.toEqual(second.subarray(10));
  });

  it('fail authentication when any single byte is flipped (header bytes fail as BAD_FRAME/UNSUPPORTED)', () => {
    const plaintext = message(3);
    const length = plaintext.length + SEALED_OVERHEAD_BYTES;
    for (let i = 0; i < length; i++) {
      const { client, server } = connect();
      const frame = client.seal(plaintext);
      frame[i] = (frame[i] ?? 0) ^ 0x80;
      const expected = i === 0 ? 'UNSUPPORTED' : i === 1 ? 'BAD_FRAME' : 'DECRYPT_FAILED';
      expect(codeOf(() => server.open(frame)), `byte ${i}`).toBe(expected);
    }
  });

  it('reject a replayed frame', () => {
    const { client, server } = connect();
    const frame = client.seal(message(1));
    expect(server.open(frame)).toEqual(message(1));
    expect(() => server.open(frame)).toThrow(/replayed frame \(counter 0, expected 1\)/);
    expect(codeOf(() => server.open(frame))).toBe('REPLAY');
  });

  it('reject two frames swapped, naming it a reorder', () => {
    const { client, server } = connect();
    const first = client.seal(message(1));
    const second = client.seal(message(2));
    expect(codeOf(() => server.open(second))).toBe('REPLAY');
    const { client: c2, server: s2 } = connect();
    c2.seal(message(1));
    expect(() => s2.open(c2.seal(message(2)))).toThrow(/reordered or dropped frame \(counter 1, expected 0\)/);
    expect(codeOf(() => server.open(first))).toBe('REPLAY'); // and the session stays closed
  });

  it('reject a dropped frame', () => {
    const { client, server } = connect();
    client.seal(message(1)); // lost
    expect(codeOf(() => server.open(client.seal(message(2))))).toBe('REPLAY');
  });

  it('reject a frame reflected back to its sender (directional keys)', () => {
    const { client } = connect();
    expect(codeOf(() => client.open(client.seal(message(1))))).toBe('DECRYPT_FAILED');
  });

  it('reject truncated frames and frames of the wrong type', () => {
    const { client, server } = connect();
    const frame = client.seal(message(1));
    expect(codeOf(() => server.open(frame.subarray(0, SEALED_OVERHEAD_BYTES - 1)))).toBe('BAD_FRAME');
    const { client: c2, server: s2 } = connect();
    const f2 = c2.seal(message(1));
    expect(codeOf(() => s2.open(f2.subarray(0, f2.length - 1)))).toBe('DECRYPT_FAILED');
    const { server: s3 } = connect();
    expect(codeOf(() => s3.open(new ServerHandshake(identity).helloFrame))).toBe('BAD_FRAME');
  });

  it('open frames that are views into a larger buffer (as ws delivers them)', () => {
    const { client, server } = connect();
    const frame = client.seal(message(5));
    const pool = new Uint8Array(frame.length + 7);
    pool.set(frame, 3);
    expect(server.open(pool.subarray(3, 3 + frame.length))).toEqual(message(5));
  });

  it('poison the session after any failure: every later open and seal throws', () => {
    const { client, server } = connect();
    const good = client.seal(message(1));
    const bad = good.slice();
    bad[20] = (bad[20] ?? 0) ^ 1;
    expect(codeOf(() => server.open(bad))).toBe('DECRYPT_FAILED');
    expect(server.closed).toBe(true);
    expect(codeOf(() => server.open(good))).toBe('DECRYPT_FAILED');
    expect(codeOf(() => server.seal(message(2)))).toBe('DECRYPT_FAILED');
  });

  it('refuse all use after close', () => {
    const { client } = connect();
    client.close();
    expect(codeOf(() => client.seal(message(1)))).toBe('GOING_AWAY');
  });
});
