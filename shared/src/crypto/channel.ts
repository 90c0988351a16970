/**
 * The post-quantum channel between participant and coordinator: a one-round-trip ML-KEM-768 (FIPS 203) key
 * exchange to the coordinator's pinned long-term key, HKDF-SHA256 (RFC 5869) over the shared secret and the
 * handshake transcript, then AES-256-GCM frames with a per-direction key and counter nonce.
 *
 *   coordinator → participant  serverHello  [1, 1] serverNonce(32) ek(1184)
 *   participant → coordinator  clientKex    [1, 2] clientNonce(32) c(1088)
 *   either direction           sealed       [1, 3] counter(u64 LE) AES-256-GCM(ciphertext || tag)
 *
 * transcriptHash = SHA-256("fedwarden/v1/handshake" || serverHello || clientKex); the AAD of a sealed frame is
 * its first 10 bytes (header and counter); its nonce is counterNonce(counter). A receiver accepts exactly the
 * next counter, so a replayed, reordered, dropped or tampered frame fails, and the session refuses all further
 * use: the caller closes the connection with the error's code.
 *
 * Limits, by design: the participant authenticates the coordinator (by pin), not the reverse (the hello token
 * does that inside the channel). The coordinator's key is long-term, so there is no forward secrecy against
 * a later theft of that key. ML-KEM implicit rejection means a tampered clientKex is detected only when the
 * first sealed frame fails to open. Nothing here logs.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { FedwardenError, toFedwardenError } from '../errors.ts';
import { PROTOCOL_VERSION } from '../protocol/messages.ts';
import { AES256_GCM_TAG_BYTES, aeadOpen, aeadSeal, counterNonce } from './aead.ts';
import { assertAnyBytes } from './assert-bytes.ts';
import { CHANNEL_KEY_BYTES, type ChannelKeys, LABEL_HANDSHAKE, deriveChannelKeys } from './kdf.ts';
import {
  type KemKeyPair,
  ML_KEM768_CIPHERTEXT_BYTES,
  ML_KEM768_PUBLIC_KEY_BYTES,
  ML_KEM768_SECRET_KEY_BYTES,
  decapsulate,
  encapsulate,
  normalizeFingerprint,
} from './kem.ts';

export const FRAME_SERVER_HELLO = 1;
export const FRAME_CLIENT_KEX = 2;
export const FRAME_SEALED = 3;

/** [version, frame type]. */
export const FRAME_HEADER_BYTES = 2;
export const HANDSHAKE_NONCE_BYTES = 32;
/** Header and u64 counter: the AAD of a sealed frame. */
export const SEALED_PREFIX_BYTES = FRAME_HEADER_BYTES + 8;
export const SERVER_HELLO_BYTES = FRAME_HEADER_BYTES + HANDSHAKE_NONCE_BYTES + ML_KEM768_PUBLIC_KEY_BYTES;
export const CLIENT_KEX_BYTES = FRAME_HEADER_BYTES + HANDSHAKE_NONCE_BYTES + ML_KEM768_CIPHERTEXT_BYTES;
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
  if (frame[0] !== PROTOCOL_VERSION) {
    throw new FedwardenError('UNSUPPORTED', `${fn}: protocol version ${frame[0]}, expected ${PROTOCOL_VERSION}`);
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
    frame[0] = PROTOCOL_VERSION;
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

/**
 * Coordinator side of one handshake: send `helloFrame`, then `accept` the participant's clientKex exactly once.
 * The identity is the coordinator's long-term key pair; it is read, never wiped.
 */
export class ServerHandshake {
  readonly helloFrame: Uint8Array;
  readonly #secretKey: Uint8Array;
  #accepted = false;

  constructor(identity: KemKeyPair) {
    if (identity?.publicKey?.length !== ML_KEM768_PUBLIC_KEY_BYTES) {
      throw new FedwardenError('BAD_CONFIG', 'ServerHandshake: wrong identity publicKey length');
    }
    if (identity.secretKey?.length !== ML_KEM768_SECRET_KEY_BYTES) {
      throw new FedwardenError('BAD_CONFIG', 'ServerHandshake: wrong identity secretKey length');
    }
    this.#secretKey = identity.secretKey;
    const hello = new Uint8Array(SERVER_HELLO_BYTES);
    hello[0] = PROTOCOL_VERSION;
    hello[1] = FRAME_SERVER_HELLO;
    hello.set(randomBytes(HANDSHAKE_NONCE_BYTES), FRAME_HEADER_BYTES);
    hello.set(identity.publicKey, FRAME_HEADER_BYTES + HANDSHAKE_NONCE_BYTES);
    this.helloFrame = hello;
  }

  /** Decapsulate the participant's ciphertext and derive the session. */
  accept(clientKexFrame: Uint8Array): SecureSession {
    if (this.#accepted) throw new FedwardenError('UNEXPECTED_MESSAGE', 'accept: handshake already used');
    this.#accepted = true;
    checkFrame('accept', clientKexFrame, FRAME_CLIENT_KEX, CLIENT_KEX_BYTES);
    const cipherText = clientKexFrame.subarray(FRAME_HEADER_BYTES + HANDSHAKE_NONCE_BYTES);
    let sharedSecret: Uint8Array | undefined;
    let keys: ChannelKeys | undefined;
    try {
      sharedSecret = decapsulate(cipherText, this.#secretKey);
      keys = deriveChannelKeys(sharedSecret, transcriptHash(this.helloFrame, clientKexFrame));
      return new SecureSession(keys.serverToClient, keys.clientToServer);
    } finally {
      sharedSecret?.fill(0);
      keys?.clientToServer.fill(0);
      keys?.serverToClient.fill(0);
    }
  }
}

/**
 * Participant side: check the coordinator's key against the pinned fingerprint (constant-time) before doing
 * anything with it, then encapsulate to it. Returns the clientKex frame to send and the session.
 */
export function clientHandshake(
  serverHelloFrame: Uint8Array,
  pinnedFingerprint: string,
): { kexFrame: Uint8Array; session: SecureSession } {
  const pin = hexToBytes(normalizeFingerprint(pinnedFingerprint));
  checkFrame('clientHandshake', serverHelloFrame, FRAME_SERVER_HELLO, SERVER_HELLO_BYTES);
  const publicKey = serverHelloFrame.subarray(FRAME_HEADER_BYTES + HANDSHAKE_NONCE_BYTES);
  if (!timingSafeEqual(sha256(publicKey), pin)) {
    throw new FedwardenError('FINGERPRINT_MISMATCH', 'clientHandshake: coordinator key does not match the pinned fingerprint');
  }
  const { cipherText, sharedSecret } = encapsulate(publicKey);
  let keys: ChannelKeys | undefined;
  try {
    const kexFrame = new Uint8Array(CLIENT_KEX_BYTES);
    kexFrame[0] = PROTOCOL_VERSION;
    kexFrame[1] = FRAME_CLIENT_KEX;
    kexFrame.set(randomBytes(HANDSHAKE_NONCE_BYTES), FRAME_HEADER_BYTES);
    kexFrame.set(cipherText, FRAME_HEADER_BYTES + HANDSHAKE_NONCE_BYTES);
    keys = deriveChannelKeys(sharedSecret, transcriptHash(serverHelloFrame, kexFrame));
    return { kexFrame, session: new SecureSession(keys.clientToServer, keys.serverToClient) };
  } finally {
    sharedSecret.fill(0);
    keys?.clientToServer.fill(0);
    keys?.serverToClient.fill(0);
  }
}
