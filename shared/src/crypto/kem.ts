/**
 * ML-KEM-768 key encapsulation (FIPS 203), a thin wrapper over @noble/post-quantum: we depend on the audited
 * implementation and only add length checks, stable error codes and the key fingerprint participants pin.
 *
 * Limits: JavaScript gives no constant-time guarantee. Decapsulation uses FIPS 203 implicit rejection: a
 * tampered ciphertext yields an unrelated pseudorandom key, never an error, so tampering is detected by the
 * AEAD under the derived keys, not here.
 */
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { FedwardenError } from '../errors.ts';
import { assertBytes } from './assert-bytes.ts';

/** FIPS 203 Table 3, ML-KEM-768: encapsulation key ek. */
export const ML_KEM768_PUBLIC_KEY_BYTES = 1184;
/** FIPS 203 Table 3, ML-KEM-768: ciphertext c. */
export const ML_KEM768_CIPHERTEXT_BYTES = 1088;
/** FIPS 203 Table 3, ML-KEM-768: decapsulation key dk. */
export const ML_KEM768_SECRET_KEY_BYTES = 2400;
/** FIPS 203: shared secret K. */
export const ML_KEM_SHARED_SECRET_BYTES = 32;
/** FIPS 203 Algorithm 19 (ML-KEM.KeyGen) randomness d || z. */
export const ML_KEM_KEYGEN_SEED_BYTES = 64;
/** FIPS 203 Algorithm 20 (ML-KEM.Encaps) randomness m. */
export const ML_KEM_ENCAPS_RANDOMNESS_BYTES = 32;

export interface KemKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export interface Encapsulation {
  readonly cipherText: Uint8Array;
  /** 32 bytes; the caller wipes it once keys are derived. */
  readonly sharedSecret: Uint8Array;
}

/**
 * ML-KEM.KeyGen. Without a seed, fresh randomness from the platform CSPRNG; with a 64-byte seed (d || z),
 * deterministic: the coordinator stores its identity as this seed.
 */
export function generateKemKeyPair(seed?: Uint8Array): KemKeyPair {
  if (seed !== undefined) assertBytes(seed, ML_KEM_KEYGEN_SEED_BYTES, 'generateKemKeyPair', 'seed');
  const { publicKey, secretKey } = ml_kem768.keygen(seed);
  return { publicKey, secretKey };
}

/**
 * ML-KEM.Encaps to `publicKey`. `m` (32 bytes) makes it deterministic and exists for known-answer tests only:
 * a reused or predictable `m` makes the shared secret predictable.
 */
export function encapsulate(publicKey: Uint8Array, m?: Uint8Array): Encapsulation {
  assertBytes(publicKey, ML_KEM768_PUBLIC_KEY_BYTES, 'encapsulate', 'publicKey');
  if (m !== undefined) assertBytes(m, ML_KEM_ENCAPS_RANDOMNESS_BYTES, 'encapsulate', 'm');
  try {
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, m);
    return { cipherText, sharedSecret };
  } catch (err) {
    // FIPS 203 §7.2 input check: a coefficient of ek not reduced modulo q.
    throw new FedwardenError('BAD_FRAME', 'encapsulate: invalid publicKey', { cause: err });
  }
}

/** ML-KEM.Decaps. Returns the 32-byte shared secret; the caller wipes it once keys are derived. */
export function decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  assertBytes(cipherText, ML_KEM768_CIPHERTEXT_BYTES, 'decapsulate', 'cipherText');
  assertBytes(secretKey, ML_KEM768_SECRET_KEY_BYTES, 'decapsulate', 'secretKey');
  try {
    return ml_kem768.decapsulate(cipherText, secretKey);
  } catch (err) {
    // FIPS 203 §7.3 input check: H(ek) embedded in dk does not match ek.
    throw new FedwardenError('BAD_FRAME', 'decapsulate: invalid secretKey', { cause: err });
  }
}

/** The identity participants pin: lowercase hex SHA-256 of the encapsulation key. */
export function fingerprint(publicKey: Uint8Array): string {
  assertBytes(publicKey, ML_KEM768_PUBLIC_KEY_BYTES, 'fingerprint', 'publicKey');
  return bytesToHex(sha256(publicKey));
}

const FINGERPRINT_PLAIN = /^[0-9a-f]{64}$/;
const FINGERPRINT_COLONS = /^[0-9a-f]{2}(?::[0-9a-f]{2}){31}$/;

/**
 * A fingerprint from config in canonical form (64 lowercase hex digits). Accepts upper case and the
 * colon-separated form `AB:CD:…` that key tools print; anything else is BAD_CONFIG.
 */
export function normalizeFingerprint(s: string): string {
  if (typeof s !== 'string') throw new FedwardenError('BAD_CONFIG', 'normalizeFingerprint: fingerprint must be a string');
  const lower = s.trim().toLowerCase();
  if (FINGERPRINT_PLAIN.test(lower)) return lower;
  if (FINGERPRINT_COLONS.test(lower)) return lower.replaceAll(':', '');
  throw new FedwardenError(
    'BAD_CONFIG',
    'normalizeFingerprint: expected a SHA-256 fingerprint of 64 hex digits (optionally colon-separated)',
  );
}
