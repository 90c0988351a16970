import { createHash } from 'node:crypto';
import { shake128 } from '@noble/hashes/sha3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { FedwardenError } from '../errors.ts';
import {
  ML_KEM768_CIPHERTEXT_BYTES,
  ML_KEM768_PUBLIC_KEY_BYTES,
  ML_KEM768_SECRET_KEY_BYTES,
  decapsulate,
  encapsulate,
  fingerprint,
  generateKemKeyPair,
  normalizeFingerprint,
} from './kem.ts';
import { loadVectorFile } from './vector-file.ts';

interface AccumulatedVector {
  name: string;
  count: number;
  expectedHash: string;
}

const cctv = loadVectorFile<AccumulatedVector>('ml-kem-768-accumulated.json');

/** Vectors between two turns of the event loop: well under a second of work even on a busy machine. */
const YIELD_EVERY = 25;

describe('ML-KEM-768 known answers (C2SP CCTV accumulated vectors)', () => {
  it('the deterministic RNG is SHAKE-128 of the empty string', () => {
    expect(bytesToHex(shake128.create().xof(16))).toBe(cctv.rngPrefix);
  });

  for (const v of cctv.vectors) {
    it(
      v.name,
      async () => {
        expect(v.count).toBeGreaterThan(0);
        const rng = shake128.create();
        const acc = shake128.create();
        const seed = new Uint8Array(64);
        for (let i = 0; i < v.count; i++) {
          // Ten thousand vectors take a minute or more on a loaded machine: hand the event loop back now and
          // then, or vitest's worker cannot answer its runner (its RPC gives up after 60 s) and the run fails.
          if (i % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
          seed.set(rng.xof(32), 0); // d
          seed.set(rng.xof(32), 32); // z
          const m = rng.xof(32);
          const randomCt = rng.xof(ML_KEM768_CIPHERTEXT_BYTES);
          const { publicKey, secretKey } = generateKemKeyPair(seed);
          const { cipherText, sharedSecret } = encapsulate(publicKey, m);
          const decapsulated = decapsulate(cipherText, secretKey);
          if (bytesToHex(decapsulated) !== bytesToHex(sharedSecret)) throw new Error(`test ${i}: Decaps disagrees with Encaps`);
          acc.update(publicKey).update(secretKey).update(cipherText).update(sharedSecret);
          acc.update(decapsulate(randomCt, secretKey)); // implicit rejection
        }
        expect(bytesToHex(acc.xof(32))).toBe(v.expectedHash);
      },
      // A bounded loop, so the limit only has to catch a hang: about a minute of CPU here, and close to five
      // minutes of wall time on a 2-core machine shared with other CPU-bound jobs.
      600_000,
    );
  }
});

describe('ML-KEM-768 wrapper', () => {
  it('round-trips with FIPS 203 sizes', () => {
    for (let i = 0; i < 5; i++) {
      const { publicKey, secretKey } = generateKemKeyPair();
      expect(publicKey).toHaveLength(ML_KEM768_PUBLIC_KEY_BYTES);
      expect(secretKey).toHaveLength(ML_KEM768_SECRET_KEY_BYTES);
      const { cipherText, sharedSecret } = encapsulate(publicKey);
      expect(cipherText).toHaveLength(ML_KEM768_CIPHERTEXT_BYTES);
      expect(sharedSecret).toHaveLength(32);
      expect(decapsulate(cipherText, secretKey)).toEqual(sharedSecret);
    }
  });

  it('is deterministic from a seed, and fresh without one', () => {
    const seed = new Uint8Array(64).fill(42);
    expect(generateKemKeyPair(seed).publicKey).toEqual(generateKemKeyPair(seed).publicKey);
    expect(seed).toEqual(new Uint8Array(64).fill(42)); // a caller's seed is left alone
    expect(generateKemKeyPair().publicKey).not.toEqual(generateKemKeyPair().publicKey);
  });

  it('a tampered ciphertext yields a different key, not an error (implicit rejection)', () => {
    const { publicKey, secretKey } = generateKemKeyPair();
    const { cipherText, sharedSecret } = encapsulate(publicKey);
    const tampered = cipherText.slice();
    tampered[100] = (tampered[100] ?? 0) ^ 1;
    expect(decapsulate(tampered, secretKey)).not.toEqual(sharedSecret);
  });

  it('checks lengths first and names the function', () => {
    const { publicKey, secretKey } = generateKemKeyPair();
    const { cipherText } = encapsulate(publicKey);
    const cases: [() => unknown, RegExp][] = [
      [() => generateKemKeyPair(new Uint8Array(32)), /^generateKemKeyPair: wrong seed length/],
      [() => encapsulate(publicKey.subarray(1)), /^encapsulate: wrong publicKey length/],
      [() => encapsulate(publicKey, new Uint8Array(31)), /^encapsulate: wrong m length/],
      [() => decapsulate(cipherText.subarray(1), secretKey), /^decapsulate: wrong cipherText length/],
      [() => decapsulate(cipherText, secretKey.subarray(1)), /^decapsulate: wrong secretKey length/],
      [() => fingerprint(secretKey), /^fingerprint: wrong publicKey length/],
    ];
    for (const [fn, message] of cases) {
      expect(fn).toThrow(message);
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(FedwardenError);
        expect((err as FedwardenError).code).toBe('BAD_FRAME');
      }
    }
  });

  it('refuses a public key with coefficients not reduced mod q (FIPS 203 §7.2)', () => {
    const bad = new Uint8Array(ML_KEM768_PUBLIC_KEY_BYTES).fill(0xff);
    expect(() => encapsulate(bad)).toThrow(/^encapsulate: invalid publicKey/);
  });

  it('refuses a secret key whose embedded H(ek) does not match (FIPS 203 §7.3)', () => {
    const { publicKey, secretKey } = generateKemKeyPair();
    const { cipherText } = encapsulate(publicKey);
    const bad = secretKey.slice();
    bad[ML_KEM768_SECRET_KEY_BYTES - 40] = (bad[ML_KEM768_SECRET_KEY_BYTES - 40] ?? 0) ^ 1;
    expect(() => decapsulate(cipherText, bad)).toThrow(/^decapsulate: invalid secretKey/);
  });
});

describe('fingerprints', () => {
  const { publicKey } = generateKemKeyPair(new Uint8Array(64));

  it('are the lowercase hex SHA-256 of the public key', () => {
    expect(fingerprint(publicKey)).toBe(createHash('sha256').update(publicKey).digest('hex'));
    expect(fingerprint(publicKey)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('normalize from upper case and colon-separated forms', () => {
    const fp = fingerprint(publicKey);
    const colons = fp.toUpperCase().match(/../g)?.join(':') ?? '';
    expect(normalizeFingerprint(fp)).toBe(fp);
    expect(normalizeFingerprint(fp.toUpperCase())).toBe(fp);
    expect(normalizeFingerprint(colons)).toBe(fp);
    expect(normalizeFingerprint(`  ${fp}\n`)).toBe(fp);
  });

  it('reject anything that is not 32 bytes of hex', () => {
    const fp = fingerprint(publicKey);
    for (const bad of ['', fp.slice(1), `${fp}0`, `${fp.slice(0, 63)}g`, `a:${fp.slice(1)}`, `${fp.slice(0, 2)}::${fp.slice(2)}`]) {
      expect(() => normalizeFingerprint(bad)).toThrow(FedwardenError);
      try {
        normalizeFingerprint(bad);
      } catch (err) {
        expect((err as FedwardenError).code).toBe('BAD_CONFIG');
      }
    }
  });
});
