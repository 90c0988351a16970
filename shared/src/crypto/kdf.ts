/**
 * HKDF-SHA256 (RFC 5869) over @noble/hashes, and fedwarden's domain-separation labels.
 *
 * Every key fedwarden derives uses its own label as HKDF `info` (RFC 5869 §3.2), so a key derived for one
 * purpose can never equal a key for another, even from the same secret. Labels are versioned; append new
 * ones to KDF_LABELS (pairwise secure-aggregation keys, share encryption…) and never change an existing one.
 *
 * Limits: output length is at most 255·HashLen = 8160 bytes (RFC 5869 §2.3).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { FedwardenError } from '../errors.ts';
import { assertAnyBytes, assertBytes } from './assert-bytes.ts';

/** HashLen for SHA-256. */
export const HKDF_SHA256_HASH_BYTES = 32;
/** RFC 5869 §2.3: L <= 255·HashLen. */
export const HKDF_SHA256_MAX_OUTPUT_BYTES = 255 * HKDF_SHA256_HASH_BYTES;
/** Length of each AEAD key derived for the channel. */
export const CHANNEL_KEY_BYTES = 32;

/** Domain-separation labels. Append only; each string is part of the protocol. */
export const KDF_LABELS = {
  /** Prefix of the transcript hash of the retired channel version 1 handshake (long-term key only). Never reuse. */
  handshake: 'fedwarden/v1/handshake',
  /** Channel key for frames from participant to coordinator. */
  channelC2S: 'fedwarden/v1/channel/c2s',
  /** Channel key for frames from coordinator to participant. */
  channelS2C: 'fedwarden/v1/channel/s2c',
  /** Secure aggregation: key || IV of the AES-128-CTR mask PRG, from a 32-byte mask seed (secagg/prg.ts). */
  secaggPrg: 'fedwarden/v1/secagg/prg',
  /** Secure aggregation: a member's ML-KEM-768 key-pair seed d || z for one round, from its pairwise master. */
  secaggKemSeed: 'fedwarden/v1/secagg/kem-seed',
  /** Secure aggregation: ML-KEM encapsulation randomness m from one member to one neighbour, from its pairwise master. */
  secaggEncaps: 'fedwarden/v1/secagg/encaps',
  /** Secure aggregation: the pairwise mask seed s_ij, from a KEM shared secret. */
  secaggPairMask: 'fedwarden/v1/secagg/pair-mask',
  /** Secure aggregation: a directional share-encryption key, from a KEM shared secret. */
  secaggShareKey: 'fedwarden/v1/secagg/share-key',
  /** Secure aggregation: AAD prefix of sealed Shamir shares (an AEAD context, not an HKDF info). */
  secaggShares: 'fedwarden/v1/secagg/shares',
  /** Prefix of the handshake transcript hash, channel version 2: long-term and ephemeral ML-KEM (channel.ts). */
  handshakeForwardSecret: 'fedwarden/v1/channel/handshake',
  /** The coordinator's secure-grouping key, from its long-term ML-KEM secret key (coordinator/src/secagg/grouping-key.ts). */
  secaggGrouping: 'fedwarden/v1/secagg/grouping',
} as const;

export type KdfLabel = (typeof KDF_LABELS)[keyof typeof KDF_LABELS];

export const LABEL_HANDSHAKE = KDF_LABELS.handshakeForwardSecret;
export const LABEL_C2S = KDF_LABELS.channelC2S;
export const LABEL_S2C = KDF_LABELS.channelS2C;

/** RFC 5869 §2.2 HKDF-Extract(salt, IKM) -> PRK. An empty salt means HashLen zero bytes. */
export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  assertAnyBytes(salt, 'hkdfExtract', 'salt', 'INTERNAL');
  assertAnyBytes(ikm, 'hkdfExtract', 'ikm', 'INTERNAL');
  return extract(sha256, ikm, salt);
}

/** RFC 5869 §2.3 HKDF-Expand(PRK, info, L) -> OKM; PRK is at least HashLen bytes. A string `info` is taken as its UTF-8 bytes. */
export function hkdfExpand(prk: Uint8Array, info: Uint8Array | string, length: number): Uint8Array {
  assertAnyBytes(prk, 'hkdfExpand', 'prk', 'INTERNAL');
  if (prk.length < HKDF_SHA256_HASH_BYTES) {
    throw new FedwardenError('INTERNAL', `hkdfExpand: prk must be at least ${HKDF_SHA256_HASH_BYTES} bytes`);
  }
  checkLength('hkdfExpand', length);
  return expand(sha256, prk, infoBytes('hkdfExpand', info), length);
}

/** RFC 5869 §2: HKDF = Expand(Extract(salt, IKM), info, L). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array | string, length: number): Uint8Array {
  assertAnyBytes(ikm, 'hkdfSha256', 'ikm', 'INTERNAL');
  assertAnyBytes(salt, 'hkdfSha256', 'salt', 'INTERNAL');
  checkLength('hkdfSha256', length);
  const prk = extract(sha256, ikm, salt);
  try {
    return expand(sha256, prk, infoBytes('hkdfSha256', info), length);
  } finally {
    prk.fill(0);
  }
}

export interface ChannelKeys {
  readonly clientToServer: Uint8Array;
  readonly serverToClient: Uint8Array;
}

/** The two ML-KEM shared secrets of one channel handshake (channel.ts), 32 bytes each. */
export interface ChannelSecrets {
  /** Encapsulated to the coordinator's pinned long-term key: only its holder can know it (authentication). */
  readonly longTerm: Uint8Array;
  /** Encapsulated to the coordinator's per-connection key, wiped after the handshake (forward secrecy). */
  readonly ephemeral: Uint8Array;
}

/**
 * The two directional AEAD keys of a channel: PRK = Extract(salt = transcriptHash, IKM = longTerm || ephemeral),
 * then one Expand per direction under its label. Concatenating the secrets under a transcript that holds every
 * public key and ciphertext is the combiner of TLS hybrid key exchange (draft-ietf-tls-hybrid-design §3.3): the
 * keys stay secret as long as either secret does. The caller wipes the returned keys when done.
 */
export function deriveChannelKeys(secrets: ChannelSecrets, transcriptHash: Uint8Array): ChannelKeys {
  assertBytes(secrets?.longTerm, 32, 'deriveChannelKeys', 'longTerm secret', 'INTERNAL');
  assertBytes(secrets.ephemeral, 32, 'deriveChannelKeys', 'ephemeral secret', 'INTERNAL');
  assertBytes(transcriptHash, HKDF_SHA256_HASH_BYTES, 'deriveChannelKeys', 'transcriptHash', 'INTERNAL');
  const ikm = new Uint8Array(64);
  ikm.set(secrets.longTerm, 0);
  ikm.set(secrets.ephemeral, 32);
  let prk: Uint8Array | undefined;
  try {
    prk = extract(sha256, ikm, transcriptHash);
    return {
      clientToServer: expand(sha256, prk, utf8ToBytes(LABEL_C2S), CHANNEL_KEY_BYTES),
      serverToClient: expand(sha256, prk, utf8ToBytes(LABEL_S2C), CHANNEL_KEY_BYTES),
    };
  } finally {
    ikm.fill(0);
    prk?.fill(0);
  }
}

function checkLength(fn: string, length: number): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > HKDF_SHA256_MAX_OUTPUT_BYTES) {
    throw new FedwardenError('INTERNAL', `${fn}: length must be an integer in 0..${HKDF_SHA256_MAX_OUTPUT_BYTES}`);
  }
}

function infoBytes(fn: string, info: Uint8Array | string): Uint8Array {
  if (typeof info === 'string') return utf8ToBytes(info);
  assertAnyBytes(info, fn, 'info', 'INTERNAL');
  return info;
}
