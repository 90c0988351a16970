/**
 * The coordinator's unmasking arithmetic for one secure group (Bonawitz et al., CCS 2017, §4 round 4), pure:
 *
 *   z = Σ_{s∈U3} y_s − Σ_{s∈U3} PRG(b_s) − Σ_{d∈U2\U3} Σ_{s∈U3 partner of d} ±PRG(s_sd)     (mod 2^32)
 *
 * where y_s = q_s + PRG(b_s) + Σ_{j partner, s<j} PRG(s_sj) − Σ_{j partner, j<s} PRG(s_sj). Masks between two
 * survivors cancel in the sum; a survivor's mask with a dropped partner d is recomputed from P_d: the KEM key
 * pair of d is re-derived (and checked against the public key d sent), s_sd comes from decapsulating the stored
 * ct_sd when s < d, or from re-encapsulating to s with d's deterministic randomness when d < s (and the result
 * must equal the stored ct_ds).
 *
 * Every rebuilt secret must open its owner's commitment from stage keys (commitment.ts): the shares given here
 * have each been checked against their dealer's share commitments already, so a secret that does not match
 * means its dealer shared inconsistently, and it is named. Any secret with fewer than t shares or a check that
 * fails gives a reason and no partial result. Reconstructed secrets are wiped before returning.
 */
import {
  applyMask,
  commitSecret,
  decapsulate,
  encapsRandomness,
  encapsulate,
  equalBytes,
  generateKemKeyPair,
  memberKemSeed,
  opensCommitment,
  pairwiseSecrets,
  shamirCombine,
  type SecretKind,
  type ShamirShare,
} from '@fedwarden/shared';
import type { BlameKind } from '../rounds/round-record.ts';

export interface UnmaskInput {
  readonly round: number;
  readonly group: number;
  readonly threshold: number;
  readonly dim: number;
  /** U3, sorted. */
  readonly survivors: readonly number[];
  readonly masked: ReadonlyMap<number, Uint32Array>;
  /** Masking partners of every member that got shares relayed (U3 and the dropped). */
  readonly partners: ReadonlyMap<number, readonly number[]>;
  /** A member's published mask public key (the one derived from its pairwise master). */
  readonly maskPublicKey: (member: number) => Uint8Array | undefined;
  /** The stored mask-key ciphertext from `from` to `to` (from < to). */
  readonly maskCipherText: (from: number, to: number) => Uint8Array | undefined;
  /** A member's commitment to its self-mask seed or pairwise master, from stage keys. */
  readonly commitment: (kind: SecretKind, member: number) => Uint8Array | undefined;
  /** Shares of b_s for each survivor s, x = the replier's index. */
  readonly selfShares: ReadonlyMap<number, readonly ShamirShare[]>;
  /** Shares of P_d for each dropped member d with a surviving partner. */
  readonly masterShares: ReadonlyMap<number, readonly ShamirShare[]>;
}

/** On failure, `culprit` is the member whose own secret or key failed its check, when one did. */
export type UnmaskResult =
  | { readonly ok: true; readonly sum: Uint32Array }
  | { readonly ok: false; readonly reason: string; readonly culprit?: number; readonly kind?: BlameKind };

export function unmaskSum(input: UnmaskInput): UnmaskResult {
  const { threshold, survivors } = input;
  const inU3 = new Set(survivors);
  const dropped = [...input.masterShares.keys()].sort((a, b) => a - b);
  const selfSeeds = new Map<number, Uint8Array>();
  const masters = new Map<number, Uint8Array>();
  const wipe = (): void => {
    for (const v of [...selfSeeds.values(), ...masters.values()]) v.fill(0);
  };
  try {
    // Reconstruct every secret before touching the sum: all or nothing.
    const commitment = (kind: SecretKind, member: number) => (secret: Uint8Array) =>
      opensCommitment(input.commitment(kind, member), commitSecret(kind, secret, input.round, input.group, member));
    for (const s of survivors) {
      const b = reconstruct(input.selfShares.get(s) ?? [], threshold, commitment('self', s));
      if (typeof b === 'string') return failure(`self-mask seed of member ${s}: ${b}`, s, b);
      selfSeeds.set(s, b);
    }
    for (const d of dropped) {
      const p = reconstruct(input.masterShares.get(d) ?? [], threshold, commitment('master', d));
      if (typeof p === 'string') return failure(`pairwise master of dropped member ${d}: ${p}`, d, p);
      masters.set(d, p);
    }

    const sum = new Uint32Array(input.dim);
    for (const s of survivors) addInto(sum, input.masked.get(s) as Uint32Array);
    for (const b of selfSeeds.values()) applyMask(sum, b, -1);
    for (const [d, master] of masters) {
      const problem = removeDroppedMasks(sum, input, d, master, inU3);
      if (problem) return { ok: false, reason: `dropped member ${d}: ${problem}`, culprit: d, kind: 'mask-key-mismatch' };
    }
    return { ok: true, sum };
  } catch (err) {
    return { ok: false, reason: `unmasking failed: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    wipe();
  }
}

/** Subtract, from `sum`, every pairwise mask between dropped member `d` and its surviving partners. */
function removeDroppedMasks(sum: Uint32Array, input: UnmaskInput, d: number, master: Uint8Array, inU3: ReadonlySet<number>): string | undefined {
  const { round, group } = input;
  const seed = memberKemSeed(master, round, group, d);
  const { publicKey, secretKey } = generateKemKeyPair(seed);
  seed.fill(0);
  try {
    if (!equalBytes(publicKey, input.maskPublicKey(d))) return 'reconstructed key pair does not match its public key';
    for (const s of input.partners.get(d) ?? []) {
      if (!inU3.has(s)) continue;
      let ss: Uint8Array;
      if (s < d) {
        const ct = input.maskCipherText(s, d);
        if (!ct) return `no stored ciphertext from ${s}`;
        ss = decapsulate(ct, secretKey);
      } else {
        const peerKey = input.maskPublicKey(s);
        if (!peerKey) return `no public key for ${s}`;
        const m = encapsRandomness(master, round, group, d, s);
        const enc = encapsulate(peerKey, m);
        m.fill(0);
        ss = enc.sharedSecret;
        if (!equalBytes(enc.cipherText, input.maskCipherText(d, s))) {
          ss.fill(0);
          return `re-encapsulation to ${s} does not match the ciphertext it sent`;
        }
      }
      const maskSeed = pairwiseSecrets(ss, round, group, Math.min(s, d), Math.max(s, d)).maskSeed;
      ss.fill(0);
      // s added +PRG(s_sd) if s < d, −PRG(s_sd) if d < s: remove it with the opposite sign.
      applyMask(sum, maskSeed, s < d ? -1 : 1);
      maskSeed.fill(0);
    }
    return undefined;
  } finally {
    secretKey.fill(0);
  }
}

/** Why a secret failed: a commitment mismatch is its dealer's fault; too few shares is nobody's in particular. */
function failure(reason: string, member: number, problem: string): UnmaskResult {
  return problem === MISMATCH ? { ok: false, reason, culprit: member, kind: 'secret-off-commitment' } : { ok: false, reason };
}

const MISMATCH = 'rebuilt secret does not match its commitment';

/**
 * shamirCombine over the first t shares, accepted only if it opens the commitment (`matches`). The shares have
 * each passed their dealer's share commitment, so with an honest dealer any t of them give the secret.
 */
export function reconstruct(shares: readonly ShamirShare[], t: number, matches: (secret: Uint8Array) => boolean): Uint8Array | string {
  if (shares.length < t) return `${shares.length} good shares, threshold is ${t}`;
  const secret = shamirCombine(shares, t);
  if (matches(secret)) return secret;
  secret.fill(0);
  return MISMATCH;
}

function addInto(sum: Uint32Array, y: Uint32Array): void {
  const a = new Int32Array(sum.buffer, sum.byteOffset, sum.length);
  const b = new Int32Array(y.buffer, y.byteOffset, y.length);
  for (let i = 0; i < a.length; i++) a[i] = ((a[i] as number) + (b[i] as number)) | 0;
}
