/**
 * The coordinator's unmasking arithmetic for one secure group (Bonawitz et al., CCS 2017, §4 round 4), pure:
 *
 *   z = Σ_{s∈U3} y_s − Σ_{s∈U3} PRG(b_s) − Σ_{d∈U2\U3} Σ_{s∈U3 partner of d} ±PRG(s_sd)     (mod 2^32)
 *
 * where y_s = q_s + PRG(b_s) + Σ_{j partner, s<j} PRG(s_sj) − Σ_{j partner, j<s} PRG(s_sj). Masks between two
 * survivors cancel in the sum. A survivor's mask with a dropped partner d is removed in one of two ways
 * (docs/secagg-dropout-recovery.md):
 *
 * - by seeds (the common case): every surviving partner s of d revealed s_sd, and each revealed seed opens both
 *   s's and d's commitments to it from stage shares (commitPairSeed). No KEM work and P_d is never rebuilt.
 * - from P_d (the fallback, for that d only): some surviving partner did not reveal, or a seed failed a
 *   commitment. P_d is rebuilt from t shares, the KEM key pair of d re-derived (and checked against the public
 *   key d sent), s_sd comes from decapsulating the stored ct_sd when s < d, or from re-encapsulating to s with
 *   d's deterministic randomness when d < s (and the result must equal the stored ct_ds). Each seed so derived
 *   is checked against both seed commitments: whoever committed to another seed is named.
 *
 * Every rebuilt secret must open its owner's commitment from stage keys (commitment.ts): the shares given here
 * have each been checked against their dealer's share commitments already, so a secret that does not match
 * means its dealer shared inconsistently, and it is named. Any secret with fewer than t shares or a check that
 * fails gives a reason and no partial result. Reconstructed secrets are wiped before returning.
 */
import {
  addModVectors,
  applyMasks,
  commitPairSeed,
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
  type SignedSeed,
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
  /** `from`'s commitment, from stage shares, to the mask seed it shares with `to`. */
  readonly seedCommitment: (from: number, to: number) => Uint8Array | undefined;
  /** Shares of b_s for each survivor s, x = the replier's index. */
  readonly selfShares: ReadonlyMap<number, readonly ShamirShare[]>;
  /** Shares of P_d for each dropped member d with a surviving partner. */
  readonly masterShares: ReadonlyMap<number, readonly ShamirShare[]>;
  /** For each dropped member d: the mask seed s_sd each surviving partner s revealed, by s. */
  readonly maskSeeds: ReadonlyMap<number, ReadonlyMap<number, Uint8Array>>;
}

/** A member found at fault while unmasking (the sum may still be exact). */
export interface UnmaskFault {
  readonly culprit: number;
  readonly kind: BlameKind;
  readonly detail: string;
}

/**
 * On success, which dropped members were recovered by their partners' seeds and which from their rebuilt master.
 * On failure, `culprit` is the member whose own secret or key failed its check, when one did. Both carry every
 * fault found on the way.
 */
export type UnmaskResult =
  | { readonly ok: true; readonly sum: Uint32Array; readonly bySeeds: readonly number[]; readonly byMaster: readonly number[]; readonly faults: readonly UnmaskFault[] }
  | { readonly ok: false; readonly reason: string; readonly culprit?: number; readonly kind?: BlameKind; readonly faults: readonly UnmaskFault[] };

export function unmaskSum(input: UnmaskInput): UnmaskResult {
  const { threshold, survivors } = input;
  const inU3 = new Set(survivors);
  const dropped = droppedWithSurvivingPartners(input, inU3);
  const faults: UnmaskFault[] = [];
  const selfSeeds = new Map<number, Uint8Array>();
  const bySeeds = new Map<number, ReadonlyArray<readonly [number, Uint8Array]>>();
  const masters = new Map<number, Uint8Array>();
  /** Seeds derived from rebuilt masters (the revealed ones belong to the caller). */
  const derived: SignedSeed[] = [];
  const wipe = (): void => {
    for (const v of [...selfSeeds.values(), ...masters.values(), ...derived.map((m) => m.seed)]) v.fill(0);
  };
  const fail = (r: { reason: string; culprit?: number; kind?: BlameKind }): UnmaskResult => ({ ok: false, ...r, faults });
  try {
    // Reconstruct every secret before touching the sum: all or nothing.
    const commitment = (kind: SecretKind, member: number) => (secret: Uint8Array) =>
      opensCommitment(input.commitment(kind, member), commitSecret(kind, secret, input.round, input.group, member));
    for (const s of survivors) {
      const b = reconstruct(input.selfShares.get(s) ?? [], threshold, commitment('self', s));
      if (typeof b === 'string') return fail(failure(`self-mask seed of member ${s}: ${b}`, s, b));
      selfSeeds.set(s, b);
    }
    for (const d of dropped) {
      const seeds = revealedSeeds(input, d, inU3, faults);
      if (seeds) {
        bySeeds.set(d, seeds);
        continue;
      }
      const p = reconstruct(input.masterShares.get(d) ?? [], threshold, commitment('master', d));
      if (typeof p === 'string') return fail(failure(`pairwise master of dropped member ${d}: ${p}`, d, p));
      masters.set(d, p);
    }

    for (const [d, master] of masters) {
      const problem = droppedMasks(input, d, master, inU3, faults, derived);
      if (problem) return fail({ reason: `dropped member ${d}: ${problem}`, culprit: d, kind: 'mask-key-mismatch' });
    }

    const sum = new Uint32Array(input.dim);
    addModVectors(sum, survivors.map((s) => input.masked.get(s) as Uint32Array), 1);
    const masks: SignedSeed[] = [...selfSeeds.values()].map((seed) => ({ seed, sign: -1 }));
    // s added +PRG(s_sd) if s < d, −PRG(s_sd) if d < s: remove it with the opposite sign.
    for (const [d, seeds] of bySeeds) for (const [s, seed] of seeds) masks.push({ seed, sign: s < d ? -1 : 1 });
    applyMasks(sum, [...masks, ...derived]);
    return { ok: true, sum, bySeeds: [...bySeeds.keys()], byMaster: [...masters.keys()], faults };
  } catch (err) {
    return fail({ reason: `unmasking failed: ${err instanceof Error ? err.message : String(err)}` });
  } finally {
    wipe();
  }
}

/** Members out of U3 that some survivor masked with (their masks must come out of the sum), sorted. */
function droppedWithSurvivingPartners(input: UnmaskInput, inU3: ReadonlySet<number>): number[] {
  const out = new Set(input.masterShares.keys());
  for (const [d, p] of input.partners) if (!inU3.has(d) && p.some((s) => inU3.has(s))) out.add(d);
  return [...out].sort((a, b) => a - b);
}

/**
 * The seeds s_sd of every surviving partner s of dropped member d, if each one revealed its seed and the seed
 * opens both s's and d's commitments to it; else undefined (recover d from P_d). A seed off its revealer's own
 * commitment names the revealer; one that opens the revealer's commitment but not d's names nobody yet (either
 * may have committed falsely): the fallback derives the true seed and names whoever committed to another.
 */
function revealedSeeds(input: UnmaskInput, d: number, inU3: ReadonlySet<number>, faults: UnmaskFault[]): Array<readonly [number, Uint8Array]> | undefined {
  const { round, group } = input;
  const revealed = input.maskSeeds.get(d);
  const out: Array<readonly [number, Uint8Array]> = [];
  let complete = true;
  for (const s of input.partners.get(d) ?? []) {
    if (!inU3.has(s)) continue;
    const seed = revealed?.get(s);
    if (!seed) {
      complete = false;
      continue;
    }
    const fresh = commitPairSeed(seed, round, group, Math.min(s, d), Math.max(s, d));
    if (!opensCommitment(input.seedCommitment(s, d), fresh)) {
      addFault(faults, { culprit: s, kind: 'seed-off-commitment', detail: `the mask seed it revealed for dropped member ${d} differs from the one it committed to` });
      complete = false;
    } else if (!opensCommitment(input.seedCommitment(d, s), fresh)) complete = false;
    else out.push([s, seed]);
  }
  return complete ? out : undefined;
}

/**
 * Derive, from P_d, every pairwise mask seed between dropped member `d` and its surviving partners, with the sign
 * that removes it from the sum, into `out`; or say why P_d does not give d's key pair and ciphertexts.
 */
function droppedMasks(input: UnmaskInput, d: number, master: Uint8Array, inU3: ReadonlySet<number>, faults: UnmaskFault[], out: SignedSeed[]): string | undefined {
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
      const [low, high] = [Math.min(s, d), Math.max(s, d)];
      const maskSeed = pairwiseSecrets(ss, round, group, low, high).maskSeed;
      ss.fill(0);
      // The seed is now certain (P_d opened its commitment and gave d's key and ciphertexts): a commitment to
      // another one is its author's fault. The sum still uses this seed, as an honest s masked with it.
      const fresh = commitPairSeed(maskSeed, round, group, low, high);
      for (const [author, other] of [[d, s], [s, d]] as const) {
        if (!opensCommitment(input.seedCommitment(author, other), fresh)) {
          addFault(faults, { culprit: author, kind: 'seed-off-commitment', detail: `its commitment to the mask seed with ${other} differs from the seed ${d}'s rebuilt master gives` });
        }
      }
      out.push({ seed: maskSeed, sign: s < d ? -1 : 1 });
    }
    return undefined;
  } finally {
    secretKey.fill(0);
  }
}

/** One fault per member and kind: a survivor whose seed commitment is off is caught at its reveal and again in the fallback. */
function addFault(faults: UnmaskFault[], f: UnmaskFault): void {
  if (!faults.some((g) => g.culprit === f.culprit && g.kind === f.kind)) faults.push(f);
}

/** Why a secret failed: a commitment mismatch is its dealer's fault; too few shares is nobody's in particular. */
function failure(reason: string, member: number, problem: string): { reason: string; culprit?: number; kind?: BlameKind } {
  return problem === MISMATCH ? { reason, culprit: member, kind: 'secret-off-commitment' } : { reason };
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
