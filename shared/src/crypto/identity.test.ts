import { shake128 } from '@noble/hashes/sha3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { describe, expect, it } from 'vitest';
import {
  ML_DSA65_PUBLIC_KEY_BYTES,
  ML_DSA65_SIGNATURE_BYTES,
  generateIdentity,
  identityFingerprint,
  signStatement,
  verifyStatement,
} from './identity.ts';
import { loadVectorFile } from './vector-file.ts';

interface AccumulatedVector {
  name: string;
  count: number;
  expectedHash: string;
}

const cctv = loadVectorFile<AccumulatedVector>('ml-dsa-65-accumulated.json');

describe('ML-DSA-65 known answers (C2SP CCTV accumulated vectors)', () => {
  for (const v of cctv.vectors) {
    it(
      v.name,
      async () => {
        expect(v.count).toBeGreaterThan(0);
        const seeds = shake128.create();
        const acc = shake128.create();
        const empty = new Uint8Array(0);
        for (let i = 0; i < v.count; i++) {
          if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
          const { publicKey, secretKey } = generateIdentity(seeds.xof(32));
          // The CCTV vectors sign with the empty context; fedwarden's own wrapper always uses its context, so the
          // known answer checks the library underneath it, and the wrapper is checked against the library below.
          const signature = ml_dsa65.sign(empty, secretKey, { extraEntropy: false });
          acc.update(publicKey).update(signature);
          if (!ml_dsa65.verify(signature, empty, publicKey)) throw new Error(`test ${i}: Verify rejects its own signature`);
        }
        expect(bytesToHex(acc.xof(32))).toBe(v.expectedHash);
      },
      120_000,
    );
  }
});

describe('identity keys', () => {
  const seed = new Uint8Array(32).fill(7);
  const id = generateIdentity(seed);
  const msg = new TextEncoder().encode('statement');

  it('derives the key pair from its seed, with FIPS 204 sizes', () => {
    expect(id.publicKey).toHaveLength(ML_DSA65_PUBLIC_KEY_BYTES);
    expect(generateIdentity(seed).publicKey).toEqual(id.publicKey);
    expect(generateIdentity().publicKey).not.toEqual(id.publicKey);
    expect(() => generateIdentity(new Uint8Array(31))).toThrow(/seed/);
  });

  it('signs under the fedwarden context: the library accepts it with that context and no other', () => {
    const sig = signStatement(id.secretKey, msg);
    expect(sig).toHaveLength(ML_DSA65_SIGNATURE_BYTES);
    expect(verifyStatement(id.publicKey, msg, sig)).toBe(true);
    expect(ml_dsa65.verify(sig, msg, id.publicKey)).toBe(false);
    expect(ml_dsa65.verify(sig, msg, id.publicKey, { context: new TextEncoder().encode('fedwarden/v1/identity') })).toBe(true);
    // Hedged by default: two signatures of one message differ; the deterministic variant repeats.
    expect(signStatement(id.secretKey, msg)).not.toEqual(sig);
    expect(signStatement(id.secretKey, msg, { deterministic: true })).toEqual(signStatement(id.secretKey, msg, { deterministic: true }));
  });

  it('rejects another message, another key, a flipped bit and malformed input without throwing', () => {
    const sig = signStatement(id.secretKey, msg);
    const other = generateIdentity(new Uint8Array(32).fill(8));
    expect(verifyStatement(id.publicKey, new TextEncoder().encode('statemenT'), sig)).toBe(false);
    expect(verifyStatement(other.publicKey, msg, sig)).toBe(false);
    const flipped = sig.slice();
    flipped[100] = (flipped[100] as number) ^ 1;
    expect(verifyStatement(id.publicKey, msg, flipped)).toBe(false);
    expect(verifyStatement(id.publicKey, msg, sig.subarray(1))).toBe(false);
    expect(verifyStatement(id.publicKey.subarray(1), msg, sig)).toBe(false);
    expect(verifyStatement(new Uint8Array(ML_DSA65_PUBLIC_KEY_BYTES).fill(0xff), msg, sig)).toBe(false);
  });

  it('fingerprints a public key as SHA-256 hex, and refuses anything else', () => {
    expect(identityFingerprint(id.publicKey)).toMatch(/^[0-9a-f]{64}$/);
    expect(identityFingerprint(id.publicKey)).not.toBe(identityFingerprint(generateIdentity().publicKey));
    expect(() => identityFingerprint(new Uint8Array(10))).toThrow(/identity key/);
  });
});
