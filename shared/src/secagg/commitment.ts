/**
 * Hash commitments of SecAgg+ (SHA-256, FIPS 180-4), so that no reconstruction can silently go wrong:
 *
 * - secret commitments, sent in stage keys: C_b = H(label_b || round || group || i || b_i) to the self-mask seed
 *   and C_P = H(label_P || round || group || i || P_i) to the pairwise master — exactly the two objects the
 *   coordinator ever reconstructs (b_s of a survivor, P_d of a dropped member);
 * - share commitments, sent with the sealed shares in stage shares: H(label || round || group || dealer ||
 *   holder || share) for each share of b_i and of P_i, so that the receiver can check what it opened and the
 *   coordinator can check what a holder reveals at unmask, share by share, and name the one that lies;
 * - pair-seed commitments, sent beside them: H(label || round || group || low || high || s_low,high) to the
 *   pairwise mask seed the sender shares with that holder. Both ends commit to the same bytes, so an honest pair's
 *   two commitments are equal; a survivor that reveals the seed it shares with a dropped member at unmask must
 *   open both (docs/secagg-dropout-recovery.md).
 *
 * Every committed value is 32 uniformly random bytes (a seed, or a Shamir share of one, uniform whatever the
 * secret while fewer than t are known), so the hash alone hides it (random-oracle model) and binds it
 * (collision resistance); no blinding nonce is needed. Labels are prefix-free and every field has a fixed
 * width, so one commitment cannot be read as another kind, round, group or member.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes } from '../bytes.ts';
import { FedwardenError } from '../errors.ts';
import { assertBytes } from '../crypto/assert-bytes.ts';
import { SHAMIR_MAX_SHARES } from './shamir.ts';

/** SHA-256 output. */
export const COMMITMENT_BYTES = 32;
/** The committed values: seeds and shares of seeds. */
const COMMITTED_BYTES = 32;

/** Domain-separation prefixes. Append only; each string is part of the protocol. */
export const COMMITMENT_LABELS = {
  /** A member's self-mask seed b_i. */
  selfSeed: 'fedwarden/v1/secagg/commit/self-seed',
  /** A member's pairwise master P_i. */
  master: 'fedwarden/v1/secagg/commit/master-seed',
  /** One Shamir share of b_i, for one holder. */
  selfShare: 'fedwarden/v1/secagg/commit/self-share',
  /** One Shamir share of P_i, for one holder. */
  masterShare: 'fedwarden/v1/secagg/commit/master-share',
  /** The pairwise mask seed s_ij of two neighbours, committed to by both. */
  pairSeed: 'fedwarden/v1/secagg/commit/pair-seed',
} as const;

export type SecretKind = 'self' | 'master';

/** C = H(label || round || group || member || secret), the commitment to member's b (self) or P (master). */
export function commitSecret(kind: SecretKind, secret: Uint8Array, round: number, group: number, member: number): Uint8Array {
  assertBytes(secret, COMMITTED_BYTES, 'commitSecret', 'secret', 'INTERNAL');
  const label = kind === 'self' ? COMMITMENT_LABELS.selfSeed : COMMITMENT_LABELS.master;
  return digest('commitSecret', label, secret, round, group, member);
}

/** H(label || round || group || dealer || holder || share): dealer's share of its b (self) or P (master) for holder. */
export function commitShare(kind: SecretKind, share: Uint8Array, round: number, group: number, dealer: number, holder: number): Uint8Array {
  assertBytes(share, COMMITTED_BYTES, 'commitShare', 'share');
  if (dealer === holder) throw new FedwardenError('INTERNAL', 'commitShare: dealer and holder must differ');
  const label = kind === 'self' ? COMMITMENT_LABELS.selfShare : COMMITMENT_LABELS.masterShare;
  return digest('commitShare', label, share, round, group, dealer, holder);
}

/** H(label || round || group || low || high || seed): the commitment of either end to the mask seed of low < high. */
export function commitPairSeed(seed: Uint8Array, round: number, group: number, low: number, high: number): Uint8Array {
  assertBytes(seed, COMMITTED_BYTES, 'commitPairSeed', 'seed');
  if (!(low < high)) throw new FedwardenError('INTERNAL', 'commitPairSeed: low must be below high');
  return digest('commitPairSeed', COMMITMENT_LABELS.pairSeed, seed, round, group, low, high);
}

/** Whether `value` opens `commitment` (a fresh commitment compared in constant time). */
export function opensCommitment(commitment: Uint8Array | undefined, fresh: Uint8Array): boolean {
  if (!(commitment instanceof Uint8Array) || fresh.length !== COMMITMENT_BYTES) return false;
  return equalBytes(fresh, commitment);
}

function digest(fn: string, label: string, value: Uint8Array, round: number, group: number, ...members: number[]): Uint8Array {
  for (const [name, n] of [['round', round], ['group', group]] as const) {
    if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new FedwardenError('INTERNAL', `${fn}: ${name} must be a u32`);
  }
  for (const m of members) {
    if (!Number.isInteger(m) || m < 1 || m > SHAMIR_MAX_SHARES) throw new FedwardenError('INTERNAL', `${fn}: member index must be in 1..${SHAMIR_MAX_SHARES}`);
  }
  const labelBytes = new TextEncoder().encode(label);
  const input = new Uint8Array(labelBytes.length + 4 * (2 + members.length) + value.length);
  input.set(labelBytes, 0);
  const view = new DataView(input.buffer);
  [round, group, ...members].forEach((field, i) => view.setUint32(labelBytes.length + 4 * i, field, true));
  input.set(value, labelBytes.length + 4 * (2 + members.length));
  try {
    return sha256(input);
  } finally {
    input.fill(0);
  }
}
