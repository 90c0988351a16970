/**
 * The participant's SecAgg+ stage functions (Bonawitz et al., CCS 2017, §4 and Fig. 4; Bell et al., CCS 2020,
 * "SecAgg+"), with ML-KEM-768 in place of Diffie–Hellman. Each takes the state object and one message from
 * the coordinator and returns the answer; client-protocol.ts runs them in order and wipes the state on error.
 *
 * What an honest member refuses (throws, answers nothing), beyond malformed input:
 * - encaps: fewer than t neighbours' keys relayed; shares: fewer than t paired neighbours; masked: fewer than t
 *   masking partners. Each makes it impossible to recover this member's secrets from t of its partners.
 * - masked: a relayed share that does not open (DECRYPT_FAILED): it was tampered with or misaddressed.
 * - unmask: survivors ∩ dropped ≠ ∅ (asking for both secrets of one member would unmask it); survivors ∪
 *   dropped ≠ my partners (a non-partner, or a partner left out); fewer than t survivors among my partners —
 *   the local form of the "|U3| < t: abort" check of Bonawitz et al. §4: below it the coordinator could not
 *   recover b_i anyway, and the sum would contain too few inputs to hide each of them.
 * - setup: a threshold of at most half the degree (client-state.ts): with 2t ≤ k a coordinator telling half of
 *   my neighbours "i survived" and the other half "i dropped" could collect t shares of both my secrets.
 *
 * Two key exchanges per pair. The mask key pair and the encapsulation randomness derive from P_i, so that a
 * coordinator that rebuilds a dropped member's P_i can recompute its pairwise mask seeds. The share key pair is
 * fresh and never secret-shared, so rebuilding P_i never opens the shares i sent or received (which include
 * shares of b_i): this is why Bonawitz et al. use two key pairs (c and s) per member.
 */
import {
  FedwardenError,
  ML_KEM768_CIPHERTEXT_BYTES,
  ML_KEM768_PUBLIC_KEY_BYTES,
  ML_KEM_ENCAPS_RANDOMNESS_BYTES,
  ML_KEM_KEYGEN_SEED_BYTES,
  SECAGG_CIPHERTEXTS_BYTES,
  SECAGG_PUBLIC_KEYS_BYTES,
  SECAGG_SEALED_SHARES_BYTES,
  SECRET_BYTES,
  applyMask,
  decapsulate,
  encapsRandomness,
  encapsulate,
  generateKemKeyPair,
  memberKemSeed,
  openShares,
  pairwiseSecrets,
  quantize,
  sealShares,
  shamirSplit,
  shareKey,
  type IndexedBytes,
  type MessageOf,
} from '@fedwarden/shared';
import {
  checkIndices,
  checkRelay,
  checkRound,
  draw,
  need,
  sortedKeys,
  type ClientState,
  type PeerKeys,
} from './client-state.ts';

export interface TrainingMeta {
  readonly numSamples: number;
  readonly meanLoss: number;
  readonly trainMs: number;
}

/** Stage keys: draw b_i and P_i, derive the mask key pair from P_i, draw a fresh share key pair, publish both. */
export function keysStage(s: ClientState, meta: TrainingMeta): MessageOf<'saKeys'> {
  const { numSamples, meanLoss, trainMs } = meta;
  if (!Number.isSafeInteger(numSamples) || numSamples < 1 || numSamples > 0xffffffff) {
    throw new FedwardenError('BAD_UPDATE', `saKeys: numSamples must be a positive u32, got ${numSamples}`);
  }
  if (!Number.isFinite(meanLoss) || !Number.isFinite(trainMs) || trainMs < 0) {
    throw new FedwardenError('BAD_UPDATE', 'saKeys: meanLoss and trainMs must be finite, trainMs >= 0');
  }
  const { group, index } = s.setup;
  s.selfSeed = draw(s.random, SECRET_BYTES);
  s.master = draw(s.random, SECRET_BYTES);
  const seed = memberKemSeed(s.master, s.round, group, index);
  const shareSeed = draw(s.random, ML_KEM_KEYGEN_SEED_BYTES);
  try {
    const mask = generateKemKeyPair(seed);
    const share = generateKemKeyPair(shareSeed);
    s.kemSecretKey = mask.secretKey;
    s.shareSecretKey = share.secretKey;
    return {
      kind: 'saKeys',
      round: s.round,
      numSamples,
      meanLoss,
      trainMs,
      maskPublicKey: mask.publicKey,
      sharePublicKey: share.publicKey,
    };
  } finally {
    seed.fill(0);
    shareSeed.fill(0);
  }
}

/** Stage encaps: encapsulate to each relayed neighbour with a higher index, with randomness from P_i. */
export function encapsStage(s: ClientState, msg: MessageOf<'saPeerKeys'>): MessageOf<'saEncaps'> {
  checkRound(s, msg.round, 'saPeerKeys');
  const { index, threshold, group } = s.setup;
  const keys = checkRelay(msg.keys, (j) => s.neighbours.has(j), SECAGG_PUBLIC_KEYS_BYTES, 'saPeerKeys');
  if (keys.length < threshold) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', `saPeerKeys: ${keys.length} neighbours reached keys, threshold is ${threshold}`);
  }
  const master = need(s.master, 'P_i');
  const cipherTexts: IndexedBytes[] = [];
  for (const { index: j, bytes } of keys) {
    s.keyed.add(j);
    if (j < index) continue;
    const m = encapsRandomness(master, s.round, group, index, j);
    const fresh = draw(s.random, ML_KEM_ENCAPS_RANDOMNESS_BYTES);
    try {
      const mask = encapsulate(bytes.subarray(0, ML_KEM768_PUBLIC_KEY_BYTES), m);
      const share = encapsulate(bytes.subarray(ML_KEM768_PUBLIC_KEY_BYTES), fresh);
      s.peers.set(j, derivePeer(s, mask.sharedSecret, share.sharedSecret, j));
      const both = new Uint8Array(SECAGG_CIPHERTEXTS_BYTES);
      both.set(mask.cipherText, 0);
      both.set(share.cipherText, ML_KEM768_CIPHERTEXT_BYTES);
      cipherTexts.push({ index: j, bytes: both });
    } finally {
      m.fill(0);
      fresh.fill(0);
    }
  }
  return { kind: 'saEncaps', round: s.round, cipherTexts };
}

/**
 * Stage shares: decapsulate what lower neighbours sent, then Shamir-split b_i and P_i (threshold t, x = the
 * neighbour's index) over every paired neighbour and seal each one's two shares under our pairwise key.
 */
export function sharesStage(s: ClientState, msg: MessageOf<'saPeerEncaps'>): MessageOf<'saShares'> {
  checkRound(s, msg.round, 'saPeerEncaps');
  const { index, threshold, group } = s.setup;
  const cts = checkRelay(msg.cipherTexts, (j) => j < index && s.keyed.has(j), SECAGG_CIPHERTEXTS_BYTES, 'saPeerEncaps');
  const maskSk = need(s.kemSecretKey, 'mask secret key');
  const shareSk = need(s.shareSecretKey, 'share secret key');
  for (const { index: j, bytes } of cts) {
    const maskSecret = decapsulate(bytes.subarray(0, ML_KEM768_CIPHERTEXT_BYTES), maskSk);
    const shareSecret = decapsulate(bytes.subarray(ML_KEM768_CIPHERTEXT_BYTES), shareSk);
    s.peers.set(j, derivePeer(s, maskSecret, shareSecret, j));
  }
  maskSk.fill(0);
  shareSk.fill(0);
  s.kemSecretKey = undefined;
  s.shareSecretKey = undefined;

  const paired = sortedKeys(s.peers);
  if (paired.length < threshold) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', `saPeerEncaps: ${paired.length} paired neighbours, threshold is ${threshold}`);
  }
  const selfShares = shamirSplit(need(s.selfSeed, 'b_i'), threshold, paired, s.random);
  const masterShares = shamirSplit(need(s.master, 'P_i'), threshold, paired, s.random);
  try {
    const shares = paired.map((j, k) => {
      const peer = s.peers.get(j) as PeerKeys;
      const bytes = sealShares(peer.sealKey, s.round, group, index, j, selfShares[k] as Uint8Array, masterShares[k] as Uint8Array);
      peer.sealKey.fill(0);
      return { index: j, bytes };
    });
    // P_i has served its purpose (key pair, encapsulations, shares): only b_i is still needed, to mask.
    s.master?.fill(0);
    s.master = undefined;
    return { kind: 'saShares', round: s.round, shares };
  } finally {
    for (const share of [...selfShares, ...masterShares]) share.fill(0);
  }
}

/**
 * Stage masked: open and keep the partners' shares, then upload
 *   y_i = quantize(w·x_i) + PRG(b_i) + Σ_{j partner, i<j} PRG(s_ij) − Σ_{j partner, j<i} PRG(s_ij)   (mod 2^32).
 */
export function maskedStage(s: ClientState, msg: MessageOf<'saPeerShares'>, update: Float32Array): MessageOf<'saMasked'> {
  checkRound(s, msg.round, 'saPeerShares');
  const { index, threshold, group, clip, bits } = s.setup;
  if (typeof msg.weight !== 'number' || !(msg.weight > 0 && msg.weight <= 1)) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', `saPeerShares: weight ${String(msg.weight)} not in (0, 1]`);
  }
  if (!(update instanceof Float32Array)) throw new FedwardenError('BAD_UPDATE', 'masked: update must be a Float32Array');
  const relayed = checkRelay(msg.shares, (j) => s.peers.has(j), SECAGG_SEALED_SHARES_BYTES, 'saPeerShares');
  if (relayed.length < threshold) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', `saPeerShares: ${relayed.length} masking partners, threshold is ${threshold}`);
  }
  // Open every share before using any: one that fails (DECRYPT_FAILED) aborts with nothing uploaded.
  for (const { index: j, bytes } of relayed) {
    const peer = s.peers.get(j) as PeerKeys;
    const { selfShare, masterShare } = openShares(peer.openKey, s.round, group, j, index, bytes);
    s.held.set(j, { selfShare, masterShare });
  }

  const { q, clipped } = quantize(update, msg.weight, clip, bits, s.rounding);
  s.clipped = clipped;
  applyMask(q, need(s.selfSeed, 'b_i'), 1);
  for (const j of s.held.keys()) applyMask(q, (s.peers.get(j) as PeerKeys).maskSeed, index < j ? 1 : -1);

  // Only the partners' shares are needed from here on.
  s.selfSeed?.fill(0);
  s.selfSeed = undefined;
  for (const p of s.peers.values()) {
    p.maskSeed.fill(0);
    p.sealKey.fill(0);
    p.openKey.fill(0);
  }
  s.peers.clear();
  return { kind: 'saMasked', round: s.round, masked: q };
}

/** Stage unmask: for each partner, the share of b_j (it survived) or of P_j (it dropped), never both. */
export function unmaskStage(s: ClientState, msg: MessageOf<'saUnmask'>): MessageOf<'saUnmaskReply'> {
  checkRound(s, msg.round, 'saUnmask');
  const { threshold } = s.setup;
  const isPartner = (j: number): boolean => s.held.has(j);
  const survivors = checkIndices(msg.survivors, isPartner, 'saUnmask survivors');
  const dropped = checkIndices(msg.dropped, isPartner, 'saUnmask dropped');
  const both = survivors.filter((j) => dropped.includes(j));
  if (both.length > 0) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', `saUnmask: ${both.join(', ')} named both survivor and dropped`);
  }
  if (survivors.length + dropped.length !== s.held.size) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', 'saUnmask: survivors and dropped must cover exactly my partners');
  }
  if (survivors.length < threshold) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', `saUnmask: ${survivors.length} surviving partners, threshold is ${threshold}`);
  }
  const reveal = (j: number, which: 'selfShare' | 'masterShare'): IndexedBytes => {
    const held = s.held.get(j);
    if (!held) throw new FedwardenError('INTERNAL', `saUnmask: no share held for ${j}`);
    return { index: j, bytes: held[which].slice() };
  };
  return {
    kind: 'saUnmaskReply',
    round: s.round,
    selfShares: survivors.map((j) => reveal(j, 'selfShare')),
    masterShares: dropped.map((j) => reveal(j, 'masterShare')),
  };
}

/**
 * Mask seed (from the mask-key secret) and both directional share keys (from the share-key secret) for
 * neighbour `j`; wipes both shared secrets.
 */
function derivePeer(s: ClientState, maskSecret: Uint8Array, shareSecret: Uint8Array, j: number): PeerKeys {
  const { index, group } = s.setup;
  try {
    const low = Math.min(index, j);
    const high = Math.max(index, j);
    return {
      maskSeed: pairwiseSecrets(maskSecret, s.round, group, low, high).maskSeed,
      sealKey: shareKey(shareSecret, s.round, group, index, j),
      openKey: shareKey(shareSecret, s.round, group, j, index),
    };
  } finally {
    maskSecret.fill(0);
    shareSecret.fill(0);
  }
}
