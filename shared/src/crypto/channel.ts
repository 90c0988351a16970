/**
 * The post-quantum channel between participant and coordinator (channel version 2): a one-round-trip key
 * exchange with two ML-KEM-768 (FIPS 203) encapsulations, one to the coordinator's pinned long-term key and one
 * to a key pair it draws for this connection alone; HKDF-SHA256 (RFC 5869) over both shared secrets and the
 * handshake transcript; then AES-256-GCM frames with a per-direction key and counter nonce.
 *
 *   coordinator → participant  serverHello  [2, 1] serverNonce(32) ek_lt(1184) ek_eph(1184)
 *   participant → coordinator  clientKex    [2, 2] clientNonce(32) c_lt(1088) c_eph(1088)
 *   either direction           sealed       [2, 3] counter(u64 LE) AES-256-GCM(ciphertext || tag)
 *
 * transcriptHash = SHA-256(LABEL_HANDSHAKE || serverHello || clientKex), so the keys are bound to the version,
 * both nonces, both public keys and both ciphertexts; IKM = K_lt || K_eph (kdf.ts deriveChannelKeys). The AAD of
 * a sealed frame is its first 10 bytes; its nonce is counterNonce(counter). A receiver accepts exactly the next
 * counter, so a replayed, reordered, dropped or tampered frame fails and the session refuses all further use.
 *
 * Why two encapsulations (the KEM-authenticated handshake of KEMTLS, Schwabe–Stebila–Wiggers, CCS 2020): K_lt
 * authenticates the coordinator, since only the holder of the pinned key's secret can decapsulate c_lt; K_eph
 * gives forward secrecy, since dk_eph is wiped once accept() has run (or the connection closes), so a long-term
 * key stolen later opens no recorded session. Substituting ek_eph or either ciphertext in transit changes the
 * transcript, so both sides derive different keys and the first sealed frame fails.
 * Not hybrid with X25519: authentication already rests on ML-KEM alone, so a classical share would only hedge a
 * passive recording against a break of ML-KEM; deployments that want it put TLS (X25519MLKEM768) in front. The
 * version byte leaves room for it. Version 1 (one encapsulation to the long-term key) is refused as UNSUPPORTED.
 *
 * Limits: the participant authenticates the coordinator (by pin), not the reverse (the hello token does that
 * inside the channel); it cannot check that the coordinator really discards dk_eph. JavaScript cannot promise
 * that no copy of a wiped secret lingers in the heap. ML-KEM implicit rejection means a tampered clientKex is
 * detected only when the first sealed frame fails to open. The coordinator draws a key pair per connection before
 * the peer has sent anything (cheaper than a decapsulation; maxConnections bounds how many are held at once, not
 * how fast new ones arrive). Nothing here logs.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { FedwardenError, toFedwardenError } from '../errors.ts';
import { AES256_GCM_TAG_BYTES, aeadOpen, aeadSeal, counterNonce } from './aead.ts';
import { assertAnyBytes } from './assert-bytes.ts';
import { CHANNEL_KEY_BYTES, type ChannelKeys, LABEL_HANDSHAKE, deriveChannelKeys } from './kdf.ts';
import {
  type Encapsulation,
  type KemKeyPair,
  ML_KEM768_CIPHERTEXT_BYTES,
  ML_KEM768_PUBLIC_KEY_BYTES,
  ML_KEM768_SECRET_KEY_BYTES,
  ML_KEM_KEYGEN_SEED_BYTES,
  decapsulate,
  encapsulate,
  generateKemKeyPair,
  normalizeFingerprint,
} from './kem.ts';

/**
 * Byte 0 of every channel frame. 1: one encapsulation to the long-term key (no forward secrecy), retired;
 * 2: long-term and ephemeral encapsulations. The messages inside sealed frames are versioned apart
 * (protocol/messages.ts PROTOCOL_VERSION).
 */
export const CHANNEL_VERSION = 2;

export const FRAME_SERVER_HELLO = 1;
export const FRAME_CLIENT_KEX = 2;
export const FRAME_SEALED = 3;

/** [version, frame type]. */
export const FRAME_HEADER_BYTES = 2;
export const HANDSHAKE_NONCE_BYTES = 32;
/** Header and u64 counter: the AAD of a sealed frame. */
export const SEALED_PREFIX_BYTES = FRAME_HEADER_BYTES + 8;
/** Offsets in serverHello of the long-term and the ephemeral encapsulation keys. */
export const SERVER_HELLO_LONG_TERM_KEY_OFFSET = FRAME_HEADER_BYTES + HANDSHAKE_NONCE_BYTES;
export const SERVER_HELLO_EPHEMERAL_KEY_OFFSET = SERVER_HELLO_LONG_TERM_KEY_OFFSET + ML_KEM768_PUBLIC_KEY_BYTES;
export const SERVER_HELLO_BYTES = SERVER_HELLO_EPHEMERAL_KEY_OFFSET + ML_KEM768_PUBLIC_KEY_BYTES;
/** Offsets in clientKex of the ciphertexts to the long-term and to the ephemeral key. */
export const CLIENT_KEX_LONG_TERM_CIPHERTEXT_OFFSET = FRAME_HEADER_BYTES + HANDSHAKE_NONCE_BYTES;
export const CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET = CLIENT_KEX_LONG_TERM_CIPHERTEXT_OFFSET + ML_KEM768_CIPHERTEXT_BYTES;
export const CLIENT_KEX_BYTES = CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET + ML_KEM768_CIPHERTEXT_BYTES;
/** Bytes a sealed frame adds to its plaintext. */
export const SEALED_OVERHEAD_BYTES = SEALED_PREFIX_BYTES + AES256_GCM_TAG_BYTES;

const MAX_COUNTER = (1n << 64n) - 1n;

/** The frame type byte, or undefined when the frame is too short to have a header. Does not check the version. */
export function frameType(frame: Uint8Array): number | undefined {
  return frame instanceof Uint8Array && frame.length >= FRAME_HEADER_BYTES ? frame[1] : undefined;
}

/** Header check shared by all frames: version first (UNSUPPORTED), then type and length (BAD_FRAME). */
function checkFrame(fn: string, frame: Uint8Array, type: number, exactLength?: number): void {
  assertAnyBytes(frame, fn, 'frame');
  if (frame.length < FRAME_HEADER_BYTES) throw new FedwardenError('BAD_FRAME', `${fn}: truncated header`);
  if (frame[0] !== CHANNEL_VERSION) {
    throw new FedwardenError('UNSUPPORTED', `${fn}: channel version ${frame[0]}, expected ${CHANNEL_VERSION}`);
  }
  if (frame[1] !== type) throw new FedwardenError('BAD_FRAME', `${fn}: frame type ${frame[1]}, expected ${type}`);
  if (exactLength !== undefined && frame.length !== exactLength) {
    throw new FedwardenError('BAD_FRAME', `${fn}: wrong frame length (expected ${exactLength} bytes, got ${frame.length})`);
  }
}

function transcriptHash(serverHello: Uint8Array, clientKex: Uint8Array): Uint8Array {
  return sha256.create().update(utf8ToBytes(LABEL_HANDSHAKE)).update(serverHello).update(clientKex).digest();
}

/**
 * An established channel: seals outgoing frames and opens incoming ones, each direction with its own key and
 * counter. After any failure to open it is poisoned: every later open or seal throws the same code.
 */
export class SecureSession {
  readonly #sendKey: Uint8Array;
  readonly #receiveKey: Uint8Array;
  #sendCounter = 0n;
  #receiveCounter = 0n;
  #failure: FedwardenError | undefined;

  /** Made by the handshake; keys are copied, so the caller wipes its own. */
  constructor(sendKey: Uint8Array, receiveKey: Uint8Array) {
    if (!(sendKey instanceof Uint8Array) || sendKey.length !== CHANNEL_KEY_BYTES) {
      throw new FedwardenError('INTERNAL', 'SecureSession: wrong sendKey length');
    }
    if (!(receiveKey instanceof Uint8Array) || receiveKey.length !== CHANNEL_KEY_BYTES) {
      throw new FedwardenError('INTERNAL', 'SecureSession: wrong receiveKey length');
    }
    this.#sendKey = sendKey.slice();
    this.#receiveKey = receiveKey.slice();
  }

  /** Encrypt one message into a sealed frame. */
  seal(plaintext: Uint8Array): Uint8Array {
    this.#checkUsable('seal');
    assertAnyBytes(plaintext, 'seal', 'plaintext', 'INTERNAL');
    const counter = this.#sendCounter;
    if (counter > MAX_COUNTER) throw new FedwardenError('INTERNAL', 'seal: frame counter exhausted');
    const frame = new Uint8Array(SEALED_OVERHEAD_BYTES + plaintext.length);
    frame[0] = CHANNEL_VERSION;
    frame[1] = FRAME_SEALED;
    new DataView(frame.buffer).setBigUint64(FRAME_HEADER_BYTES, counter, true);
    const aad = frame.subarray(0, SEALED_PREFIX_BYTES);
    frame.set(aeadSeal(this.#sendKey, counterNonce(counter), plaintext, aad), SEALED_PREFIX_BYTES);
    this.#sendCounter = counter + 1n;
    return frame;
  }

  /** Verify and decrypt the next sealed frame from the peer. */
  open(frame: Uint8Array): Uint8Array {
    this.#checkUsable('open');
    try {
      checkFrame('open', frame, FRAME_SEALED);
      if (frame.length < SEALED_OVERHEAD_BYTES) throw new FedwardenError('BAD_FRAME', 'open: truncated sealed frame');
      const counter = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getBigUint64(FRAME_HEADER_BYTES, true);
      // Authenticate before judging the counter, so a forged counter reads as tampering, not as a replay.
      const plaintext = aeadOpen(
        this.#receiveKey,
        counterNonce(counter),
        frame.subarray(SEALED_PREFIX_BYTES),
        frame.subarray(0, SEALED_PREFIX_BYTES),
      );
      const expected = this.#receiveCounter;
      if (counter !== expected) {
        plaintext.fill(0);
        const what = counter < expected ? 'replayed frame' : 'reordered or dropped frame';
        throw new FedwardenError('REPLAY', `open: ${what} (counter ${counter}, expected ${expected})`);
      }
      this.#receiveCounter = expected + 1n;
      return plaintext;
    } catch (err) {
      const failure = toFedwardenError(err);
      this.#poison(failure);
      throw failure;
    }
  }

  /** Wipe both keys; the session refuses all further use. */
  close(): void {
    this.#poison(new FedwardenError('GOING_AWAY', 'session closed'));
  }

  /** True once the session has failed or been closed. */
  get closed(): boolean {
    return this.#failure !== undefined;
  }

  #checkUsable(fn: string): void {
    const failure = this.#failure;
    if (failure) throw new FedwardenError(failure.code, `${fn}: session unusable after ${failure.code}`, { cause: failure });
  }

  #poison(failure: FedwardenError): void {
    this.#failure ??= failure;
    this.#sendKey.fill(0);
    this.#receiveKey.fill(0);
  }
}

/** A key pair for one connection: keygen from a seed we can wipe, rather than one drawn inside the library. */
function ephemeralKeyPair(): KemKeyPair {
  const seed = randomBytes(ML_KEM_KEYGEN_SEED_BYTES);
  try {
    return generateKemKeyPair(seed);
  } finally {
    seed.fill(0);
  }
}

/**
 * Coordinator side of one handshake: send `helloFrame`, then `accept` the participant's clientKex exactly once.
 * The identity is the coordinator's long-term key pair; it is read, never wiped. The ephemeral secret key is
 * wiped by the first accept(), whatever its outcome, or by dispose() for a connection that closes before one.
 */
export class ServerHandshake {
  readonly helloFrame: Uint8Array;
  readonly #secretKey: Uint8Array;
  readonly #ephemeralSecretKey: Uint8Array;
  #accepted = false;

  constructor(identity: KemKeyPair) {
    if (identity?.publicKey?.length !== ML_KEM768_PUBLIC_KEY_BYTES) {
      throw new FedwardenError('BAD_CONFIG', 'ServerHandshake: wrong identity publicKey length');
    }
    if (identity.secretKey?.length !== ML_KEM768_SECRET_KEY_BYTES) {
      throw new FedwardenError('BAD_CONFIG', 'ServerHandshake: wrong identity secretKey length');
    }
    this.#secretKey = identity.secretKey;
    const ephemeral = ephemeralKeyPair();
    this.#ephemeralSecretKey = ephemeral.secretKey;
    const hello = new Uint8Array(SERVER_HELLO_BYTES);
    hello[0] = CHANNEL_VERSION;
    hello[1] = FRAME_SERVER_HELLO;
    hello.set(randomBytes(HANDSHAKE_NONCE_BYTES), FRAME_HEADER_BYTES);
    hello.set(identity.publicKey, SERVER_HELLO_LONG_TERM_KEY_OFFSET);
    hello.set(ephemeral.publicKey, SERVER_HELLO_EPHEMERAL_KEY_OFFSET);
    this.helloFrame = hello;
  }

  /** Decapsulate both of the participant's ciphertexts and derive the session. */
  accept(clientKexFrame: Uint8Array): SecureSession {
    if (this.#accepted) throw new FedwardenError('UNEXPECTED_MESSAGE', 'accept: handshake already used');
    this.#accepted = true;
    let longTerm: Uint8Array | undefined;
    let ephemeral: Uint8Array | undefined;
    let keys: ChannelKeys | undefined;
    try {
      checkFrame('accept', clientKexFrame, FRAME_CLIENT_KEX, CLIENT_KEX_BYTES);
      longTerm = decapsulate(
        clientKexFrame.subarray(CLIENT_KEX_LONG_TERM_CIPHERTEXT_OFFSET, CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET),
        this.#secretKey,
      );
      ephemeral = decapsulate(clientKexFrame.subarray(CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET), this.#ephemeralSecretKey);
      keys = deriveChannelKeys({ longTerm, ephemeral }, transcriptHash(this.helloFrame, clientKexFrame));
      return new SecureSession(keys.serverToClient, keys.clientToServer);
    } finally {
      // One use only: from here on, the recorded handshake cannot be opened again, even with the long-term key.
      this.#ephemeralSecretKey.fill(0);
      longTerm?.fill(0);
      ephemeral?.fill(0);
      keys?.clientToServer.fill(0);
      keys?.serverToClient.fill(0);
    }
  }

  /** Wipe the ephemeral secret of a handshake that will not be accepted (the connection closed first). */
  dispose(): void {
    this.#accepted = true;
    this.#ephemeralSecretKey.fill(0);
  }
}

/**
 * Participant side: check the coordinator's long-term key against the pinned fingerprint (constant-time) before
 * doing anything with the frame, then encapsulate to both keys. Returns the clientKex frame to send and the
 * session.
 */
export function clientHandshake(
  serverHelloFrame: Uint8Array,
  pinnedFingerprint: string,
): { kexFrame: Uint8Array; session: SecureSession } {
  const pin = hexToBytes(normalizeFingerprint(pinnedFingerprint));
  checkFrame('clientHandshake', serverHelloFrame, FRAME_SERVER_HELLO, SERVER_HELLO_BYTES);
  const longTermKey = serverHelloFrame.subarray(SERVER_HELLO_LONG_TERM_KEY_OFFSET, SERVER_HELLO_EPHEMERAL_KEY_OFFSET);
  if (!timingSafeEqual(sha256(longTermKey), pin)) {
    throw new FedwardenError('FINGERPRINT_MISMATCH', 'clientHandshake: coordinator key does not match the pinned fingerprint');
  }
  let longTerm: Encapsulation | undefined;
  let ephemeral: Encapsulation | undefined;
  let keys: ChannelKeys | undefined;
  try {
    longTerm = encapsulate(longTermKey);
    // An ek_eph that fails the FIPS 203 modulus check was not sent by the coordinator: BAD_FRAME.
    ephemeral = encapsulate(serverHelloFrame.subarray(SERVER_HELLO_EPHEMERAL_KEY_OFFSET));
    const kexFrame = new Uint8Array(CLIENT_KEX_BYTES);
    kexFrame[0] = CHANNEL_VERSION;
    kexFrame[1] = FRAME_CLIENT_KEX;
    kexFrame.set(randomBytes(HANDSHAKE_NONCE_BYTES), FRAME_HEADER_BYTES);
    kexFrame.set(longTerm.cipherText, CLIENT_KEX_LONG_TERM_CIPHERTEXT_OFFSET);
    kexFrame.set(ephemeral.cipherText, CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET);
    keys = deriveChannelKeys(
      { longTerm: longTerm.sharedSecret, ephemeral: ephemeral.sharedSecret },
      transcriptHash(serverHelloFrame, kexFrame),
    );
    return { kexFrame, session: new SecureSession(keys.clientToServer, keys.serverToClient) };
  } finally {
    longTerm?.sharedSecret.fill(0);
    ephemeral?.sharedSecret.fill(0);
    keys?.clientToServer.fill(0);
    keys?.serverToClient.fill(0);
  }
}
