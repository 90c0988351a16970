/**
 * fedwarden wire protocol, version 2: the messages carried inside the encrypted channel.
 *
 * Messages are a discriminated union on `kind`. Each kind has a fixed numeric tag on the wire (never reuse one).
 * Tensors are Float32Array and travel as raw little-endian bytes. See codec.ts for the byte layout. The version
 * travels in `hello`; a coordinator refuses another one (UNSUPPORTED). Version 2 added the participant's identity
 * key to hello, signatures to every secure-aggregation stage and the consistency round (saSurvivors). Version 3
 * added commitments to the pairwise mask seeds (seedCommitments in saShares and saPeerShares) and the revealed
 * mask seeds of dropped partners (maskSeeds in saUnmaskReply) (docs/secagg-dropout-recovery.md).
 */
import type { AdapterManifest } from '../adapter.ts';
import { ML_DSA65_PUBLIC_KEY_BYTES, ML_DSA65_SIGNATURE_BYTES } from '../crypto/identity.ts';
import type { ErrorCode } from '../errors.ts';

export const PROTOCOL_VERSION = 3;

/**
 * A member's two ML-KEM-768 public keys as relayed: the mask key (derived from its pairwise master P, so that
 * the coordinator can recover a dropped member's pairwise masks) followed by the share key (fresh, never
 * secret-shared, so that recovering P never opens the sealed shares — Bonawitz et al., CCS 2017, use two key
 * pairs for the same reason). Each neighbour encapsulates to the share key to key the shares this member seals
 * for it, so that the receiver of shares can prove their key (blame, coordinator/src/secagg/blame.ts).
 */
export const SECAGG_PUBLIC_KEYS_BYTES = 2 * 1184;
/** An ML-DSA-65 identity public key (hello, SecaggPeer). */
export const IDENTITY_KEY_BYTES = ML_DSA65_PUBLIC_KEY_BYTES;
/** An ML-DSA-65 signature (saKeys, saSurvivorsSigned, saUnmask). */
export const SIGNATURE_BYTES = ML_DSA65_SIGNATURE_BYTES;
/**
 * A neighbour's stage-keys message as relayed: its two public keys, its commitments to b and P, and its signature
 * over all four (shared/src/secagg/statements.ts keysStatement), so that the recipient can check them.
 */
export const SECAGG_PEER_KEYS_BYTES = SECAGG_PUBLIC_KEYS_BYTES + 2 * 32 + ML_DSA65_SIGNATURE_BYTES;
/** One ML-KEM-768 ciphertext as relayed: to a higher neighbour's mask key, or to a neighbour's share key. */
export const SECAGG_CIPHERTEXT_BYTES = 1088;
/** A Shamir share of one 32-byte secret (GF(2^8), byte-wise). */
export const SECAGG_SHARE_BYTES = 32;
/** AES-256-GCM of a self-mask share and a pairwise-master share: 2·32 + 16-byte tag. */
export const SECAGG_SEALED_SHARES_BYTES = 2 * SECAGG_SHARE_BYTES + 16;
/** A SHA-256 commitment (shared/src/secagg/commitment.ts). */
export const SECAGG_COMMITMENT_BYTES = 32;
/** The commitments to the two shares sealed for one holder: self-mask share, then pairwise-master share. */
export const SECAGG_SHARE_COMMITMENTS_BYTES = 2 * SECAGG_COMMITMENT_BYTES;
/** A pairwise mask seed s_ij, revealed at unmask for a dropped partner. */
export const SECAGG_MASK_SEED_BYTES = 32;
/** A complaint's evidence: the ML-KEM encapsulation randomness of the complainer's share ciphertext to the accused. */
export const SECAGG_COMPLAINT_BYTES = 32;

/** Hyper-parameters a participant uses for one round of local training. */
export interface TrainingPlan {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
}

export type RoundOutcome = 'completed' | 'aborted';

/**
 * A participant's place in one round's secure group (see client-sdk/src/secagg and coordinator/src/secagg).
 * Indices are 1..members and double as Shamir x-coordinates.
 */
export interface SecaggSetup {
  readonly group: number;
  readonly index: number;
  readonly members: number;
  /** Sorted indices of this member's neighbours in the group's graph. */
  readonly neighbours: readonly number[];
  /** Shares needed to reconstruct a member's secrets (Shamir threshold t). */
  readonly threshold: number;
  /** Quantization: values are clipped to [-clip, clip] and mapped to `bits`-bit integers. */
  readonly clip: number;
  readonly bits: number;
  /** Each neighbour's participant id and registered identity key, which its signed stage messages must verify under. */
  readonly peers: readonly SecaggPeer[];
}

/** A neighbour in a secure group, as the coordinator names it. */
export interface SecaggPeer {
  readonly index: number;
  readonly participantId: string;
  /** ML-DSA-65 public key registered at enrolment (IDENTITY_KEY_BYTES). */
  readonly identityKey: Uint8Array;
}

/** An index-addressed blob in a secure-aggregation relay (key, ciphertext or sealed shares). */
export interface IndexedBytes {
  readonly index: number;
  readonly bytes: Uint8Array;
}

export type Message =
  /**
   * Participant → coordinator, first message after the handshake: protocol version, token, adapter manifest,
   * and the participant's ML-DSA-65 identity key (registered at its first hello, then required to match).
   */
  | { readonly kind: 'hello'; readonly version: number; readonly token: string; readonly manifest: AdapterManifest; readonly identityKey: Uint8Array }
  /** Coordinator → participant: accepted. */
  | { readonly kind: 'welcome'; readonly participantId: string; readonly rounds: number }
  /** Coordinator → participant: you are selected; train from `global` and report before the deadline. */
  | {
      readonly kind: 'roundStart';
      readonly round: number;
      readonly plan: TrainingPlan;
      /** Milliseconds from receipt within which the update must arrive. */
      readonly deadlineMs: number;
      readonly global: Float32Array;
      /** Present in secure-aggregation rounds: the participant answers with the sa* stages, not `update`. */
      readonly secagg?: SecaggSetup;
    }
  /** Participant → coordinator: the change to the global adapter after local training. */
  | {
      readonly kind: 'update';
      readonly round: number;
      readonly numSamples: number;
      readonly meanLoss: number;
      readonly trainMs: number;
      readonly delta: Float32Array;
    }
  /** Coordinator → participant: the update for `round` was received and counted once. */
  | { readonly kind: 'updateAck'; readonly round: number }
  /** Coordinator → participants of a round: how it ended. */
  | { readonly kind: 'roundEnd'; readonly round: number; readonly outcome: RoundOutcome; readonly reason: string }
  /** Coordinator → participant: the federation has finished its rounds; `global` is the final adapter. */
  | { readonly kind: 'finished'; readonly round: number; readonly global: Float32Array }
  /*
   * Secure aggregation (SecAgg+ with ML-KEM), one group, in stage order. `index` in the relays names the
   * other member: the recipient in what a participant sends, the sender in what the coordinator relays.
   */
  /** Stage keys: trained; here are my round's two ML-KEM-768 public keys and my training metadata. */
  | {
      readonly kind: 'saKeys';
      readonly round: number;
      readonly numSamples: number;
      readonly meanLoss: number;
      readonly trainMs: number;
      /** Derived from the pairwise master P; recoverable by the coordinator if this member drops. */
      readonly maskPublicKey: Uint8Array;
      /** Fresh; receives the encapsulations that key the shares this member seals; never recoverable. */
      readonly sharePublicKey: Uint8Array;
      /** Commitment to the self-mask seed b (SECAGG_COMMITMENT_BYTES). */
      readonly selfCommitment: Uint8Array;
      /** Commitment to the pairwise master P (SECAGG_COMMITMENT_BYTES). */
      readonly masterCommitment: Uint8Array;
      /** Identity signature over the keys and commitments (statements.ts keysStatement). */
      readonly signature: Uint8Array;
    }
  /** Coordinator relays the signed keys (SECAGG_PEER_KEYS_BYTES each) of the neighbours that reached stage keys. */
  | { readonly kind: 'saPeerKeys'; readonly round: number; readonly keys: readonly IndexedBytes[] }
  /**
   * Stage encaps: a ciphertext to the mask key of each higher-index neighbour (`cipherTexts`), and one to the
   * share key of every neighbour (`shareCipherTexts`): it keys the shares that neighbour seals for me. The
   * attestation signs every recipient's item at once (statements.ts attestItems).
   */
  | {
      readonly kind: 'saEncaps';
      readonly round: number;
      readonly cipherTexts: readonly IndexedBytes[];
      readonly shareCipherTexts: readonly IndexedBytes[];
      readonly attestation: Uint8Array;
    }
  /**
   * Relayed: mask-key ciphertexts from paired lower neighbours, share-key ciphertexts from every paired one, and
   * each sender's attestation.
   */
  | {
      readonly kind: 'saPeerEncaps';
      readonly round: number;
      readonly cipherTexts: readonly IndexedBytes[];
      readonly shareCipherTexts: readonly IndexedBytes[];
      readonly attestations: readonly IndexedBytes[];
    }
  /**
   * Stage shares: my sealed Shamir shares (self-mask seed, pairwise master) for each paired neighbour, my
   * commitments to the two shares inside each (SECAGG_SHARE_COMMITMENTS_BYTES), and my commitment to the pairwise
   * mask seed we share (SECAGG_COMMITMENT_BYTES, commitment.ts commitPairSeed), all under the same indices.
   */
  | {
      readonly kind: 'saShares';
      readonly round: number;
      readonly shares: readonly IndexedBytes[];
      readonly commitments: readonly IndexedBytes[];
      readonly seedCommitments: readonly IndexedBytes[];
      readonly attestation: Uint8Array;
    }
  /**
   * Relayed shares with their senders' commitments (shares, pair seed) and attestations, and the weight in (0, 1] to scale my update
   * by before masking.
   */
  | {
      readonly kind: 'saPeerShares';
      readonly round: number;
      readonly weight: number;
      readonly shares: readonly IndexedBytes[];
      readonly commitments: readonly IndexedBytes[];
      readonly seedCommitments: readonly IndexedBytes[];
      readonly attestations: readonly IndexedBytes[];
    }
  /**
   * Stage masked: quantized, weighted, masked update (mod 2^32), masked with the partners whose shares opened
   * and matched their commitments; for each other partner, a complaint (SECAGG_COMPLAINT_BYTES of evidence).
   */
  | { readonly kind: 'saMasked'; readonly round: number; readonly masked: Uint32Array; readonly complaints: readonly IndexedBytes[] }
  /** Consistency round: U3, every member of the group whose masked input the sum will contain. */
  | { readonly kind: 'saSurvivors'; readonly round: number; readonly survivors: readonly number[] }
  /** My signature over U3 (statements.ts survivorsStatement). */
  | { readonly kind: 'saSurvivorsSigned'; readonly round: number; readonly signature: Uint8Array }
  /**
   * Stage unmask: whose masked input arrived (survivors) and who dropped, among my masking partners, with my
   * surviving partners' signatures over the same U3 (at least t of them must verify, or I reveal nothing).
   */
  | {
      readonly kind: 'saUnmask';
      readonly round: number;
      readonly survivors: readonly number[];
      readonly dropped: readonly number[];
      readonly signatures: readonly IndexedBytes[];
    }
  /**
   * Shares of survivors' self-mask seeds; for each dropped partner, the share of its pairwise master and the mask
   * seed I share with it (SECAGG_MASK_SEED_BYTES), under the same indices — never a self-mask share and either
   * of the others for one member.
   */
  | {
      readonly kind: 'saUnmaskReply';
      readonly round: number;
      readonly selfShares: readonly IndexedBytes[];
      readonly masterShares: readonly IndexedBytes[];
      readonly maskSeeds: readonly IndexedBytes[];
    }
  /**
   * Either side: an error. Usually the sender closes after it; an UPDATE_REFUSED reply (an update for a round that
   * no longer collects) keeps the link, and so do a participant's secure-aggregation refusals.
   */
  | { readonly kind: 'error'; readonly code: ErrorCode; readonly message: string };

export type MessageKind = Message['kind'];
export type MessageOf<K extends MessageKind> = Extract<Message, { kind: K }>;

/** Wire tags. Append only. */
export const MESSAGE_TAGS = {
  hello: 1,
  welcome: 2,
  roundStart: 3,
  update: 4,
  updateAck: 5,
  roundEnd: 6,
  finished: 7,
  error: 8,
  saKeys: 9,
  saPeerKeys: 10,
  saEncaps: 11,
  saPeerEncaps: 12,
  saShares: 13,
  saPeerShares: 14,
  saMasked: 15,
  saUnmask: 16,
  saUnmaskReply: 17,
  saSurvivors: 18,
  saSurvivorsSigned: 19,
} as const satisfies Record<MessageKind, number>;
