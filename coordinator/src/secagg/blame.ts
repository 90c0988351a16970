/**
 * Blame in SecAgg+: who is at fault when a member cannot use a partner's shares, judged by the coordinator from
 * the transcript alone, pure. Shares that `accused` seals for `complainer` are keyed by K, the secret of the
 * complainer's ML-KEM encapsulation to the accused's share key (shared/src/secagg/pairwise.ts). A complaint
 * carries that encapsulation's randomness r: re-encapsulating with r must give the very ciphertext the
 * complainer relayed in stage encaps — else the complainer lies — and then yields K, hence the one directional
 * key. Under it, the sealed bytes the accused sent either fail to open or open to shares that differ from the
 * accused's own commitments (the accused is at fault), or open and match (the complaint is false: the
 * complainer is at fault). Nobody can frame an honest member: r is bound by the stored ciphertext, and the
 * sealed bytes and commitments are what the accused itself sent.
 *
 * What a complaint reveals: K for that direction of that pair only — the accused's two shares for the
 * complainer (one of b, one of P: fewer than t of either), never the complainer's own shares (keyed by the
 * other direction's encapsulation), a mask seed (another KEM exchange and HKDF label) or another pair.
 */
import {
  FedwardenError,
  commitShare,
  encapsulate,
  equalBytes,
  openShares,
  opensCommitment,
  shareKey,
  SECAGG_COMMITMENT_BYTES,
} from '@fedwarden/shared';
import type { BlameKind } from '../rounds/round-record.ts';

/** A fault the group attributed to one member, by index. */
export interface GroupBlame {
  readonly culprit: number;
  readonly kind: BlameKind;
  /** The member whose complaint led here, if any. */
  readonly accuser?: number;
  readonly detail: string;
}

export interface Complaint {
  readonly round: number;
  readonly group: number;
  readonly complainer: number;
  readonly accused: number;
  /** ML-KEM randomness of the complainer's encapsulation to the accused's share key. */
  readonly evidence: Uint8Array;
  /** The accused's share public key, as it sent it in stage keys. */
  readonly accusedSharePublicKey: Uint8Array | undefined;
  /** The complainer's ciphertext to that key, as it sent it in stage encaps. */
  readonly shareCipherText: Uint8Array | undefined;
  /** What the accused sealed for the complainer, and its commitments to the two shares inside (stage shares). */
  readonly sealed: Uint8Array | undefined;
  readonly commitments: Uint8Array | undefined;
}

export function judgeComplaint(c: Complaint): GroupBlame {
  const { round, group, complainer, accused } = c;
  const against = (culprit: number, kind: BlameKind, detail: string): GroupBlame => ({ culprit, kind, accuser: complainer, detail });
  if (!c.accusedSharePublicKey || !c.shareCipherText || !c.sealed || !c.commitments) {
    throw new FedwardenError('INTERNAL', `judgeComplaint: transcript of ${complainer} → ${accused} incomplete`);
  }
  const enc = encapsulate(c.accusedSharePublicKey, c.evidence);
  let key: Uint8Array;
  try {
    if (!equalBytes(enc.cipherText, c.shareCipherText)) {
      return against(complainer, 'false-complaint', `evidence against ${accused} does not reproduce ${complainer}'s share-key ciphertext`);
    }
    key = shareKey(enc.sharedSecret, round, group, accused, complainer);
  } finally {
    enc.sharedSecret.fill(0);
  }
  try {
    let opened;
    try {
      opened = openShares(key, round, group, accused, complainer, c.sealed);
    } catch (err) {
      if (err instanceof FedwardenError && err.code === 'DECRYPT_FAILED') {
        return against(accused, 'unopenable-shares', `shares sealed for ${complainer} do not open under their proven key`);
      }
      throw err;
    }
    const good =
      opensCommitment(c.commitments.subarray(0, SECAGG_COMMITMENT_BYTES), commitShare('self', opened.selfShare, round, group, accused, complainer)) &&
      opensCommitment(c.commitments.subarray(SECAGG_COMMITMENT_BYTES), commitShare('master', opened.masterShare, round, group, accused, complainer));
    opened.selfShare.fill(0);
    opened.masterShare.fill(0);
    return good
      ? against(complainer, 'false-complaint', `shares from ${accused} open and match their commitments`)
      : against(accused, 'shares-off-commitment', `shares sealed for ${complainer} do not match their commitments`);
  } finally {
    key.fill(0);
  }
}
