/**
 * Forward secrecy of the channel (channel.ts): every byte of a session is recorded — both handshake frames and
 * the sealed frames both ways — and an attacker who later steals the coordinator's long-term secret key tries
 * to open it. It must fail. Two controls show the attack itself is sound: with the ephemeral secret key as well
 * the same routine opens every frame, and a session keyed as channel version 1 was (long-term secret only)
 * opens to the long-term key alone.
 *
 * generateKemKeyPair and encapsulate are wrapped (vi.mock) to keep a copy of each ephemeral secret for the
 * control, and a reference to check that the handshake wipes it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it, vi } from 'vitest';
import {
  CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET,
  CLIENT_KEX_LONG_TERM_CIPHERTEXT_OFFSET,
  SERVER_HELLO_EPHEMERAL_KEY_OFFSET,
  SecureSession,
  ServerHandshake,
  clientHandshake,
} from './channel.ts';
import { type ChannelKeys, KDF_LABELS, LABEL_C2S, LABEL_HANDSHAKE, LABEL_S2C, deriveChannelKeys, hkdfSha256 } from './kdf.ts';
import { decapsulate, encapsulate, fingerprint, generateKemKeyPair } from './kem.ts';

interface GeneratedPair {
  readonly publicKey: Uint8Array;
  /** The array the caller got: the handshake is expected to wipe it. */
  readonly secretKey: Uint8Array;
  /** Taken at generation: what an attacker holding the ephemeral key would know. */
  readonly secretKeyCopy: Uint8Array;
}

const seen = vi.hoisted(() => ({ pairs: [] as GeneratedPair[], secrets: [] as Uint8Array[] }));

vi.mock('./kem.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./kem.ts')>();
  return {
    ...actual,
    generateKemKeyPair: (seed?: Uint8Array) => {
      const pair = actual.generateKemKeyPair(seed);
      seen.pairs.push({ publicKey: pair.publicKey, secretKey: pair.secretKey, secretKeyCopy: pair.secretKey.slice() });
      return pair;
    },
    encapsulate: (publicKey: Uint8Array, m?: Uint8Array) => {
      const encapsulation = actual.encapsulate(publicKey, m);
      seen.secrets.push(encapsulation.sharedSecret);
      return encapsulation;
    },
  };
});

const identity = generateKemKeyPair();
const pin = fingerprint(identity.publicKey);

interface Recording {
  readonly serverHello: Uint8Array;
  readonly clientKex: Uint8Array;
  /** Sealed frames in the order they crossed the wire. */
  readonly sealed: readonly { readonly toCoordinator: boolean; readonly frame: Uint8Array }[];
  /** What the two ends said, in the same order (the test's ground truth, not the attacker's). */
  readonly plaintexts: readonly Uint8Array[];
}

function text(i: number): Uint8Array {
  return utf8ToBytes(`secret message ${i}: token fwt_${'x'.repeat(i)}`);
}

/** A whole session as a wire tap sees it: handshake, then sealed frames both ways, interleaved. */
function recordSession(handshake: ServerHandshake): Recording {
  const serverHello = handshake.helloFrame.slice();
  const { kexFrame, session: client } = clientHandshake(serverHello, pin);
  const server = handshake.accept(kexFrame);
  const sealed: { toCoordinator: boolean; frame: Uint8Array }[] = [];
  const plaintexts: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) {
    const toCoordinator = i % 3 !== 2;
    const [from, to] = toCoordinator ? [client, server] : [server, client];
    const frame = from.seal(text(i));
    expect(to.open(frame)).toEqual(text(i)); // the session works for its two ends
    sealed.push({ toCoordinator, frame });
    plaintexts.push(text(i));
  }
  return { serverHello, clientKex: kexFrame.slice(), sealed, plaintexts };
}

// ---- The attacker: only recorded bytes, public constants and whatever secret key it is handed. ----

function transcriptHash(r: Recording, label: string = LABEL_HANDSHAKE): Uint8Array {
  return sha256.create().update(utf8ToBytes(label)).update(r.serverHello).update(r.clientKex).digest();
}

function ciphertexts(r: Recording): { longTerm: Uint8Array; ephemeral: Uint8Array } {
  return {
    longTerm: r.clientKex.subarray(CLIENT_KEX_LONG_TERM_CIPHERTEXT_OFFSET, CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET),
    ephemeral: r.clientKex.subarray(CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET),
  };
}

/** Version 1's key schedule: HKDF over the long-term secret alone (what kdf.ts derived before forward secrecy). */
function version1Keys(longTermSecret: Uint8Array, th: Uint8Array): ChannelKeys {
  return { clientToServer: hkdfSha256(longTermSecret, th, LABEL_C2S, 32), serverToClient: hkdfSha256(longTermSecret, th, LABEL_S2C, 32) };
}

/** Every key schedule a holder of the long-term secret key alone can compute for a recorded session. */
function longTermOnlyGuesses(r: Recording, longTermSecretKey: Uint8Array): [string, ChannelKeys][] {
  const c = ciphertexts(r);
  const kLt = decapsulate(c.longTerm, longTermSecretKey);
  // Decapsulating c_eph under the wrong key is not an error (implicit rejection): it yields an unrelated secret.
  const kJunk = decapsulate(c.ephemeral, longTermSecretKey);
  const th = transcriptHash(r);
  return [
    ['version 1 schedule, K_lt only', version1Keys(kLt, th)],
    ['version 1 schedule and label, K_lt only', version1Keys(kLt, transcriptHash(r, KDF_LABELS.handshake))],
    ['K_lt and c_eph decapsulated under the long-term key', deriveChannelKeys({ longTerm: kLt, ephemeral: kJunk }, th)],
    ['K_lt and a zero ephemeral secret', deriveChannelKeys({ longTerm: kLt, ephemeral: new Uint8Array(32) }, th)],
    ['K_lt in both places', deriveChannelKeys({ longTerm: kLt, ephemeral: kLt }, th)],
  ];
}

/** Open the recorded sealed frames as their receivers would; returns the plaintexts that opened. */
function openRecording(r: Recording, keys: ChannelKeys): Uint8Array[] {
  const unused = new Uint8Array(32);
  const atCoordinator = new SecureSession(unused, keys.clientToServer);
  const atParticipant = new SecureSession(unused, keys.serverToClient);
  const opened: Uint8Array[] = [];
  for (const { toCoordinator, frame } of r.sealed) {
    try {
      opened.push((toCoordinator ? atCoordinator : atParticipant).open(frame));
    } catch {
      // DECRYPT_FAILED: the guess was wrong (and that direction's session is now poisoned).
    }
  }
  return opened;
}

function ephemeralPairOf(r: Recording): GeneratedPair {
  const ek = r.serverHello.subarray(SERVER_HELLO_EPHEMERAL_KEY_OFFSET);
  const pair = seen.pairs.find((p) => Buffer.from(p.publicKey).equals(Buffer.from(ek)));
  if (!pair) throw new Error('test: the ephemeral key pair of this session was not seen');
  return pair;
}

describe('forward secrecy: a recorded session and the coordinator\'s long-term secret key', () => {
  it('the long-term secret key alone opens no frame, in either direction', () => {
    const recording = recordSession(new ServerHandshake(identity));
    expect(recording.sealed.filter((s) => s.toCoordinator).length).toBeGreaterThan(0);
    expect(recording.sealed.filter((s) => !s.toCoordinator).length).toBeGreaterThan(0);
    for (const [guess, keys] of longTermOnlyGuesses(recording, identity.secretKey)) {
      expect(openRecording(recording, keys), guess).toEqual([]);
    }
  });

  it('control: with the ephemeral secret key as well, the same attacker opens every frame', () => {
    const recording = recordSession(new ServerHandshake(identity));
    const ephemeral = ephemeralPairOf(recording);
    const c = ciphertexts(recording);
    const keys = deriveChannelKeys(
      { longTerm: decapsulate(c.longTerm, identity.secretKey), ephemeral: decapsulate(c.ephemeral, ephemeral.secretKeyCopy) },
      transcriptHash(recording),
    );
    expect(openRecording(recording, keys)).toEqual(recording.plaintexts);
    // The ephemeral secret alone is not enough either: K_lt authenticates the coordinator and keys the session.
    const withoutLongTerm = deriveChannelKeys(
      { longTerm: new Uint8Array(32), ephemeral: decapsulate(c.ephemeral, ephemeral.secretKeyCopy) },
      transcriptHash(recording),
    );
    expect(openRecording(recording, withoutLongTerm)).toEqual([]);
  });

  it('control: a session keyed as version 1 was (long-term secret only) opens to the long-term key alone', () => {
    // Version 1 as it ran before this change: one encapsulation to the long-term key, keys from it and the
    // transcript. Built from the same public pieces, sealed by the real SecureSession.
    const v1Hello = new ServerHandshake(identity).helloFrame.slice(0, SERVER_HELLO_EPHEMERAL_KEY_OFFSET);
    v1Hello[0] = 1;
    const { cipherText, sharedSecret } = encapsulate(identity.publicKey);
    const v1Kex = new Uint8Array([1, 2, ...new Uint8Array(32).fill(7), ...cipherText]);
    const recording0: Recording = { serverHello: v1Hello, clientKex: v1Kex, sealed: [], plaintexts: [] };
    const keys = version1Keys(sharedSecret, transcriptHash(recording0, KDF_LABELS.handshake));
    const client = new SecureSession(keys.clientToServer, keys.serverToClient);
    const server = new SecureSession(keys.serverToClient, keys.clientToServer);
    const sealed = [0, 1, 2].map((i) => ({ toCoordinator: i !== 1, frame: (i !== 1 ? client : server).seal(text(i)) }));
    const recording: Recording = { ...recording0, sealed, plaintexts: [0, 1, 2].map(text) };

    // The attacker reads c_lt where version 1 put it (right after the nonce) and uses the long-term key only.
    const kLt = decapsulate(v1Kex.subarray(CLIENT_KEX_LONG_TERM_CIPHERTEXT_OFFSET), identity.secretKey);
    const opened = openRecording(recording, version1Keys(kLt, transcriptHash(recording, KDF_LABELS.handshake)));
    expect(opened).toEqual(recording.plaintexts);
  });
});

describe('forward secrecy: what is wiped', () => {
  it('the coordinator wipes its ephemeral secret key once the key exchange is accepted', () => {
    const handshake = new ServerHandshake(identity);
    const pair = ephemeralPairOf({ serverHello: handshake.helloFrame, clientKex: new Uint8Array(0), sealed: [], plaintexts: [] });
    expect(pair.secretKey.some((b) => b !== 0)).toBe(true);
    const { kexFrame } = clientHandshake(handshake.helloFrame, pin);
    handshake.accept(kexFrame);
    expect(pair.secretKey.every((b) => b === 0)).toBe(true);
    expect(identity.secretKey.some((b) => b !== 0)).toBe(true); // the long-term key is read, never wiped
  });

  it('…also when the key exchange is refused, and when the connection closes before one (dispose)', () => {
    const refused = new ServerHandshake(identity);
    const refusedPair = seen.pairs.at(-1)!;
    expect(() => refused.accept(new Uint8Array([2, 2, 0]))).toThrow();
    expect(refusedPair.secretKey.every((b) => b === 0)).toBe(true);

    const abandoned = new ServerHandshake(identity);
    const abandonedPair = seen.pairs.at(-1)!;
    abandoned.dispose();
    expect(abandonedPair.secretKey.every((b) => b === 0)).toBe(true);
    const { kexFrame } = clientHandshake(abandoned.helloFrame, pin);
    expect(() => abandoned.accept(kexFrame)).toThrow(/handshake already used/);
  });

  it('the participant wipes both shared secrets once the keys are derived', () => {
    const before = seen.secrets.length;
    clientHandshake(new ServerHandshake(identity).helloFrame, pin);
    const secrets = seen.secrets.slice(before);
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) expect(secret.every((b) => b === 0)).toBe(true);
  });

  it('the wrapped generator is the one the channel uses (else the tests above would prove nothing)', () => {
    const before = seen.pairs.length;
    const handshake = new ServerHandshake(identity);
    expect(seen.pairs.length).toBe(before + 1);
    expect(() => ephemeralPairOf({ serverHello: handshake.helloFrame, clientKex: new Uint8Array(0), sealed: [], plaintexts: [] })).not.toThrow();
  });
});
