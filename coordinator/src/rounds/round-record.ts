/**
 * What a finished (or aborted) round leaves behind: the record the coordinator emits with its 'round' event,
 * stores with the round (storage/store.ts keeps it as JSON and audits a few fields), counts in its metrics
 * and returns from run(). One shape for all of them, so that a resumed coordinator's earlier rounds read
 * like the ones it ran itself.
 */
import type { RoundOutcome } from '@fedwarden/shared';
import type { UnitVerdict } from '../aggregation/strategy.ts';
import type { Alert } from '../anomaly/alert.ts';

/**
 * Why a secure-aggregation member was blamed (stable strings: records, logs and tests key on them).
 * unopenable-shares / shares-off-commitment: its sealed shares for a partner did not open, or did not match its
 * own commitments (a partner's complaint proved it); false-complaint: it complained about shares that were
 * fine, or with evidence that does not match its own ciphertext; unmask-share-off-commitment: a share it
 * revealed at unmask differs from the one its dealer committed to; secret-off-commitment: its shares, each
 * matching its commitments, rebuild a secret that does not; mask-key-mismatch: its rebuilt pairwise master
 * does not give the mask key or ciphertexts it sent; seed-off-commitment: a pairwise mask seed it revealed at
 * unmask, or committed to in stage shares, differs from its commitment or from the seed a rebuilt master gives
 * (docs/secagg-dropout-recovery.md).
 */
export type BlameKind =
  | 'unopenable-shares'
  | 'shares-off-commitment'
  | 'false-complaint'
  | 'unmask-share-off-commitment'
  | 'secret-off-commitment'
  | 'mask-key-mismatch'
  | 'seed-off-commitment'
  | 'bad-signature';

/** A fault the secure-aggregation protocol attributed to one participant (coordinator/src/secagg/blame.ts). */
export interface Blame {
  readonly participant: string;
  readonly group: number;
  readonly kind: BlameKind;
  /** The participant whose complaint proved it, if any. */
  readonly accuser?: string;
  readonly detail: string;
}

/**
 * How one secure group of a round ended: 'summed' (its unit went on to aggregation, where the strategy's verdict
 * on unit `id` applies), 'refused' (its sum was outside the honest range, secagg/sum-range.ts), 'aborted' (too
 * few members got through a stage; `reason` says which) or 'sat-out' (never started: a fixed home group with too
 * few members selected, or selected participants in no group; `members` are those selected, `reason` says why).
 */
export interface SecureGroupOutcome {
  /** The group's unit id, e.g. "group-2". */
  readonly id: string;
  /** The members it was formed with. */
  readonly members: readonly string[];
  /** Members whose input is in its sum. */
  readonly contributors: readonly string[];
  readonly status: 'summed' | 'refused' | 'aborted' | 'sat-out';
  readonly reason: string;
}

export interface RoundRecord {
  readonly round: number;
  readonly outcome: RoundOutcome;
  readonly reason: string;
  readonly privacy: 'trusted' | 'secagg';
  readonly selected: readonly string[];
  /** Participants whose update is in the aggregate. */
  readonly reported: readonly string[];
  readonly dropped: readonly string[];
  /** Aggregation units: one per participant (trusted) or per secure group that completed (secagg). */
  readonly units: number;
  /** Each unit's participants, by unit id. */
  readonly unitMembers: Readonly<Record<string, readonly string[]>>;
  /** Units the aggregation strategy left out, and units it altered (clipped), with reasons. */
  readonly rejected: readonly UnitVerdict[];
  readonly adjusted: readonly UnitVerdict[];
  /**
   * Units kept although they point against the trusted reference by less than its noise (aggregation/reference.ts),
   * or found anomalous by a reliable isolation forest (anomaly/anomaly-doubt.ts); their members got doubt
   * evidence. Absent in records stored before it existed.
   */
  readonly doubted?: readonly UnitVerdict[];
  /** Alerts of the anomaly detectors about this round. */
  readonly alerts: readonly Alert[];
  /**
   * Why the isolation forest did not score this round's units (too little history, or a round aborted before
   * the defences' review); absent when it scored them, so that alert rates can count scored unit-rounds only.
   * Records stored before this field existed lack it whether or not the forest ran.
   */
  readonly isolationSkipped?: string;
  /**
   * Secure-aggregation faults attributed this round, each also negative reputation evidence for its culprit.
   * Absent when there were none, and in records stored before it existed.
   */
  readonly blamed?: readonly Blame[];
  /** The secure groups of a secagg round and how each ended; absent in trusted rounds and in records stored before it existed. */
  readonly groups?: readonly SecureGroupOutcome[];
  /** Participants the round's evidence excluded from the next rounds (reputation). */
  readonly excluded: readonly string[];
  /** Accuracy of the new global adapter on the evaluator's data, when the coordinator has an evaluator (evaluation.ts). */
  readonly accuracy?: number;
  /** Loss of the new global adapter on the evaluator's data, when the evaluator reports one. */
  readonly evaluationLoss?: number;
  /** Sample-weighted mean of the participants' reported training loss; null if none reported. */
  readonly meanLoss: number | null;
  readonly samples: number;
  /** Bytes on the wire of the accepted update frames (sealed), and the adapter size, for bytes/parameter. */
  readonly uploadBytes: number;
  readonly adapterParams: number;
  /** Coordinator time spent in the secure-aggregation protocol, ms. */
  readonly protocolMs: number;
  readonly durationMs: number;
}
