import { describe, expect, it } from 'vitest';
import { ML_DSA65_SIGNATURE_BYTES, generateIdentity, signStatement, verifyStatement } from '../crypto/identity.ts';
import {
  MAX_ATTESTATION_BYTES,
  MIN_ATTESTATION_BYTES,
  STATEMENT_LABELS,
  attestItems,
  attestationBytes,
  checkAttested,
  checkAttestedAll,
  encapsItem,
  keysStatement,
  sharesItem,
  survivorsStatement,
} from './statements.ts';

const alice = generateIdentity(new Uint8Array(32).fill(1));
const bob = generateIdentity(new Uint8Array(32).fill(2));
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
const items = new Map([
  [2, encapsItem(bytes(1088, 2), bytes(1088, 3))],
  [5, encapsItem(undefined, bytes(1088, 4))],
]);

describe('signed statements of secure aggregation', () => {
  it('labels are prefix-free', () => {
    const labels = Object.values(STATEMENT_LABELS);
    for (const a of labels) for (const b of labels) if (a !== b) expect(b.startsWith(a)).toBe(false);
  });

  it('one attestation serves every recipient, and each checks only its own item', () => {
    const att = attestItems('encaps', alice.secretKey, 7, 3, 1, items);
    expect(att).toHaveLength(attestationBytes(2));
    expect(checkAttested('encaps', alice.publicKey, 7, 3, 1, 2, items.get(2)!, att)).toBe(true);
    expect(checkAttested('encaps', alice.publicKey, 7, 3, 1, 5, items.get(5)!, att)).toBe(true);
    expect(checkAttestedAll('encaps', alice.publicKey, 7, 3, 1, items, att)).toBe(true);
    // Another recipient's item, an altered item, a recipient not listed, another signer's key: refused.
    expect(checkAttested('encaps', alice.publicKey, 7, 3, 1, 2, items.get(5)!, att)).toBe(false);
    expect(checkAttested('encaps', alice.publicKey, 7, 3, 1, 2, encapsItem(bytes(1088, 2), bytes(1088, 9)), att)).toBe(false);
    expect(checkAttested('encaps', alice.publicKey, 7, 3, 1, 4, items.get(2)!, att)).toBe(false);
    expect(checkAttested('encaps', bob.publicKey, 7, 3, 1, 2, items.get(2)!, att)).toBe(false);
    // Bound to stage, round, group and signer.
    expect(checkAttested('shares', alice.publicKey, 7, 3, 1, 2, items.get(2)!, att)).toBe(false);
    expect(checkAttested('encaps', alice.publicKey, 8, 3, 1, 2, items.get(2)!, att)).toBe(false);
    expect(checkAttested('encaps', alice.publicKey, 7, 4, 1, 2, items.get(2)!, att)).toBe(false);
    expect(checkAttested('encaps', alice.publicKey, 7, 3, 3, 2, items.get(2)!, att)).toBe(false);
    // The coordinator's check wants exactly the items signed: one missing or one extra fails.
    expect(checkAttestedAll('encaps', alice.publicKey, 7, 3, 1, new Map([[2, items.get(2)!]]), att)).toBe(false);
    expect(checkAttestedAll('encaps', alice.publicKey, 7, 3, 1, new Map([...items, [6, items.get(2)!]]), att)).toBe(false);
  });

  it('a malformed attestation is false, never an exception', () => {
    const att = attestItems('shares', alice.secretKey, 1, 1, 2, new Map([[1, sharesItem(bytes(80, 1), bytes(64, 2), bytes(32, 3))]]));
    const item = sharesItem(bytes(80, 1), bytes(64, 2), bytes(32, 3));
    expect(checkAttested('shares', alice.publicKey, 1, 1, 2, 1, item, att)).toBe(true);
    const count = (n: number) => {
      const copy = att.slice();
      new DataView(copy.buffer).setUint32(ML_DSA65_SIGNATURE_BYTES, n, true);
      return copy;
    };
    for (const bad of [att.subarray(1), new Uint8Array(0), count(0), count(2), count(0xffffffff), new Uint8Array(MAX_ATTESTATION_BYTES + 1)]) {
      expect(checkAttested('shares', alice.publicKey, 1, 1, 2, 1, item, bad)).toBe(false);
    }
    const zeroIndex = att.slice();
    new DataView(zeroIndex.buffer).setUint32(ML_DSA65_SIGNATURE_BYTES + 4, 0, true);
    expect(checkAttested('shares', alice.publicKey, 1, 1, 2, 0, item, zeroIndex)).toBe(false);
    expect(MIN_ATTESTATION_BYTES).toBe(attestationBytes(1));
  });

  it('keys and survivor statements bind every field; U3 is signed as a sorted set', () => {
    const fields = { maskPublicKey: bytes(1184, 1), sharePublicKey: bytes(1184, 2), selfCommitment: bytes(32, 3), masterCommitment: bytes(32, 4) };
    const sig = signStatement(alice.secretKey, keysStatement(5, 2, 3, fields));
    expect(verifyStatement(alice.publicKey, keysStatement(5, 2, 3, fields), sig)).toBe(true);
    expect(verifyStatement(alice.publicKey, keysStatement(5, 2, 3, { ...fields, masterCommitment: bytes(32, 5) }), sig)).toBe(false);
    expect(verifyStatement(alice.publicKey, keysStatement(5, 2, 4, fields), sig)).toBe(false);
    expect(survivorsStatement(5, 2, 3, [4, 1, 2])).toEqual(survivorsStatement(5, 2, 3, [1, 2, 4]));
    expect(survivorsStatement(5, 2, 3, [1, 2, 4])).not.toEqual(survivorsStatement(5, 2, 3, [1, 2]));
    expect(() => survivorsStatement(5, 2, 3, [1, 1, 2])).toThrow(/distinct/);
    expect(() => survivorsStatement(5, 2, 0, [1, 2])).toThrow(/distinct/);
  });
});
