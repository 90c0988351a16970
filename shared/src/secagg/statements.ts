/**
 * What a secure-aggregation member signs with its identity key (crypto/identity.ts, ML-DSA-65), so that a
 * coordinator relaying the protocol cannot substitute, alter, swap or invent what one member says to another,
 * nor tell members different survivor sets (Bonawitz et al., CCS 2017, §4 and Fig. 4, the malicious-server
 * variant: signed keys, and a consistency round over U3 before anything is unmasked).
 *
 * - keys:      label || round || group || signer || maskPk || sharePk || C_b || C_P        (one statement)
 * - encaps:    label || round || group || signer || count || (recipient || H(item))*     (one statement for all
 * - shares:    the same, with the shares label                                           recipients of the stage)
 * - survivors: label || round || group || signer || count || index*                      (U3, sorted)
 *
 * Integers are u32 little-endian; every field has a fixed width or a count in front; the labels are prefix-free.
 * A member signs one statement per stage for all its recipients: the coordinator relays to each recipient its own
 * item plus an attestation (the signature and the list of (recipient, SHA-256 of item) pairs), from which the
 * recipient rebuilds the statement, checks that its own item is the one listed for it, and verifies. So one
 * signature per stage serves k neighbours, and no recipient learns another's item.
 *
 * Items: to a recipient j, an encaps item is  u8 flag || [mask-key ciphertext if flag = 1] || share-key
 * ciphertext  (the mask-key ciphertext exists only from a lower to a higher index), a shares item is the sealed
 * shares || the commitments to the two shares inside.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes } from '../bytes.ts';
import { FedwardenError } from '../errors.ts';
import { ML_DSA65_SIGNATURE_BYTES, signStatement, verifyStatement } from '../crypto/identity.ts';
import { SHAMIR_MAX_SHARES } from './shamir.ts';

/** Domain-separation prefixes of signed statements. Append only; each string is part of the protocol. */
export const STATEMENT_LABELS = {
  keys: 'fedwarden/v1/secagg/sign/keys',
  encaps: 'fedwarden/v1/secagg/sign/encaps',
  shares: 'fedwarden/v1/secagg/sign/shares',
  survivors: 'fedwarden/v1/secagg/sign/survivors',
} as const;

export type ListStage = 'encaps' | 'shares';

/** SHA-256 of an item. */
export const ITEM_DIGEST_BYTES = 32;
const ENTRY_BYTES = 4 + ITEM_DIGEST_BYTES;

/** Attestation size for `count` recipients: signature || u32 count || count × (u32 recipient || digest). */
export function attestationBytes(count: number): number {
  return ML_DSA65_SIGNATURE_BYTES + 4 + count * ENTRY_BYTES;
}
/** Bounds of an attestation's size on the wire (1..SHAMIR_MAX_SHARES recipients). */
export const MIN_ATTESTATION_BYTES = attestationBytes(1);
export const MAX_ATTESTATION_BYTES = attestationBytes(SHAMIR_MAX_SHARES);

/** The statement a member signs in stage keys. */
export function keysStatement(
  round: number,
  group: number,
  signer: number,
  fields: { readonly maskPublicKey: Uint8Array; readonly sharePublicKey: Uint8Array; readonly selfCommitment: Uint8Array; readonly masterCommitment: Uint8Array },
): Uint8Array {
  return concatBytes([header(STATEMENT_LABELS.keys, round, group, signer), fields.maskPublicKey, fields.sharePublicKey, fields.selfCommitment, fields.masterCommitment]);
}

/** The statement over U3 that a member signs in the consistency round. */
export function survivorsStatement(round: number, group: number, signer: number, survivors: readonly number[]): Uint8Array {
  const sorted = checkedIndices([...survivors].sort((a, b) => a - b), 'survivorsStatement');
  return concatBytes([header(STATEMENT_LABELS.survivors, round, group, signer), u32s([sorted.length, ...sorted])]);
}

/** The item of an encaps stage for one recipient. */
export function encapsItem(maskCipherText: Uint8Array | undefined, shareCipherText: Uint8Array): Uint8Array {
  return maskCipherText ? concatBytes([Uint8Array.of(1), maskCipherText, shareCipherText]) : concatBytes([Uint8Array.of(0), shareCipherText]);
}

/**
 * The item of a shares stage for one recipient: the sealed shares, the commitments to them and the commitment to
 * the pair's mask seed (fixed widths, checked by every caller, so the concatenation parses one way only).
 */
export function sharesItem(sealed: Uint8Array, commitments: Uint8Array, seedCommitment: Uint8Array): Uint8Array {
  return concatBytes([sealed, commitments, seedCommitment]);
}

/** Sign a list stage: one signature over every recipient's item. Returns the attestation relayed to each recipient. */
export function attestItems(stage: ListStage, secretKey: Uint8Array, round: number, group: number, signer: number, items: ReadonlyMap<number, Uint8Array>): Uint8Array {
  const digests = [...items].sort(([a], [b]) => a - b).map(([index, item]) => ({ index, digest: sha256(item) }));
  const signature = signStatement(secretKey, listStatement(stage, round, group, signer, digests));
  const out = new Uint8Array(attestationBytes(digests.length));
  out.set(signature, 0);
  const view = new DataView(out.buffer);
  view.setUint32(ML_DSA65_SIGNATURE_BYTES, digests.length, true);
  digests.forEach(({ index, digest }, k) => {
    const at = ML_DSA65_SIGNATURE_BYTES + 4 + k * ENTRY_BYTES;
    view.setUint32(at, index, true);
    out.set(digest, at + 4);
  });
  return out;
}

/**
 * Whether `attestation` is `signer`'s valid signature (under `publicKey`) of a list-stage statement whose entry
 * for `recipient` is the digest of `item`. Malformed attestations are false, never an exception.
 */
export function checkAttested(
  stage: ListStage,
  publicKey: Uint8Array,
  round: number,
  group: number,
  signer: number,
  recipient: number,
  item: Uint8Array,
  attestation: Uint8Array,
): boolean {
  const parsed = parseAttestation(attestation);
  if (!parsed) return false;
  const mine = parsed.digests.find((d) => d.index === recipient);
  if (!mine || !equalBytes(mine.digest, sha256(item))) return false;
  return verifyStatement(publicKey, listStatement(stage, round, group, signer, parsed.digests), parsed.signature);
}

/**
 * Whether `attestation` is `signer`'s valid signature over exactly `items` (the same recipients, each digest
 * matching): what the coordinator checks once per member and stage before it accepts and relays anything.
 */
export function checkAttestedAll(
  stage: ListStage,
  publicKey: Uint8Array,
  round: number,
  group: number,
  signer: number,
  items: ReadonlyMap<number, Uint8Array>,
  attestation: Uint8Array,
): boolean {
  const parsed = parseAttestation(attestation);
  if (!parsed || parsed.digests.length !== items.size) return false;
  for (const { index, digest } of parsed.digests) {
    const item = items.get(index);
    if (!item || !equalBytes(digest, sha256(item))) return false;
  }
  return verifyStatement(publicKey, listStatement(stage, round, group, signer, parsed.digests), parsed.signature);
}

function parseAttestation(bytes: Uint8Array): { signature: Uint8Array; digests: { index: number; digest: Uint8Array }[] } | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length < MIN_ATTESTATION_BYTES || bytes.length > MAX_ATTESTATION_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(ML_DSA65_SIGNATURE_BYTES, true);
  if (count < 1 || count > SHAMIR_MAX_SHARES || bytes.length !== attestationBytes(count)) return undefined;
  const digests: { index: number; digest: Uint8Array }[] = [];
  for (let k = 0; k < count; k++) {
    const at = ML_DSA65_SIGNATURE_BYTES + 4 + k * ENTRY_BYTES;
    const index = view.getUint32(at, true);
    // Strictly increasing indices: one encoding per list, no repeated recipient.
    if (index < 1 || index > SHAMIR_MAX_SHARES || (k > 0 && index <= (digests[k - 1] as { index: number }).index)) return undefined;
    digests.push({ index, digest: bytes.subarray(at + 4, at + ENTRY_BYTES) });
  }
  return { signature: bytes.subarray(0, ML_DSA65_SIGNATURE_BYTES), digests };
}

function listStatement(stage: ListStage, round: number, group: number, signer: number, digests: readonly { index: number; digest: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [header(STATEMENT_LABELS[stage], round, group, signer), u32s([digests.length])];
  for (const { index, digest } of digests) parts.push(u32s([index]), digest);
  return concatBytes(parts);
}

function header(label: string, round: number, group: number, signer: number): Uint8Array {
  for (const [name, n] of [['round', round], ['group', group]] as const) {
    if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new FedwardenError('INTERNAL', `statement: ${name} must be a u32`);
  }
  checkedIndices([signer], 'statement signer');
  return concatBytes([new TextEncoder().encode(label), u32s([round, group, signer])]);
}

function checkedIndices(indices: readonly number[], what: string): readonly number[] {
  indices.forEach((i, k) => {
    if (!Number.isInteger(i) || i < 1 || i > SHAMIR_MAX_SHARES || (k > 0 && i <= (indices[k - 1] as number))) {
      throw new FedwardenError('INTERNAL', `${what}: indices must be distinct integers in 1..${SHAMIR_MAX_SHARES}`);
    }
  });
  return indices;
}

function u32s(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(4 * i, v, true));
  return out;
}

