/**
 * The mask PRG of secure aggregation: a 32-byte seed expands to a stream of uint32 words, the AES-128-CTR
 * keystream (NIST SP 800-38A §6.5) of node:crypto (OpenSSL, AES-NI) read as little-endian words, with
 *   key || IV = HKDF-Expand(PRK = seed, info = 'fedwarden/v1/secagg/prg', L = 32)   (RFC 5869 §2.3, SHA-256)
 * i.e. HMAC-SHA256(seed, info || 0x01). HKDF-Extract is skipped as RFC 5869 §3.3 allows for input that already
 * is a uniformly random key: every seed is 32 bytes from the CSPRNG (self-mask seeds) or from HKDF (pairwise
 * seeds, pairwise.ts). It saves one HMAC, about 2 µs per mask — a tenth of the whole cost for 10^4 words.
 * The IV is the initial counter block, incremented as one 128-bit big-endian integer (OpenSSL's CTR).
 *
 * Masks are added in place in 64 KiB chunks of keystream, so no full-size mask is ever allocated and the
 * keystream stays in cache while it is added.
 *
 * Limits: each seed must mask one vector only (fresh self-mask seeds every round; pairwise seeds are bound
 * to round and group by pairwise.ts). Security is that of AES-128 as a PRF; a stream is far below the
 * 2^64-block bound where CTR keystream becomes distinguishable.
 */
import { createCipheriv, createHmac, type Cipher } from 'node:crypto';
import { FedwardenError } from '../errors.ts';
import { assertBytes } from '../crypto/assert-bytes.ts';
import { KDF_LABELS } from '../crypto/kdf.ts';
import { MOD_ADD_CHUNK_WORDS, addModWords, addModWordsAll, wipeModAdd } from './mod-add.ts';

export const MASK_SEED_BYTES = 32;
export const AES128_KEY_BYTES = 16;
/** SP 800-38A: the initial counter block is one AES block. */
export const AES_BLOCK_BYTES = 16;

const CHUNK_WORDS = MOD_ADD_CHUNK_WORDS;
const CHUNK_BYTES = 4 * CHUNK_WORDS; // 64 KiB
/** Plaintext for the keystream: CTR encryption of zeros is the keystream itself. Only ever read. */
const ZEROS = Buffer.alloc(CHUNK_BYTES);
/** HKDF-Expand's input to the first (and only) HMAC block: info || 0x01. */
const PRG_INFO_BLOCK_1 = Buffer.concat([Buffer.from(KDF_LABELS.secaggPrg, 'utf8'), Buffer.from([1])]);
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The AES-128-CTR keystream: the first `n` bytes of CTR encryption of zeros under `key` from counter block `iv`. */
export function aes128CtrKeystream(key: Uint8Array, iv: Uint8Array, n: number): Uint8Array {
  assertBytes(key, AES128_KEY_BYTES, 'aes128CtrKeystream', 'key', 'INTERNAL');
  assertBytes(iv, AES_BLOCK_BYTES, 'aes128CtrKeystream', 'iv', 'INTERNAL');
  checkCount('aes128CtrKeystream', 'n', n);
  return new Uint8Array(aes128Ctr(key, iv).update(new Uint8Array(n)));
}

/**
 * A keystream cipher for `seed`: encrypting zeros with it yields PRG(seed). HKDF-Expand is written out with
 * node:crypto's native HMAC (for L = HashLen, OKM = T(1) = HMAC(PRK, info || 0x01)), an order of magnitude
 * faster than the JavaScript HKDF; the tests check it against kdf.ts's hkdfExpand.
 */
export function maskStream(seed: Uint8Array): Cipher {
  assertBytes(seed, MASK_SEED_BYTES, 'maskStream', 'seed', 'INTERNAL');
  const okm = createHmac('sha256', seed).update(PRG_INFO_BLOCK_1).digest();
  try {
    return aes128Ctr(okm.subarray(0, AES128_KEY_BYTES), okm.subarray(AES128_KEY_BYTES));
  } finally {
    okm.fill(0);
  }
}

/** PRG(seed) as `length` uint32 words, written into `out` when given (its length must be `length`). */
export function expandMask(seed: Uint8Array, length: number, out?: Uint32Array): Uint32Array {
  checkCount('expandMask', 'length', length);
  if (out !== undefined && (!(out instanceof Uint32Array) || out.length !== length)) {
    throw new FedwardenError('INTERNAL', `expandMask: out must be a Uint32Array of ${length} words`);
  }
  const words = out ?? new Uint32Array(length);
  const bytes = new Uint8Array(words.buffer, words.byteOffset, 4 * length);
  forEachKeystreamChunk(seed, length, 'expandMask', (offset, ks) => {
    if (!LITTLE_ENDIAN) ks.swap32();
    bytes.set(ks, 4 * offset);
  });
  return words;
}

/** target ← target + sign·PRG(seed) mod 2^32, in place. */
export function applyMask(target: Uint32Array, seed: Uint8Array, sign: 1 | -1): void {
  if (!(target instanceof Uint32Array)) throw new FedwardenError('INTERNAL', 'applyMask: target must be a Uint32Array');
  if (sign !== 1 && sign !== -1) throw new FedwardenError('INTERNAL', 'applyMask: sign must be 1 or -1');
  const words = new Int32Array(target.buffer, target.byteOffset, target.length); // same bits, int32 arithmetic
  try {
    forEachKeystreamChunk(seed, target.length, 'applyMask', (offset, ks) =>
      addModWords(words.subarray(offset, offset + ks.length / 4), ks, sign),
    );
  } finally {
    wipeModAdd(target.length);
  }
}

/** One mask of applyMasks: add (1) or subtract (−1) PRG(seed). */
export interface SignedSeed {
  readonly seed: Uint8Array;
  readonly sign: 1 | -1;
}

/**
 * target ← target + Σ sign·PRG(seed) mod 2^32 over `masks`, in place: applyMask for each, but chunk-major, so that
 * each 64 KiB chunk of target enters the SIMD module's memory once for all the masks (one keystream cipher per
 * mask stays open meanwhile). The result equals applying them one by one. Each keystream chunk is wiped once
 * added; on an error target may hold the chunks already done.
 */
export function applyMasks(target: Uint32Array, masks: readonly SignedSeed[]): void {
  if (!(target instanceof Uint32Array)) throw new FedwardenError('INTERNAL', 'applyMasks: target must be a Uint32Array');
  for (const m of masks) {
    assertBytes(m?.seed, MASK_SEED_BYTES, 'applyMasks', 'seed', 'INTERNAL');
    if (m.sign !== 1 && m.sign !== -1) throw new FedwardenError('INTERNAL', 'applyMasks: sign must be 1 or -1');
  }
  if (masks.length === 0) return;
  const ciphers = masks.map((m) => maskStream(m.seed));
  const words = new Int32Array(target.buffer, target.byteOffset, target.length);
  function* keystreams(bytes: number): Generator<readonly [Uint8Array, 1 | -1]> {
    for (let i = 0; i < ciphers.length; i++) {
      const keystream = (ciphers[i] as Cipher).update(bytes === CHUNK_BYTES ? ZEROS : ZEROS.subarray(0, bytes));
      try {
        yield [keystream, (masks[i] as SignedSeed).sign];
      } finally {
        keystream.fill(0);
      }
    }
  }
  try {
    for (let offset = 0; offset < target.length; offset += CHUNK_WORDS) {
      const n = Math.min(CHUNK_WORDS, target.length - offset);
      addModWordsAll(words.subarray(offset, offset + n), keystreams(4 * n));
    }
  } finally {
    wipeModAdd(target.length);
  }
}

/** Stream PRG(seed) in chunks of at most 64 KiB of little-endian words; each chunk is wiped after `use`. */
function forEachKeystreamChunk(seed: Uint8Array, words: number, fn: string, use: (offset: number, keystream: Buffer) => void): void {
  assertBytes(seed, MASK_SEED_BYTES, fn, 'seed', 'INTERNAL');
  const cipher = maskStream(seed);
  for (let offset = 0; offset < words; offset += CHUNK_WORDS) {
    const n = Math.min(CHUNK_WORDS, words - offset);
    const keystream = cipher.update(n === CHUNK_WORDS ? ZEROS : ZEROS.subarray(0, 4 * n));
    try {
      use(offset, keystream);
    } finally {
      keystream.fill(0);
    }
  }
}

function aes128Ctr(key: Uint8Array, iv: Uint8Array): Cipher {
  return createCipheriv('aes-128-ctr', key, iv);
}

function checkCount(fn: string, name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new FedwardenError('INTERNAL', `${fn}: ${name} must be a non-negative integer`);
}
