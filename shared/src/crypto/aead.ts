/**
 * AES-256-GCM (NIST SP 800-38D) from node:crypto, which runs on the CPU's AES and carry-less multiply
 * instructions. Output is ciphertext || 16-byte tag, the layout of RFC 5116 AEAD_AES_256_GCM.
 *
 * Limits: 96-bit nonces only, and a nonce must never repeat under one key; the channel guarantees that with
 * a per-direction key and a counter nonce (counterNonce). SP 800-38D caps a key at 2^32 invocations with
 * random nonces; counter nonces lift that, and a channel stays far below 2^64 frames.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { FedwardenError } from '../errors.ts';
import { assertAnyBytes, assertBytes } from './assert-bytes.ts';

export const AES256_GCM_KEY_BYTES = 32;
/** SP 800-38D §8.2: the recommended 96-bit IV. */
export const AES256_GCM_NONCE_BYTES = 12;
/** Full 128-bit tag; shorter tags are never accepted. */
export const AES256_GCM_TAG_BYTES = 16;

const MAX_U64 = (1n << 64n) - 1n;

/** Encrypt and authenticate: returns ciphertext || tag (plaintext.length + 16 bytes). */
export function aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  assertBytes(key, AES256_GCM_KEY_BYTES, 'aeadSeal', 'key', 'INTERNAL');
  assertBytes(nonce, AES256_GCM_NONCE_BYTES, 'aeadSeal', 'nonce', 'INTERNAL');
  assertAnyBytes(plaintext, 'aeadSeal', 'plaintext', 'INTERNAL');
  assertAnyBytes(aad, 'aeadSeal', 'aad', 'INTERNAL');
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: AES256_GCM_TAG_BYTES });
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const tail = cipher.final(); // empty for GCM, kept for completeness
  const out = new Uint8Array(body.length + tail.length + AES256_GCM_TAG_BYTES);
  out.set(body, 0);
  out.set(tail, body.length);
  out.set(cipher.getAuthTag(), body.length + tail.length);
  return out;
}

/** Verify and decrypt ciphertext || tag. Any failure, including a too-short input, is DECRYPT_FAILED. */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  assertBytes(key, AES256_GCM_KEY_BYTES, 'aeadOpen', 'key', 'INTERNAL');
  assertBytes(nonce, AES256_GCM_NONCE_BYTES, 'aeadOpen', 'nonce', 'INTERNAL');
  assertAnyBytes(sealed, 'aeadOpen', 'sealed', 'INTERNAL');
  assertAnyBytes(aad, 'aeadOpen', 'aad', 'INTERNAL');
  if (sealed.length < AES256_GCM_TAG_BYTES) throw new FedwardenError('DECRYPT_FAILED', 'aeadOpen: shorter than the tag');
  const split = sealed.length - AES256_GCM_TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: AES256_GCM_TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(split));
  // GCM releases plaintext before the tag is checked: hold it back until final() succeeds, then wipe on failure.
  const body = decipher.update(sealed.subarray(0, split));
  try {
    const tail = decipher.final();
    const out = new Uint8Array(body.length + tail.length);
    out.set(body, 0);
    out.set(tail, body.length);
    return out;
  } catch (err) {
    throw new FedwardenError('DECRYPT_FAILED', 'aeadOpen: authentication failed', { cause: err });
  } finally {
    body.fill(0);
  }
}

/** The 96-bit nonce for a frame counter: 4 zero bytes, then the counter as u64 little-endian. */
export function counterNonce(counter: bigint): Uint8Array {
  if (typeof counter !== 'bigint' || counter < 0n || counter > MAX_U64) {
    throw new FedwardenError('INTERNAL', 'counterNonce: counter must be a bigint in 0..2^64-1');
  }
  const nonce = new Uint8Array(AES256_GCM_NONCE_BYTES);
  new DataView(nonce.buffer).setBigUint64(4, counter, true);
  return nonce;
}
