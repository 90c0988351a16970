/**
 * The one explicit state object of a participant's SecAgg+ run (client-protocol.ts), its stage order, and the
 * checks every stage applies to what the coordinator relayed. Everything secret lives here and only here, so
 * that `wipeState` can zero all of it when the run ends, fails or is disposed.
 */
import {
  FedwardenError,
  IDENTITY_KEY_BYTES,
  type IdentityKeyPair,
  type IndexedBytes,
  type SecaggSetup,
} from '@fedwarden/shared';

/** The stage functions, in protocol order; each may only run after its predecessor. */
export const CLIENT_STAGES = ['keys', 'encaps', 'shares', 'masked', 'survivors', 'unmask'] as const;
export type ClientStageName = (typeof CLIENT_STAGES)[number];
/** The stage whose method may run next, or a terminal state. */
export type ClientStage = ClientStageName | 'done' | 'failed';

/**
 * What I hold for one neighbour. From stage encaps: the key that opens its shares for me (from my own
 * encapsulation to its share key) and that encapsulation's randomness, my evidence should they not open; for a
 * higher neighbour, the mask seed. From stage shares: the key I seal my shares for it under (from its
 * encapsulation to my share key); for a lower neighbour, the mask seed.
 */
export interface PeerKeys {
  /** s_ij: seed of the pairwise mask. */
  maskSeed: Uint8Array | undefined;
  /** Seals my shares for this neighbour (direction me → it). */
  sealKey: Uint8Array | undefined;
  /** Opens this neighbour's shares for me (direction it → me). */
  readonly openKey: Uint8Array;
  /** ML-KEM randomness of my encapsulation to its share key: revealed only in a complaint about it. */
  readonly evidence: Uint8Array;
}

/**
 * What I hold for a masking partner until unmask: its Shamir shares of its self-mask seed b_j and of its pairwise
 * master P_j, and our pairwise mask seed s_ij, revealed (with the share of P_j) only if it drops.
 */
export interface HeldShares {
  readonly selfShare: Uint8Array;
  readonly masterShare: Uint8Array;
  readonly maskSeed: Uint8Array;
}

export interface ClientState {
  readonly round: number;
  readonly setup: SecaggSetup;
  readonly neighbours: ReadonlySet<number>;
  /** My identity key pair: signs keys, encaps, shares and the survivor set. */
  readonly identity: IdentityKeyPair;
  /** Each neighbour's identity public key, as the setup named it. */
  readonly peerKeys: ReadonlyMap<number, Uint8Array>;
  /** U3 as I signed it in the consistency round (stage survivors → unmask). */
  survivors: readonly number[] | undefined;
  readonly random: (n: number) => Uint8Array;
  /** Stochastic rounding's randomness (quantize); `random` unless the caller gave its own. */
  readonly rounding: (n: number) => Uint8Array;
  stage: ClientStage;
  /** b_i, the self-mask seed (stages keys → masked). */
  selfSeed: Uint8Array | undefined;
  /** P_i, the pairwise master: KEM key-pair seed and encapsulation randomness (stages keys → shares). */
  master: Uint8Array | undefined;
  /** This round's mask-key ML-KEM secret key, derived from P_i (stages keys → shares). */
  kemSecretKey: Uint8Array | undefined;
  /** This round's share-key ML-KEM secret key: fresh, never shared (stages keys → shares). */
  shareSecretKey: Uint8Array | undefined;
  /** Neighbours whose public keys the coordinator relayed (they reached stage keys). */
  readonly keyed: Set<number>;
  /** Neighbours I encapsulated to (stage encaps), then paired neighbours: both share exchanges done (shares → masked). */
  readonly peers: Map<number, PeerKeys>;
  /** Masking partners: paired neighbours whose good shares the coordinator relayed to me, with our mask seeds (stages masked → unmask). */
  readonly held: Map<number, HeldShares>;
  /** Coordinates clipped by quantization in stage masked. */
  clipped: number;
}

export function nextStage(stage: ClientStageName): ClientStage {
  const i = CLIENT_STAGES.indexOf(stage);
  return CLIENT_STAGES[i + 1] ?? 'done';
}

/** Zero every secret and forget every peer. Idempotent. */
export function wipeState(s: ClientState): void {
  s.selfSeed?.fill(0);
  s.master?.fill(0);
  s.kemSecretKey?.fill(0);
  s.shareSecretKey?.fill(0);
  s.selfSeed = undefined;
  s.master = undefined;
  s.kemSecretKey = undefined;
  s.shareSecretKey = undefined;
  for (const p of s.peers.values()) wipePeer(p);
  for (const h of s.held.values()) {
    h.selfShare.fill(0);
    h.masterShare.fill(0);
    h.maskSeed.fill(0);
  }
  s.peers.clear();
  s.held.clear();
  s.keyed.clear();
}

export function wipePeer(p: PeerKeys): void {
  p.maskSeed?.fill(0);
  p.sealKey?.fill(0);
  p.openKey.fill(0);
  p.evidence.fill(0);
}

/** A secret the current stage needs; its absence is a bug in the stage order, not a peer's fault. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new FedwardenError('INTERNAL', `secagg client: ${what} is not available in this stage`);
  return value;
}

/** `n` bytes from the injected random source, checked and copied. */
export function draw(random: (n: number) => Uint8Array, n: number): Uint8Array {
  const bytes = random(n);
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
    throw new FedwardenError('INTERNAL', `secagg client: random(${n}) must return ${n} bytes`);
  }
  return bytes.slice();
}

export function checkRound(s: ClientState, round: unknown, kind: string): void {
  if (round !== s.round) {
    throw new FedwardenError('UNEXPECTED_MESSAGE', `${kind}: round ${String(round)}, expected ${s.round}`);
  }
}

/**
 * A relayed index-addressed list: every index distinct and in `allowed` (never my own), every blob exactly
 * `size` bytes. Returns the entries sorted by index.
 */
export function checkRelay(
  entries: readonly IndexedBytes[],
  allowed: (index: number) => boolean,
  size: number,
  kind: string,
): IndexedBytes[] {
  if (!Array.isArray(entries)) throw new FedwardenError('BAD_FRAME', `${kind}: entries must be an array`);
  const seen = new Set<number>();
  for (const e of entries) {
    if (!e || !Number.isInteger(e.index) || seen.has(e.index) || !allowed(e.index)) {
      throw new FedwardenError('UNEXPECTED_MESSAGE', `${kind}: index ${String(e?.index)} is not allowed here`);
    }
    if (!(e.bytes instanceof Uint8Array) || e.bytes.length !== size) {
      throw new FedwardenError('BAD_FRAME', `${kind}: entry ${e.index} must be ${size} bytes`);
    }
    seen.add(e.index);
  }
  return [...entries].sort((a, b) => a.index - b.index);
}

/** An index list from the coordinator: distinct integers, each satisfying `allowed`. */
export function checkIndices(list: readonly number[], allowed: (index: number) => boolean, what: string): number[] {
  if (!Array.isArray(list)) throw new FedwardenError('BAD_FRAME', `${what} must be an array`);
  const seen = new Set<number>();
  for (const i of list) {
    if (!Number.isInteger(i) || seen.has(i) || !allowed(i)) {
      throw new FedwardenError('UNEXPECTED_MESSAGE', `${what}: index ${String(i)} is repeated or not allowed`);
    }
    seen.add(i);
  }
  return [...list].sort((a, b) => a - b);
}

/** The setup from roundStart, checked as hostile input (the codec checks the wire form; this checks any caller). */
export function checkSetup(round: number, setup: SecaggSetup): void {
  const bad = (why: string): never => {
    throw new FedwardenError('UNEXPECTED_MESSAGE', `secagg setup: ${why}`);
  };
  if (!Number.isSafeInteger(round) || round < 0 || round > 0xffffffff) bad(`round ${round} is not a u32`);
  const { group, index, members, neighbours, threshold, clip, bits } = setup;
  if (!Number.isSafeInteger(group) || group < 0 || group > 0xffffffff) bad(`group ${group} is not a u32`);
  if (!Number.isInteger(members) || members < 2 || members > 255) bad(`${members} members not in 2..255`);
  if (!Number.isInteger(index) || index < 1 || index > members) bad(`index ${index} not in 1..${members}`);
  if (!Array.isArray(neighbours)) bad('neighbours must be an array');
  neighbours.forEach((n, i) => {
    if (!Number.isInteger(n) || n < 1 || n > members || n === index) bad(`bad neighbour ${n}`);
    if (i > 0 && n <= (neighbours[i - 1] as number)) bad('neighbours must be sorted and distinct');
  });
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > neighbours.length) {
    bad(`threshold ${threshold} not in 1..${neighbours.length}`);
  }
  // A member reveals, per neighbour, a share of only one of its two secrets. That keeps both from the
  // coordinator only if it cannot collect t shares of each from disjoint sets of neighbours: 2t > degree.
  if (2 * threshold <= neighbours.length) bad(`threshold ${threshold} is not more than half of ${neighbours.length} neighbours`);
  if (!(Number.isFinite(clip) && clip > 0)) bad('clip must be finite and > 0');
  if (!Number.isInteger(bits) || bits < 1 || bits > 32) bad(`bits ${bits} not in 1..32`);
  const peers = setup.peers;
  if (!Array.isArray(peers) || peers.length !== neighbours.length) bad('peers must name each neighbour once');
  peers.forEach((p, i) => {
    if (!p || p.index !== neighbours[i]) bad('peers must name each neighbour once, in order');
    if (typeof p.participantId !== 'string' || p.participantId.length === 0) bad(`peer ${p.index} has no participant id`);
    if (!(p.identityKey instanceof Uint8Array) || p.identityKey.length !== IDENTITY_KEY_BYTES) bad(`peer ${p.index}: identity key must be ${IDENTITY_KEY_BYTES} bytes`);
  });
  if (new Set(peers.map((p) => p.participantId)).size !== peers.length) bad('two neighbours share a participant id');
  if (new Set(peers.map((p) => Buffer.from(p.identityKey).toString('hex'))).size !== peers.length) bad('two neighbours share an identity key');
}

export function sortedKeys(map: ReadonlyMap<number, unknown>): number[] {
  return [...map.keys()].sort((a, b) => a - b);
}
