import { hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AES256_GCM_TAG_BYTES } from '../crypto/aead.ts';
import { KDF_LABELS } from '../crypto/kdf.ts';
import { COMMITMENT_LABELS } from './commitment.ts';
import { decapsulate, encapsulate, generateKemKeyPair } from '../crypto/kem.ts';
import {
  SEALED_SHARES_BYTES,
  SECRET_BYTES,
  encapsRandomness,
  memberKemSeed,
  openShares,
  pairwiseSecrets,
  sealShares,
  shareKey,
} from './pairwise.ts';
import { shamirCombine, shamirSplit } from './shamir.ts';
import { codeOf } from '../test-support.ts';

/** The info string built independently: label || u32le fields, with Buffer's own writer. */
function info(label: string, ...fields: number[]): Buffer {
  const tail = Buffer.alloc(4 * fields.length);
  fields.forEach((f, i) => tail.writeUInt32LE(f, 4 * i));
  return Buffer.concat([Buffer.from(label, 'utf8'), tail]);
}

/** HKDF-SHA256 with an empty salt by OpenSSL (node:crypto), independent of kdf.ts's @noble/hashes. */
function opensslHkdf(ikm: Uint8Array, infoBytes: Buffer, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, new Uint8Array(0), infoBytes, length));
}

const round = 7;
const group = 3;

describe('derivations agree with node:crypto hkdfSync over independently built info strings', () => {
  const secret = randomBytes(32);

  it('memberKemSeed', () => {
    expect(memberKemSeed(secret, round, group, 5)).toEqual(opensslHkdf(secret, info(KDF_LABELS.secaggKemSeed, round, group, 5), 64));
  });

  it('encapsRandomness', () => {
    expect(encapsRandomness(secret, round, group, 2, 9)).toEqual(opensslHkdf(secret, info(KDF_LABELS.secaggEncaps, round, group, 2, 9), 32));
  });

  it('pairwiseSecrets', () => {
    expect(pairwiseSecrets(secret, round, group, 2, 9).maskSeed).toEqual(
      opensslHkdf(secret, info(KDF_LABELS.secaggPairMask, round, group, 2, 9), 32),
    );
  });

  it('shareKey', () => {
    expect(shareKey(secret, round, group, 9, 2)).toEqual(opensslHkdf(secret, info(KDF_LABELS.secaggShareKey, round, group, 9, 2), 32));
  });

  it('round and group use all 32 bits', () => {
    const big = 0xfffffffe;
    expect(memberKemSeed(secret, big, big + 1, 255)).toEqual(opensslHkdf(secret, info(KDF_LABELS.secaggKemSeed, big, big + 1, 255), 64));
  });
});

describe('domain separation', () => {
  it('KDF and commitment labels are prefix-free, together, so label || fixed-width fields parses one way only', () => {
    const labels: string[] = [...Object.values(KDF_LABELS), ...Object.values(COMMITMENT_LABELS)];
    expect(new Set(labels).size).toBe(labels.length);
    for (const a of labels) for (const b of labels) if (a !== b) expect(b.startsWith(a), `${b} starts with ${a}`).toBe(false);
  });

  it('every derivation changes with round, group and each index', () => {
    const m = randomBytes(32);
    const variants = (f: (r: number, g: number, a: number, b: number) => Uint8Array): string[] =>
      [f(1, 1, 1, 2), f(2, 1, 1, 2), f(1, 2, 1, 2), f(1, 1, 1, 3), f(1, 1, 2, 3)].map((x) => Buffer.from(x).toString('hex'));
    for (const outputs of [
      variants((r, g, a, b) => memberKemSeed(m, r, g, a + b)),
      variants((r, g, a, b) => encapsRandomness(m, r, g, a, b)),
      variants((r, g, a, b) => pairwiseSecrets(m, r, g, a, b).maskSeed),
      variants((r, g, a, b) => shareKey(m, r, g, a, b)),
    ]) {
      expect(new Set(outputs).size).toBe(outputs.length);
    }
    // The same secret under different purposes never gives the same bytes.
    const purposes = [encapsRandomness(m, 1, 1, 1, 2), pairwiseSecrets(m, 1, 1, 1, 2).maskSeed, shareKey(m, 1, 1, 1, 2), memberKemSeed(m, 1, 1, 1).subarray(0, 32)];
    expect(new Set(purposes.map((x) => Buffer.from(x).toString('hex'))).size).toBe(4);
  });

  it('share keys are directional', () => {
    const ss = randomBytes(32);
    expect(shareKey(ss, round, group, 2, 9)).not.toEqual(shareKey(ss, round, group, 9, 2));
  });
});

describe('a pairwise round with ML-KEM-768 (i = 2 encapsulates to j = 5)', () => {
  const i = 2;
  const j = 5;
  const masterI = new Uint8Array(randomBytes(SECRET_BYTES));
  const masterJ = new Uint8Array(randomBytes(SECRET_BYTES));
  const keysJ = generateKemKeyPair(memberKemSeed(masterJ, round, group, j));
  const m = encapsRandomness(masterI, round, group, i, j);
  const { cipherText, sharedSecret } = encapsulate(keysJ.publicKey, m);

  it('both ends derive the same mask seed', () => {
    const atJ = decapsulate(cipherText, keysJ.secretKey);
    expect(atJ).toEqual(sharedSecret);
    expect(pairwiseSecrets(atJ, round, group, i, j).maskSeed).toEqual(pairwiseSecrets(sharedSecret, round, group, i, j).maskSeed);
  });

  it('recovery when i drops: re-encapsulating with i rebuilt from shares reproduces ciphertext and secret', () => {
    const shares = shamirSplit(masterI, 3, [1, 3, 4, 5, 6]).map((share, n) => ({ x: [1, 3, 4, 5, 6][n] as number, share }));
    const rebuilt = shamirCombine(shares.slice(2), 3);
    const publicKeyJ = generateKemKeyPair(memberKemSeed(masterJ, round, group, j)).publicKey; // or as relayed
    expect(publicKeyJ).toEqual(keysJ.publicKey);
    const again = encapsulate(publicKeyJ, encapsRandomness(rebuilt, round, group, i, j));
    expect(again.cipherText).toEqual(cipherText); // the coordinator should check this against the relayed one
    expect(again.sharedSecret).toEqual(sharedSecret);
  });

  it('recovery when j drops: j’s secret key regenerated from its master decapsulates i’s ciphertext', () => {
    const regenerated = generateKemKeyPair(memberKemSeed(masterJ, round, group, j));
    expect(decapsulate(cipherText, regenerated.secretKey)).toEqual(sharedSecret);
  });

  it('a different round gives unrelated keys and randomness', () => {
    expect(generateKemKeyPair(memberKemSeed(masterJ, round + 1, group, j)).publicKey).not.toEqual(keysJ.publicKey);
    expect(encapsRandomness(masterI, round + 1, group, i, j)).not.toEqual(m);
  });
});

describe('sealShares / openShares', () => {
  const key = shareKey(new Uint8Array(randomBytes(32)), round, group, 2, 5);
  const selfShare = new Uint8Array(randomBytes(32));
  const masterShare = new Uint8Array(randomBytes(32));
  const sealed = sealShares(key, round, group, 2, 5, selfShare, masterShare);

  it('round-trips 2 × 32 bytes in SEALED_SHARES_BYTES', () => {
    expect(SECRET_BYTES).toBe(32);
    expect(SEALED_SHARES_BYTES).toBe(80);
    expect(sealed).toHaveLength(2 * SECRET_BYTES + AES256_GCM_TAG_BYTES);
    expect(openShares(key, round, group, 2, 5, sealed)).toEqual({ selfShare, masterShare });
  });

  it('fails to open under any other binding (DECRYPT_FAILED)', () => {
    const others: [number, number, number, number][] = [
      [round + 1, group, 2, 5],
      [round - 1, group, 2, 5],
      [round, group + 1, 2, 5],
      [round, group, 5, 2],
      [round, group, 2, 6],
      [round, group, 3, 5],
      [round + 2 ** 8, group, 2, 5], // a field that differs only in a high byte
    ];
    for (const [r, g, s, t] of others) expect(codeOf(() => openShares(key, r, g, s, t, sealed))).toBe('DECRYPT_FAILED');
    expect(codeOf(() => openShares(shareKey(randomBytes(32), round, group, 2, 5), round, group, 2, 5, sealed))).toBe('DECRYPT_FAILED');
  });

  it('fails on any flipped bit (DECRYPT_FAILED), and on a wrong length (BAD_FRAME)', () => {
    for (let b = 0; b < sealed.length; b++) {
      const bad = sealed.slice();
      bad[b] = (bad[b] as number) ^ 0x80;
      expect(codeOf(() => openShares(key, round, group, 2, 5, bad))).toBe('DECRYPT_FAILED');
    }
    expect(codeOf(() => openShares(key, round, group, 2, 5, sealed.subarray(1)))).toBe('BAD_FRAME');
  });

  it('is deterministic for one key and binding: a resend must reuse the sealed bytes, never reseal new shares', () => {
    expect(sealShares(key, round, group, 2, 5, selfShare, masterShare)).toEqual(sealed);
  });
});

describe('argument checks', () => {
  const s = new Uint8Array(32);
  it('name the function and use INTERNAL for local mistakes', () => {
    expect(() => memberKemSeed(s.subarray(1), 1, 1, 1)).toThrow(/memberKemSeed: wrong master length/);
    expect(codeOf(() => encapsRandomness(s, 1, 1, 5, 2))).toBe('INTERNAL');
    expect(codeOf(() => encapsRandomness(s, 1, 1, 2, 2))).toBe('INTERNAL');
    expect(codeOf(() => pairwiseSecrets(s, 1, 1, 3, 3))).toBe('INTERNAL');
    expect(codeOf(() => shareKey(s, 1, 1, 3, 3))).toBe('INTERNAL');
    expect(codeOf(() => memberKemSeed(s, 1, 1, 0))).toBe('INTERNAL');
    expect(codeOf(() => memberKemSeed(s, 1, 1, 256))).toBe('INTERNAL');
    expect(codeOf(() => memberKemSeed(s, -1, 1, 1))).toBe('INTERNAL');
    expect(codeOf(() => memberKemSeed(s, 1, 2 ** 32, 1))).toBe('INTERNAL');
    expect(codeOf(() => sealShares(s, 1, 1, 1, 2, s.subarray(1), s))).toBe('INTERNAL');
    expect(codeOf(() => sealShares(s, 1, 1, 2, 2, s, s))).toBe('INTERNAL');
  });
});
