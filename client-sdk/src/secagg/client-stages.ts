/**
 * The participant's SecAgg+ stage functions (Bonawitz et al., CCS 2017, §4 and Fig. 4; Bell et al., CCS 2020,
 * "SecAgg+"), with ML-KEM-768 in place of Diffie–Hellman. Each takes the state object and one message from
 * the coordinator and returns the answer; client-protocol.ts runs them in order and wipes the state on error.
 *
 * What an honest member refuses (throws, answers nothing), beyond malformed input:
 * - encaps: fewer than t neighbours' keys relayed; shares: fewer than t paired neighbours; masked: fewer than t
 *   masking partners. Each makes it impossible to recover this member's secrets from t of its partners.
 * - masked: fewer than t partners whose relayed shares open and match their commitments. A partner whose shares
 *   do not is not masked with: the member complains about it (below). With fewer than t good ones left it
 *   abstains: an empty masked input with its complaints, so that the culprits are named, then it forgets
 *   everything.
 * - any stage: a relayed key, ciphertext or share whose sender's identity signature does not verify
 *   (BAD_SIGNATURE). The coordinator checks every signature before it relays, so only a coordinator that alters,
 *   swaps or invents what members say can cause this: nothing more is revealed to it.
 * - survivors (the consistency round): a U3 that does not contain me or holds fewer than t of my partners.
 * - unmask: survivors/dropped that are not exactly my partners in / not in the U3 I signed; a partner's
 *   signature over U3 that does not verify, or fewer than t of them (a coordinator telling members different
 *   survivor sets cannot collect t signatures on each). With survivors ∩ dropped = ∅ by construction, no member
 *   reveals both secrets of one partner, and all honest members that reveal agree on U3.
 * - setup: a threshold of at most half the degree (client-state.ts): with 2t ≤ k a coordinator telling half of
 *   my neighbours "i survived" and the other half "i dropped" could collect t shares of both my secrets.
 *
 * Two key exchanges per pair. The mask key pair and the encapsulation randomness derive from P_i, so that a
 * coordinator that rebuilds a dropped member's P_i can recompute its pairwise mask seeds. The share key pair is
 * fresh and never secret-shared, so rebuilding P_i never opens the shares i sent or received (which include
 * shares of b_i): this is why Bonawitz et al. use two key pairs (c and s) per member. The share exchange runs
 * both ways: each member encapsulates to every neighbour's share key, and that secret keys the shares the
 * neighbour seals for it (pairwise.ts), so the receiver knows the randomness behind its key.
 *
 * Commitments and blame. In keys a member commits to b_i and P_i; in shares, to each share it seals and to each
 * pairwise mask seed (checked by the coordinator only if it is revealed for a dropped partner). In masked,
 * a relayed share that does not open or does not match its sender's commitment makes the member complain
 * instead of refuse: it masks without that sender and attaches, for it alone, the randomness of its
 * encapsulation to the sender's share key, from which the coordinator rebuilds that one directional key
 * (coordinator/src/secagg/blame.ts). The complaint reveals that sender's shares for this member and nothing
 * else. Without signatures (not yet), a malicious coordinator that tampers relayed shares could draw such
 * complaints from honest members and collect both shares they hold of the sender. Signatures close this: a
 * member complains only about shares that carry their sender's valid signature (so the sender really sealed
 * them), and refuses the round when a signature fails (only the relay can have altered them).
 *
 * Signatures (statements.ts): keys are signed as one statement; encaps and shares as one statement per stage
 * over every recipient's item, relayed with an attestation from which each recipient checks its own item. The
 * identity keys are those the setup names; FederatedClient pins them per participant id (peer-pins.ts).
 */
import {
  FedwardenError,
  ML_KEM768_PUBLIC_KEY_BYTES,
  ML_KEM_ENCAPS_RANDOMNESS_BYTES,
  ML_KEM_KEYGEN_SEED_BYTES,
  SECAGG_CIPHERTEXT_BYTES,
  SECAGG_COMMITMENT_BYTES,
  SECAGG_PEER_KEYS_BYTES,
  SECAGG_SEALED_SHARES_BYTES,
  SECAGG_SHARE_COMMITMENTS_BYTES,
  SECRET_BYTES,
  SECAGG_PUBLIC_KEYS_BYTES,
  SIGNATURE_BYTES,
  applyMasks,
  attestItems,
  checkAttested,
  commitPairSeed,
  commitSecret,
  commitShare,
  decapsulate,
  encapsItem,
  encapsRandomness,
  encapsulate,
  generateKemKeyPair,
  keysStatement,
  memberKemSeed,
  openShares,
  opensCommitment,
  pairwiseSecrets,
  quantize,
  sealShares,
  shamirSplit,
  shareKey,
  sharesItem,
  signStatement,
  survivorsStatement,
  verifyStatement,
  type IndexedBytes,
  type MessageOf,
  type OpenedShares,
} from '@fedwarden/shared';
import {
  checkIndices,
  checkRelay,
  checkRound,
  draw,
  need,
  sortedKeys,
  wipePeer,
  type ClientState,
  type PeerKeys,
  wipeState,
} from './client-state.ts';

export interface TrainingMeta {
  readonly numSamples: number;
  readonly meanLoss: number;
  readonly trainMs: number;
}

/** Stage keys: draw b_i and P_i, commit to both, derive the mask key pair from P_i, draw a fresh share key pair. */
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
    const signed = {
      maskPublicKey: mask.publicKey,
      sharePublicKey: share.publicKey,
      selfCommitment: commitSecret('self', s.selfSeed, s.round, group, index),
      masterCommitment: commitSecret('master', s.master, s.round, group, index),
    };
    const signature = signStatement(s.identity.secretKey, keysStatement(s.round, group, index, signed));
    return { kind: 'saKeys', round: s.round, numSamples, meanLoss, trainMs, ...signed, signature };
  } finally {
    seed.fill(0);
    shareSeed.fill(0);
  }
}

/**
 * Stage encaps: check each relayed neighbour's signed keys, encapsulate to its share key (fresh randomness, kept
 * as evidence) and to the mask key of each one with a higher index (randomness from P_i); sign all of it.
 */
export function encapsStage(s: ClientState, msg: MessageOf<'saPeerKeys'>): MessageOf<'saEncaps'> {
  checkRound(s, msg.round, 'saPeerKeys');
  const { index, threshold, group } = s.setup;
  const relayed = checkRelay(msg.keys, (j) => s.neighbours.has(j), SECAGG_PEER_KEYS_BYTES, 'saPeerKeys');
  if (relayed.length < threshold) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', `saPeerKeys: ${relayed.length} neighbours reached keys, threshold is ${threshold}`);
  }
  const keys = relayed.map(({ index: j, bytes }) => ({ index: j, bytes: checkedPeerKeys(s, j, bytes) }));
  const items = new Map<number, Uint8Array>();
  const master = need(s.master, 'P_i');
  const cipherTexts: IndexedBytes[] = [];
  const shareCipherTexts: IndexedBytes[] = [];
  for (const { index: j, bytes } of keys) {
    s.keyed.add(j);
    const evidence = draw(s.random, ML_KEM_ENCAPS_RANDOMNESS_BYTES);
    const share = encapsulate(bytes.subarray(ML_KEM768_PUBLIC_KEY_BYTES), evidence);
    const peer: PeerKeys = { maskSeed: undefined, sealKey: undefined, openKey: shareKey(share.sharedSecret, s.round, group, j, index), evidence };
    share.sharedSecret.fill(0);
    s.peers.set(j, peer);
    shareCipherTexts.push({ index: j, bytes: share.cipherText });
    if (j < index) {
      items.set(j, encapsItem(undefined, share.cipherText));
      continue;
    }
    const m = encapsRandomness(master, s.round, group, index, j);
    try {
      const mask = encapsulate(bytes.subarray(0, ML_KEM768_PUBLIC_KEY_BYTES), m);
      peer.maskSeed = maskSeedOf(s, mask.sharedSecret, j);
      cipherTexts.push({ index: j, bytes: mask.cipherText });
      items.set(j, encapsItem(mask.cipherText, share.cipherText));
    } finally {
      m.fill(0);
    }
  }
  const attestation = attestItems('encaps', s.identity.secretKey, s.round, group, index, items);
  return { kind: 'saEncaps', round: s.round, cipherTexts, shareCipherTexts, attestation };
}

/**
 * Stage shares: decapsulate what the paired neighbours sent (share-key ciphertexts from all of them, mask-key
 * ciphertexts from the lower ones), then Shamir-split b_i and P_i (threshold t, x = the neighbour's index) over
 * them, seal each one's two shares under its seal key and commit to each share.
 */
export function sharesStage(s: ClientState, msg: MessageOf<'saPeerEncaps'>): MessageOf<'saShares'> {
  checkRound(s, msg.round, 'saPeerEncaps');
  const { index, threshold, group } = s.setup;
  const shareCts = checkRelay(msg.shareCipherTexts, (j) => s.keyed.has(j), SECAGG_CIPHERTEXT_BYTES, 'saPeerEncaps shareCipherTexts');
  const paired = new Set(shareCts.map((e) => e.index));
  const maskCts = checkRelay(msg.cipherTexts, (j) => j < index && paired.has(j), SECAGG_CIPHERTEXT_BYTES, 'saPeerEncaps cipherTexts');
  const lower = [...paired].filter((j) => j < index);
  if (maskCts.length !== lower.length) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', 'saPeerEncaps: a lower paired neighbour without its mask-key ciphertext');
  }
  const attestations = checkAttestations(msg.attestations, paired, 'saPeerEncaps');
  const maskCtOf = new Map(maskCts.map((e) => [e.index, e.bytes]));
  for (const { index: j, bytes } of shareCts) {
    requireAttested(s, 'encaps', j, encapsItem(maskCtOf.get(j), bytes), attestations.get(j) as Uint8Array, 'saPeerEncaps');
  }
  const maskSk = need(s.kemSecretKey, 'mask secret key');
  const shareSk = need(s.shareSecretKey, 'share secret key');
  for (const { index: j, bytes } of maskCts) (s.peers.get(j) as PeerKeys).maskSeed = maskSeedOf(s, decapsulate(bytes, maskSk), j);
  for (const { index: j, bytes } of shareCts) {
    const secret = decapsulate(bytes, shareSk);
    (s.peers.get(j) as PeerKeys).sealKey = shareKey(secret, s.round, group, index, j);
    secret.fill(0);
  }
  maskSk.fill(0);
  shareSk.fill(0);
  s.kemSecretKey = undefined;
  s.shareSecretKey = undefined;
  // Neighbours I encapsulated to that did not pair (they dropped at encaps) are forgotten.
  for (const [j, peer] of s.peers) {
    if (paired.has(j)) continue;
    wipePeer(peer);
    s.peers.delete(j);
  }

  const order = sortedKeys(s.peers);
  if (order.length < threshold) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', `saPeerEncaps: ${order.length} paired neighbours, threshold is ${threshold}`);
  }
  const selfShares = shamirSplit(need(s.selfSeed, 'b_i'), threshold, order, s.random);
  const masterShares = shamirSplit(need(s.master, 'P_i'), threshold, order, s.random);
  try {
    const shares: IndexedBytes[] = [];
    const commitments: IndexedBytes[] = [];
    const seedCommitments: IndexedBytes[] = [];
    order.forEach((j, k) => {
      const peer = s.peers.get(j) as PeerKeys;
      const selfShare = selfShares[k] as Uint8Array;
      const masterShare = masterShares[k] as Uint8Array;
      const sealKey = need(peer.sealKey, `seal key for ${j}`);
      shares.push({ index: j, bytes: sealShares(sealKey, s.round, group, index, j, selfShare, masterShare) });
      sealKey.fill(0);
      peer.sealKey = undefined;
      const both = new Uint8Array(SECAGG_SHARE_COMMITMENTS_BYTES);
      both.set(commitShare('self', selfShare, s.round, group, index, j), 0);
      both.set(commitShare('master', masterShare, s.round, group, index, j), SECAGG_COMMITMENT_BYTES);
      commitments.push({ index: j, bytes: both });
      const maskSeed = need(peer.maskSeed, `mask seed of ${j}`);
      seedCommitments.push({ index: j, bytes: commitPairSeed(maskSeed, s.round, group, Math.min(index, j), Math.max(index, j)) });
    });
    // P_i has served its purpose (key pair, encapsulations, shares): only b_i is still needed, to mask.
    s.master?.fill(0);
    s.master = undefined;
    const items = new Map(shares.map((e, k) => [e.index, sharesItem(e.bytes, (commitments[k] as IndexedBytes).bytes, (seedCommitments[k] as IndexedBytes).bytes)]));
    const attestation = attestItems('shares', s.identity.secretKey, s.round, group, index, items);
    return { kind: 'saShares', round: s.round, shares, commitments, seedCommitments, attestation };
  } finally {
    for (const share of [...selfShares, ...masterShares]) share.fill(0);
  }
}

/**
 * Stage masked: open and check the partners' shares, keep the good ones, complain about the others, then upload
 *   y_i = quantize(w·x_i) + PRG(b_i) + Σ_{j good partner, i<j} PRG(s_ij) − Σ_{j good partner, j<i} PRG(s_ij)   (mod 2^32).
 */
export function maskedStage(s: ClientState, msg: MessageOf<'saPeerShares'>, update: Float32Array): MessageOf<'saMasked'> {
  checkRound(s, msg.round, 'saPeerShares');
  const { index, threshold, group, clip, bits } = s.setup;
  if (typeof msg.weight !== 'number' || !(msg.weight > 0 && msg.weight <= 1)) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', `saPeerShares: weight ${String(msg.weight)} not in (0, 1]`);
  }
  if (!(update instanceof Float32Array)) throw new FedwardenError('BAD_UPDATE', 'masked: update must be a Float32Array');
  const relayed = checkRelay(msg.shares, (j) => s.peers.has(j), SECAGG_SEALED_SHARES_BYTES, 'saPeerShares');
  const commitments = new Map(
    checkRelay(msg.commitments, (j) => s.peers.has(j), SECAGG_SHARE_COMMITMENTS_BYTES, 'saPeerShares commitments').map((e) => [e.index, e.bytes]),
  );
  // The partner's commitment to our mask seed is signed with its shares; only the coordinator ever checks it,
  // should one of us drop (docs/secagg-dropout-recovery.md).
  const seedCommitments = new Map(
    checkRelay(msg.seedCommitments, (j) => s.peers.has(j), SECAGG_COMMITMENT_BYTES, 'saPeerShares seedCommitments').map((e) => [e.index, e.bytes]),
  );
  if ([commitments, seedCommitments].some((m) => m.size !== relayed.length || relayed.some((e) => !m.has(e.index)))) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', 'saPeerShares: shares and commitments must name the same partners');
  }
  if (relayed.length < threshold) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', `saPeerShares: ${relayed.length} masking partners, threshold is ${threshold}`);
  }
  // Every relayed share must carry its sender's signature before any is opened: a complaint about shares the
  // sender did not sign would hand the coordinator that sender's shares for me (two complaints too many).
  const attestations = checkAttestations(msg.attestations, new Set(relayed.map((e) => e.index)), 'saPeerShares');
  for (const { index: j, bytes } of relayed) {
    const item = sharesItem(bytes, commitments.get(j) as Uint8Array, seedCommitments.get(j) as Uint8Array);
    requireAttested(s, 'shares', j, item, attestations.get(j) as Uint8Array, 'saPeerShares');
  }
  // Check every share before using any; a bad one becomes a complaint, never a reason to give up the round.
  const complaints: IndexedBytes[] = [];
  for (const { index: j, bytes } of relayed) {
    const peer = s.peers.get(j) as PeerKeys;
    const opened = openChecked(peer.openKey, s.round, group, j, index, bytes, commitments.get(j) as Uint8Array);
    if (opened) s.held.set(j, { ...opened, maskSeed: need(peer.maskSeed, `mask seed of ${j}`).slice() });
    else complaints.push({ index: j, bytes: peer.evidence.slice() });
  }
  if (s.held.size < threshold) {
    // Too few good partners to mask with (at least t were relayed, so some are to blame): I cannot contribute
    // this round. Abstain with the complaints (an empty masked input) so that the culprits are named.
    wipeState(s);
    return { kind: 'saMasked', round: s.round, masked: new Uint32Array(0), complaints };
  }

  const { q, clipped } = quantize(update, msg.weight, clip, bits, s.rounding);
  s.clipped = clipped;
  const pairMasks = [...s.held].map(([j, held]) => ({ seed: held.maskSeed, sign: index < j ? (1 as const) : (-1 as const) }));
  applyMasks(q, [{ seed: need(s.selfSeed, 'b_i'), sign: 1 }, ...pairMasks]);

  // Only the partners' shares and our mask seeds (for a partner that drops) are needed from here on.
  s.selfSeed?.fill(0);
  s.selfSeed = undefined;
  for (const p of s.peers.values()) wipePeer(p);
  s.peers.clear();
  return { kind: 'saMasked', round: s.round, masked: q, complaints };
}

/**
 * The consistency round: sign U3, the members whose masked inputs the sum will contain, as the coordinator
 * states it. Refuses a U3 without me or with fewer than t of my partners (nothing could be unmasked for me).
 */
export function survivorsStage(s: ClientState, msg: MessageOf<'saSurvivors'>): MessageOf<'saSurvivorsSigned'> {
  checkRound(s, msg.round, 'saSurvivors');
  const { index, threshold, group, members } = s.setup;
  const u3 = checkIndices(msg.survivors, (j) => j >= 1 && j <= members, 'saSurvivors');
  if (!u3.includes(index)) throw new FedwardenError('UNEXPECTED_MESSAGE', 'saSurvivors: U3 does not contain me, yet I sent my masked input');
  const partners = u3.filter((j) => s.held.has(j)).length;
  if (partners < threshold) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', `saSurvivors: ${partners} of my partners in U3, threshold is ${threshold}`);
  }
  s.survivors = u3;
  return { kind: 'saSurvivorsSigned', round: s.round, signature: signStatement(s.identity.secretKey, survivorsStatement(s.round, group, index, u3)) };
}

/**
 * Stage unmask: once at least t surviving partners have signed the U3 I signed, for each partner the share of
 * b_j (it is in U3), or the share of P_j and our mask seed s_ij (it is not), never both kinds for one partner.
 * The seed lets the coordinator remove my mask with j without rebuilding P_j (docs/secagg-dropout-recovery.md);
 * the share of P_j stays as the fallback should another of j's surviving partners not answer. Neither tells the
 * coordinator more than P_j itself, which t shares give it.
 */
export function unmaskStage(s: ClientState, msg: MessageOf<'saUnmask'>): MessageOf<'saUnmaskReply'> {
  checkRound(s, msg.round, 'saUnmask');
  const { threshold, group } = s.setup;
  const u3 = need(s.survivors, 'U3');
  const isPartner = (j: number): boolean => s.held.has(j);
  const survivors = checkIndices(msg.survivors, isPartner, 'saUnmask survivors');
  const dropped = checkIndices(msg.dropped, isPartner, 'saUnmask dropped');
  const expected = sortedKeys(s.held);
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
  if (!same(survivors, expected.filter((j) => u3.includes(j))) || !same(dropped, expected.filter((j) => !u3.includes(j)))) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', 'saUnmask: survivors and dropped must be my partners in and not in the U3 I signed');
  }
  const signatures = checkRelay(msg.signatures, (j) => survivors.includes(j), SIGNATURE_BYTES, 'saUnmask signatures');
  for (const { index: j, bytes } of signatures) {
    if (!verifyStatement(s.peerKeys.get(j) as Uint8Array, survivorsStatement(s.round, group, j, u3), bytes)) {
      throw new FedwardenError('BAD_SIGNATURE', `saUnmask: partner ${j}'s signature over U3 does not verify: its view of the survivors differs from mine`);
    }
  }
  if (signatures.length < threshold) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', `saUnmask: ${signatures.length} partners signed U3, threshold is ${threshold}`);
  }
  const reveal = (j: number, which: 'selfShare' | 'masterShare' | 'maskSeed'): IndexedBytes => {
    const held = s.held.get(j);
    if (!held) throw new FedwardenError('INTERNAL', `saUnmask: no share held for ${j}`);
    return { index: j, bytes: held[which].slice() };
  };
  return {
    kind: 'saUnmaskReply',
    round: s.round,
    selfShares: survivors.map((j) => reveal(j, 'selfShare')),
    masterShares: dropped.map((j) => reveal(j, 'masterShare')),
    maskSeeds: dropped.map((j) => reveal(j, 'maskSeed')),
  };
}

/** A neighbour's relayed keys if its signature over them verifies: mask key || share key (BAD_SIGNATURE otherwise). */
function checkedPeerKeys(s: ClientState, j: number, bytes: Uint8Array): Uint8Array {
  const { round, setup } = s;
  const at = (from: number, length: number): Uint8Array => bytes.subarray(from, from + length);
  const K = ML_KEM768_PUBLIC_KEY_BYTES;
  const C = SECAGG_COMMITMENT_BYTES;
  const fields = { maskPublicKey: at(0, K), sharePublicKey: at(K, K), selfCommitment: at(2 * K, C), masterCommitment: at(2 * K + C, C) };
  const signature = at(2 * K + 2 * C, SIGNATURE_BYTES);
  if (!verifyStatement(s.peerKeys.get(j) as Uint8Array, keysStatement(round, setup.group, j, fields), signature)) {
    throw new FedwardenError('BAD_SIGNATURE', `saPeerKeys: neighbour ${j}'s keys are not signed by its identity key`);
  }
  return bytes.subarray(0, SECAGG_PUBLIC_KEYS_BYTES);
}

/** The relayed attestations, one for each of `senders` and no other. */
function checkAttestations(entries: readonly IndexedBytes[], senders: ReadonlySet<number>, kind: string): Map<number, Uint8Array> {
  if (!Array.isArray(entries)) throw new FedwardenError('BAD_FRAME', `${kind}: attestations must be an array`);
  const out = new Map<number, Uint8Array>();
  for (const e of entries) {
    if (!e || !senders.has(e.index) || out.has(e.index) || !(e.bytes instanceof Uint8Array)) {
      throw new FedwardenError('UNEXPECTED_MESSAGE', `${kind}: attestation for ${String(e?.index)} is not allowed here`);
    }
    out.set(e.index, e.bytes);
  }
  if (out.size !== senders.size) throw new FedwardenError('UNEXPECTED_MESSAGE', `${kind}: every relayed sender needs its attestation`);
  return out;
}

/** BAD_SIGNATURE unless `sender` signed `item` for me. */
function requireAttested(s: ClientState, stage: 'encaps' | 'shares', sender: number, item: Uint8Array, attestation: Uint8Array, kind: string): void {
  const { round, setup } = s;
  if (!checkAttested(stage, s.peerKeys.get(sender) as Uint8Array, round, setup.group, sender, setup.index, item, attestation)) {
    throw new FedwardenError('BAD_SIGNATURE', `${kind}: what neighbour ${sender} sent me is not signed by its identity key`);
  }
}

/** s_ij for neighbour `j` from the shared secret of the mask-key exchange; wipes the secret. */
function maskSeedOf(s: ClientState, maskSecret: Uint8Array, j: number): Uint8Array {
  const { index, group } = s.setup;
  try {
    return pairwiseSecrets(maskSecret, s.round, group, Math.min(index, j), Math.max(index, j)).maskSeed;
  } finally {
    maskSecret.fill(0);
  }
}

/** The shares `sender` sealed for me if they open and match its commitments (self || master), else undefined. */
function openChecked(key: Uint8Array, round: number, group: number, sender: number, receiver: number, sealed: Uint8Array, committed: Uint8Array): OpenedShares | undefined {
  let opened: OpenedShares;
  try {
    opened = openShares(key, round, group, sender, receiver, sealed);
  } catch (err) {
    if (err instanceof FedwardenError && err.code === 'DECRYPT_FAILED') return undefined;
    throw err;
  }
  const good =
    opensCommitment(committed.subarray(0, SECAGG_COMMITMENT_BYTES), commitShare('self', opened.selfShare, round, group, sender, receiver)) &&
    opensCommitment(committed.subarray(SECAGG_COMMITMENT_BYTES), commitShare('master', opened.masterShare, round, group, sender, receiver));
  if (good) return opened;
  opened.selfShare.fill(0);
  opened.masterShare.fill(0);
  return undefined;
}
