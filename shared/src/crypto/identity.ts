/**
 * Participant identity keys: ML-DSA-65 signatures (FIPS 204), a thin wrapper over @noble/post-quantum that adds
 * length checks, stable error codes, the fingerprint the coordinator stores at enrolment, and one FIPS 204
 * context string for every signature fedwarden makes, so that no signature made here verifies for another
 * protocol that uses the same key with another context.
 *
 * A participant keeps only the 32-byte seed ξ (FIPS 204 Algorithm 6): the key pair is derived from it. Signing is
 * hedged (FIPS 204 default: fresh randomness mixed into the nonce) unless a test asks for the deterministic
 * variant to check known answers.
 *
 * Limits: JavaScript gives no constant-time guarantee.
 */
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { FedwardenError } from '../errors.ts';
import { assertBytes } from './assert-bytes.ts';

/** FIPS 204 Table 2, ML-DSA-65: public key. */
export const ML_DSA65_PUBLIC_KEY_BYTES = 1952;
/** FIPS 204 Table 2, ML-DSA-65: signature. */
export const ML_DSA65_SIGNATURE_BYTES = 3309;
/** FIPS 204 Algorithm 1 (ML-DSA.KeyGen) seed ξ. */
export const ML_DSA_SEED_BYTES = 32;

/** The FIPS 204 context string of every fedwarden signature (ctx, at most 255 bytes). Part of the protocol. */
export const SIGNATURE_CONTEXT = new TextEncoder().encode('fedwarden/v1/identity');

export interface IdentityKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** ML-DSA.KeyGen from a 32-byte seed, or from fresh CSPRNG randomness without one. */
export function generateIdentity(seed?: Uint8Array): IdentityKeyPair {
  if (seed !== undefined) assertBytes(seed, ML_DSA_SEED_BYTES, 'generateIdentity', 'seed');
  const { publicKey, secretKey } = ml_dsa65.keygen(seed);
  return { publicKey, secretKey };
}

/** Sign `message` under fedwarden's context. `deterministic` exists for known-answer tests only. */
export function signStatement(secretKey: Uint8Array, message: Uint8Array, opts: { deterministic?: boolean } = {}): Uint8Array {
  return ml_dsa65.sign(message, secretKey, { context: SIGNATURE_CONTEXT, ...(opts.deterministic ? { extraEntropy: false } : {}) });
}

/** Whether `signature` is publicKey's signature of `message` under fedwarden's context. Never throws on bad input. */
export function verifyStatement(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ML_DSA65_PUBLIC_KEY_BYTES) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== ML_DSA65_SIGNATURE_BYTES) return false;
  try {
    return ml_dsa65.verify(signature, message, publicKey, { context: SIGNATURE_CONTEXT });
  } catch {
    return false;
  }
}

/** SHA-256 of the public key, lower-case hex: what the coordinator stores and what operators compare. */
export function identityFingerprint(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ML_DSA65_PUBLIC_KEY_BYTES) {
    throw new FedwardenError('BAD_FRAME', `identity key must be ${ML_DSA65_PUBLIC_KEY_BYTES} bytes`);
  }
  return bytesToHex(sha256(publicKey));
}
