import { describe, expect, it } from 'vitest';
import {
  CLIENT_KEX_BYTES,
  FRAME_CLIENT_KEX,
  FRAME_SEALED,
  FRAME_SERVER_HELLO,
  SEALED_OVERHEAD_BYTES,
  SERVER_HELLO_BYTES,
  type SecureSession,
  ServerHandshake,
  clientHandshake,
  frameType,
} from './channel.ts';
import { fingerprint, generateKemKeyPair } from './kem.ts';
import { codeOf } from '../test-support.ts';

const identity = generateKemKeyPair();
const pin = fingerprint(identity.publicKey);

function connect(): { client: SecureSession; server: SecureSession } {
  const handshake = new ServerHandshake(identity);
  const { kexFrame, session: client } = clientHandshake(handshake.helloFrame, pin);
  return { client, server: handshake.accept(kexFrame) };
}


function message(i: number): Uint8Array {
  return new TextEncoder().encode(`message ${i} `.repeat(1 + (i % 7)));
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).includes(Buffer.from(needle));
}

describe('handshake', () => {
  it('produces frames of the documented layout', () => {
    const handshake = new ServerHandshake(identity);
    expect(handshake.helloFrame).toHaveLength(SERVER_HELLO_BYTES);
    expect(Array.from(handshake.helloFrame.subarray(0, 2))).toEqual([1, FRAME_SERVER_HELLO]);
    expect(handshake.helloFrame.subarray(34)).toEqual(identity.publicKey);
    const { kexFrame } = clientHandshake(handshake.helloFrame, pin);
    expect(kexFrame).toHaveLength(CLIENT_KEX_BYTES);
    expect(Array.from(kexFrame.subarray(0, 2))).toEqual([1, FRAME_CLIENT_KEX]);
    expect(frameType(handshake.helloFrame)).toBe(FRAME_SERVER_HELLO);
    expect(frameType(kexFrame)).toBe(FRAME_CLIENT_KEX);
    expect(frameType(new Uint8Array(1))).toBeUndefined();
  });

  it('uses fresh nonces, so two handshakes never share keys', () => {
    const a = new ServerHandshake(identity);
    const b = new ServerHandshake(identity);
    expect(a.helloFrame.subarray(2, 34)).not.toEqual(b.helloFrame.subarray(2, 34));
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
    expect(() => clientHandshake(impostor.helloFrame, fingerprint(impostor.helloFrame.subarray(34)))).not.toThrow();
  });

  it('refuses a malformed pin as BAD_CONFIG', () => {
    expect(codeOf(() => clientHandshake(new ServerHandshake(identity).helloFrame, 'not-a-fingerprint'))).toBe('BAD_CONFIG');
  });

  it('refuses malformed serverHello frames', () => {
    const hello = new ServerHandshake(identity).helloFrame;
    const wrongVersion = hello.slice();
    wrongVersion[0] = 2;
    const wrongType = hello.slice();
    wrongType[1] = FRAME_CLIENT_KEX;
    expect(codeOf(() => clientHandshake(wrongVersion, pin))).toBe('UNSUPPORTED');
    expect(codeOf(() => clientHandshake(wrongType, pin))).toBe('BAD_FRAME');
    expect(codeOf(() => clientHandshake(hello.subarray(0, hello.length - 1), pin))).toBe('BAD_FRAME');
    expect(codeOf(() => clientHandshake(new Uint8Array([...hello, 0]), pin))).toBe('BAD_FRAME');
    expect(codeOf(() => clientHandshake(new Uint8Array(1), pin))).toBe('BAD_FRAME');
  });

  it('refuses malformed clientKex frames', () => {
    const { kexFrame } = clientHandshake(new ServerHandshake(identity).helloFrame, pin);
    const cases: [Uint8Array, string][] = [
      [kexFrame.subarray(0, kexFrame.length - 1), 'BAD_FRAME'],
      [new Uint8Array([...kexFrame, 0]), 'BAD_FRAME'],
      [new Uint8Array(0), 'BAD_FRAME'],
      [Uint8Array.from(kexFrame, (b, i) => (i === 1 ? FRAME_SEALED : b)), 'BAD_FRAME'],
      [Uint8Array.from(kexFrame, (b, i) => (i === 0 ? 9 : b)), 'UNSUPPORTED'],
    ];
    for (const [frame, code] of cases) expect(codeOf(() => new ServerHandshake(identity).accept(frame))).toBe(code);
  });

  it('accepts one clientKex per handshake', () => {
    const handshake = new ServerHandshake(identity);
    const { kexFrame } = clientHandshake(handshake.helloFrame, pin);
    handshake.accept(kexFrame);
    expect(codeOf(() => handshake.accept(kexFrame))).toBe('UNEXPECTED_MESSAGE');
  });

  it('a tampered clientKex is caught by the first sealed frame (implicit rejection)', () => {
    const handshake = new ServerHandshake(identity);
    const { kexFrame, session: client } = clientHandshake(handshake.helloFrame, pin);
    const tampered = kexFrame.slice();
    tampered[500] = (tampered[500] ?? 0) ^ 1;
    const server = handshake.accept(tampered);
    expect(codeOf(() => server.open(client.seal(message(0))))).toBe('DECRYPT_FAILED');
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
    expect(Array.from(first.subarray(0, 10))).toEqual([1, FRAME_SEALED, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(second.subarray(0, 10))).toEqual([1, FRAME_SEALED, 1, 0, 0, 0, 0, 0, 0, 0]);
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
