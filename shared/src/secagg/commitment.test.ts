import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKemKeyPair } from '../crypto/kem.ts';
import { codeOf } from '../test-support.ts';
import { COMMITMENT_BYTES, COMMITMENT_LABELS, commitPairSeed, commitSecret, commitShare, opensCommitment } from './commitment.ts';
import { isValidKemPublicKey } from './kem-key-check.ts';

/** SHA-256(label || u32le fields || value) by OpenSSL, independent of commitment.ts's @noble/hashes. */
function reference(label: string, value: Uint8Array, ...fields: number[]): Uint8Array {
  const tail = Buffer.alloc(4 * fields.length);
  fields.forEach((f, i) => tail.writeUInt32LE(f, 4 * i));
  return new Uint8Array(createHash('sha256').update(Buffer.from(label, 'utf8')).update(tail).update(value).digest());
}

describe('secure-aggregation commitments', () => {
  const secret = new Uint8Array(randomBytes(32));

  it('are SHA-256 over label || round || group || members || value, as specified', () => {
    expect(commitSecret('self', secret, 7, 3, 2)).toEqual(reference(COMMITMENT_LABELS.selfSeed, secret, 7, 3, 2));
    expect(commitSecret('master', secret, 7, 3, 2)).toEqual(reference(COMMITMENT_LABELS.master, secret, 7, 3, 2));
    expect(commitShare('self', secret, 7, 3, 2, 5)).toEqual(reference(COMMITMENT_LABELS.selfShare, secret, 7, 3, 2, 5));
    expect(commitShare('master', secret, 7, 3, 2, 5)).toEqual(reference(COMMITMENT_LABELS.masterShare, secret, 7, 3, 2, 5));
    expect(commitPairSeed(secret, 7, 3, 2, 5)).toEqual(reference(COMMITMENT_LABELS.pairSeed, secret, 7, 3, 2, 5));
    expect(commitSecret('self', secret, 0xffffffff, 0, 255)).toHaveLength(COMMITMENT_BYTES);
  });

  it('bind kind, round, group, members and value: every change gives another commitment', () => {
    const base = commitShare('self', secret, 7, 3, 2, 5);
    const other = secret.slice();
    other[31] = (other[31] as number) ^ 1;
    const variants = [
      commitShare('master', secret, 7, 3, 2, 5),
      commitShare('self', secret, 8, 3, 2, 5),
      commitShare('self', secret, 7, 4, 2, 5),
      commitShare('self', secret, 7, 3, 5, 2),
      commitShare('self', other, 7, 3, 2, 5),
      commitSecret('self', secret, 7, 3, 2),
      commitPairSeed(secret, 7, 3, 2, 5),
    ];
    for (const v of variants) expect(opensCommitment(base, v)).toBe(false);
    expect(opensCommitment(base, commitShare('self', secret, 7, 3, 2, 5))).toBe(true);
    expect(new Set(Object.values(COMMITMENT_LABELS)).size).toBe(5);
    // Prefix-free labels: no commitment of one kind can be read as one of another.
    for (const a of Object.values(COMMITMENT_LABELS)) for (const b of Object.values(COMMITMENT_LABELS)) if (a !== b) expect(b.startsWith(a)).toBe(false);
    const seedBase = commitPairSeed(secret, 7, 3, 2, 5);
    for (const v of [commitPairSeed(secret, 8, 3, 2, 5), commitPairSeed(secret, 7, 4, 2, 5), commitPairSeed(secret, 7, 3, 2, 6), commitPairSeed(other, 7, 3, 2, 5)]) {
      expect(opensCommitment(seedBase, v)).toBe(false);
    }
  });

  it('refuse malformed arguments, and never open a missing or short commitment', () => {
    expect(codeOf(() => commitSecret('self', secret.subarray(1), 1, 1, 1))).toBe('INTERNAL');
    expect(codeOf(() => commitSecret('self', secret, -1, 1, 1))).toBe('INTERNAL');
    expect(codeOf(() => commitSecret('self', secret, 1, 1, 256))).toBe('INTERNAL');
    expect(codeOf(() => commitShare('self', secret, 1, 1, 3, 3))).toBe('INTERNAL');
    expect(codeOf(() => commitShare('self', secret.subarray(1), 1, 1, 2, 3))).toBe('BAD_FRAME');
    expect(codeOf(() => commitPairSeed(secret.subarray(1), 1, 1, 2, 3))).toBe('BAD_FRAME');
    expect(codeOf(() => commitPairSeed(secret, 1, 1, 3, 2))).toBe('INTERNAL'); // one order only: both ends commit alike
    expect(codeOf(() => commitPairSeed(secret, 1, 1, 3, 3))).toBe('INTERNAL');
    const c = commitSecret('self', secret, 1, 1, 1);
    expect(opensCommitment(undefined, c)).toBe(false);
    expect(opensCommitment(c.subarray(1), c)).toBe(false);
  });
});

describe('ML-KEM-768 encapsulation-key check (FIPS 203 §7.2)', () => {
  it('accepts generated keys and refuses a coefficient ≥ q or a wrong length', () => {
    for (let i = 0; i < 5; i++) expect(isValidKemPublicKey(generateKemKeyPair().publicKey)).toBe(true);
    const key = generateKemKeyPair().publicKey;
    const high = key.slice();
    high[1] = (high[1] as number) | 0x0f; // the first coefficient becomes 0xFFF ≥ q
    high[0] = 0xff;
    expect(isValidKemPublicKey(high)).toBe(false);
    const second = key.slice();
    second[1149] = (second[1149] as number) | 0xf0; // the last triple of bytes: its first coefficient ≥ 0xFF0
    second[1150] = 0xff;
    expect(isValidKemPublicKey(second)).toBe(false);
    const seedOnly = key.slice();
    seedOnly[1183] = 0xff; // ρ is any 32 bytes
    expect(isValidKemPublicKey(seedOnly)).toBe(true);
    expect(isValidKemPublicKey(key.subarray(1))).toBe(false);
    expect(isValidKemPublicKey('key')).toBe(false);
  });
});
