/**
 * Key derivations of SecAgg+ with ML-KEM (FIPS 203) for one round of one secure group, all HKDF-SHA256
 * (RFC 5869) with an empty salt, and the AEAD framing of Shamir shares (AES-256-GCM, aead.ts).
 *
 * Each member i draws a fresh 32-byte pairwise master P_i per round. P_i determines i's ML-KEM-768 key pair
 * (memberKemSeed) and the randomness of every encapsulation i performs (encapsRandomness), so that when i drops,
 * the coordinator can rebuild P_i from t shares and recompute each of i's pairwise secrets: re-encapsulate to a
 * higher neighbour's public key, or decapsulate a lower neighbour's ciphertext with i's regenerated secret key.
 * The lower index encapsulates to the higher; the KEM shared secret yields the pairwise mask seed s_ij.
 *
 * Every HKDF info is  label || round || group || indices  (u32 little-endian each, indices in the order of the
 * function's arguments). The labels in KDF_LABELS are prefix-free and every field has a fixed width, so an info
 * string parses one way only: nothing derived for one (purpose, round, group, members) is valid for another.
 *
 * Share keys come from a second, fresh ML-KEM key pair per member that is never secret-shared: whoever learns
 * P_i learns every shared secret of i's mask-key exchanges, and if share keys came from those, rebuilding a
 * dropped member's P_i would open every share it sent or received, including ≥ t shares of b_i (Bonawitz et al.,
 * CCS 2017, use two key pairs for that reason). The share exchange is directional: the shares `sender` seals
 * for `receiver` are keyed by shareKey(K_{sender→receiver}), where K is the secret of the RECEIVER's
 * encapsulation, with fresh randomness r, to the sender's share key. So the receiver of shares can prove their
 * key (blame): it reveals r, and anyone holding the relayed share key and ciphertext recomputes the ciphertext
 * and K. Revealing r exposes K_{sender→receiver} only: the one message of shares sealed in that direction for
 * that pair (one share of b_sender and one of P_sender, fewer than t). It reveals nothing of the shares sealed
 * the other way (their K comes from the other member's encapsulation), of any mask seed (a different KEM
 * exchange, keyed by P, and a different HKDF label), or of any other pair.
 */
import { FedwardenError } from '../errors.ts';
import { AES256_GCM_NONCE_BYTES, AES256_GCM_TAG_BYTES, aeadOpen, aeadSeal } from '../crypto/aead.ts';
import { assertBytes } from '../crypto/assert-bytes.ts';
import { KDF_LABELS, hkdfSha256 } from '../crypto/kdf.ts';
import { ML_KEM_ENCAPS_RANDOMNESS_BYTES, ML_KEM_KEYGEN_SEED_BYTES, ML_KEM_SHARED_SECRET_BYTES } from '../crypto/kem.ts';
import { SHAMIR_MAX_SHARES } from './shamir.ts';

/** Self-mask seed b_i, pairwise master P_i, mask seeds, share keys and Shamir shares of the secrets. */
export const SECRET_BYTES = 32;
/** AES-256-GCM of selfShare || masterShare: 2·32 + 16-byte tag. */
export const SEALED_SHARES_BYTES = 2 * SECRET_BYTES + AES256_GCM_TAG_BYTES;

/**
 * The all-zero nonce. Safe only because each directional share key encrypts exactly one message: it is derived
 * from a KEM secret fresh to this round and pair and bound to (round, group, sender, receiver). A member that
 * must resend its shares resends the same sealed bytes; sealing new shares under the same key would reuse the
 * nonce, which in GCM leaks the XOR of the plaintexts and the authentication key.
 */
const ZERO_NONCE = new Uint8Array(AES256_GCM_NONCE_BYTES);
const EMPTY_SALT = new Uint8Array(0);

/** ML-KEM.KeyGen seed d || z (64 bytes) of member `index` for this round and group, from its master P_i. */
export function memberKemSeed(master: Uint8Array, round: number, group: number, index: number): Uint8Array {
  assertBytes(master, SECRET_BYTES, 'memberKemSeed', 'master', 'INTERNAL');
  return derive(master, context('memberKemSeed', KDF_LABELS.secaggKemSeed, round, group, index), ML_KEM_KEYGEN_SEED_BYTES);
}

/** ML-KEM.Encaps randomness m (32 bytes) for `from`'s encapsulation to `to` (from < to), from `from`'s master. */
export function encapsRandomness(master: Uint8Array, round: number, group: number, from: number, to: number): Uint8Array {
  assertBytes(master, SECRET_BYTES, 'encapsRandomness', 'master', 'INTERNAL');
  if (!(from < to)) throw new FedwardenError('INTERNAL', 'encapsRandomness: the lower index encapsulates to the higher');
  return derive(master, context('encapsRandomness', KDF_LABELS.secaggEncaps, round, group, from, to), ML_KEM_ENCAPS_RANDOMNESS_BYTES);
}

export interface PairwiseSecrets {
  /** s_ij: the member with index `low` adds PRG(s_ij), the one with index `high` subtracts it. */
  readonly maskSeed: Uint8Array;
}

/** What members `low` < `high` derive from the shared secret of low's encapsulation to high. */
export function pairwiseSecrets(sharedSecret: Uint8Array, round: number, group: number, low: number, high: number): PairwiseSecrets {
  assertBytes(sharedSecret, ML_KEM_SHARED_SECRET_BYTES, 'pairwiseSecrets', 'sharedSecret', 'INTERNAL');
  if (!(low < high)) throw new FedwardenError('INTERNAL', 'pairwiseSecrets: low must be below high');
  return { maskSeed: derive(sharedSecret, context('pairwiseSecrets', KDF_LABELS.secaggPairMask, round, group, low, high), SECRET_BYTES) };
}

/**
 * The AES-256-GCM key for the one message of shares from `sender` to `receiver`, from K_{sender→receiver}: the
 * shared secret of receiver's encapsulation to sender's share key (see above).
 */
export function shareKey(sharedSecret: Uint8Array, round: number, group: number, sender: number, receiver: number): Uint8Array {
  assertBytes(sharedSecret, ML_KEM_SHARED_SECRET_BYTES, 'shareKey', 'sharedSecret', 'INTERNAL');
  if (sender === receiver) throw new FedwardenError('INTERNAL', 'shareKey: sender and receiver must differ');
  return derive(sharedSecret, context('shareKey', KDF_LABELS.secaggShareKey, round, group, sender, receiver), SECRET_BYTES);
}

/** Seal sender's shares of its self-mask seed and pairwise master for receiver: SEALED_SHARES_BYTES bytes. */
export function sealShares(
  key: Uint8Array,
  round: number,
  group: number,
  sender: number,
  receiver: number,
  selfShare: Uint8Array,
  masterShare: Uint8Array,
): Uint8Array {
  assertBytes(selfShare, SECRET_BYTES, 'sealShares', 'selfShare', 'INTERNAL');
  assertBytes(masterShare, SECRET_BYTES, 'sealShares', 'masterShare', 'INTERNAL');
  const aad = sharesAad('sealShares', round, group, sender, receiver);
  const plaintext = new Uint8Array(2 * SECRET_BYTES);
  plaintext.set(selfShare, 0);
  plaintext.set(masterShare, SECRET_BYTES);
  try {
    return aeadSeal(key, ZERO_NONCE, plaintext, aad);
  } finally {
    plaintext.fill(0);
  }
}

export interface OpenedShares {
  readonly selfShare: Uint8Array;
  readonly masterShare: Uint8Array;
}

/** Open shares sealed by sealShares with the same binding; tampering or any other binding is DECRYPT_FAILED. */
export function openShares(key: Uint8Array, round: number, group: number, sender: number, receiver: number, sealed: Uint8Array): OpenedShares {
  assertBytes(sealed, SEALED_SHARES_BYTES, 'openShares', 'sealed');
  const aad = sharesAad('openShares', round, group, sender, receiver);
  const plaintext = aeadOpen(key, ZERO_NONCE, sealed, aad);
  try {
    return { selfShare: plaintext.slice(0, SECRET_BYTES), masterShare: plaintext.slice(SECRET_BYTES) };
  } finally {
    plaintext.fill(0);
  }
}

function sharesAad(fn: string, round: number, group: number, sender: number, receiver: number): Uint8Array {
  if (sender === receiver) throw new FedwardenError('INTERNAL', `${fn}: sender and receiver must differ`);
  return context(fn, KDF_LABELS.secaggShares, round, group, sender, receiver);
}

function derive(ikm: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdfSha256(ikm, EMPTY_SALT, info, length);
}

/** label (UTF-8) || round || group || indices, each u32 little-endian. */
function context(fn: string, label: string, round: number, group: number, ...indices: number[]): Uint8Array {
  checkU32(fn, 'round', round);
  checkU32(fn, 'group', group);
  for (const index of indices) {
    if (!Number.isInteger(index) || index < 1 || index > SHAMIR_MAX_SHARES) {
      throw new FedwardenError('INTERNAL', `${fn}: member index must be an integer in 1..${SHAMIR_MAX_SHARES}`);
    }
  }
  const labelBytes = new TextEncoder().encode(label);
  const out = new Uint8Array(labelBytes.length + 4 * (2 + indices.length));
  out.set(labelBytes, 0);
  const view = new DataView(out.buffer);
  [round, group, ...indices].forEach((field, i) => view.setUint32(labelBytes.length + 4 * i, field, true));
  return out;
}

function checkU32(fn: string, name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new FedwardenError('INTERNAL', `${fn}: ${name} must be a u32`);
}
