/**
 * What a round's collector may use of the coordinator, and what it returns: aggregation units ready for the
 * aggregator. The trusted and secure-aggregation collectors are interchangeable behind this seam.
 */
import type { Logger, Message } from '@fedwarden/shared';
import type { AggregationUnit } from '../aggregation/strategy.ts';
import type { CoordinatorConfig } from '../config.ts';
import type { RefusedUnit, UnitStats } from '../defences.ts';
import type { Blame, SecureGroupOutcome } from './round-record.ts';

export interface RoundContext {
  readonly round: number;
  readonly global: Float32Array;
  readonly config: CoordinatorConfig;
  readonly log: Logger;
  /** Seal and send to a participant; false if it is not connected or the send failed. */
  send(participantId: string, msg: Message): Promise<boolean>;
  /** Reputation multiplier in [0, 1] for the weight a participant's update gets (secure aggregation). */
  reputationWeight(participantId: string): number;
  /**
   * The participant's ML-DSA-65 identity public key (registered at its first hello, the one its connection
   * presented): its secure-aggregation stage messages must verify under it. Undefined if it has none.
   */
  identityKey(participantId: string): Uint8Array | undefined;
}

export interface CollectedRound {
  readonly units: AggregationUnit[];
  /** What participants reported about each unit's training, for the anomaly detectors. */
  readonly unitStats: ReadonlyMap<string, UnitStats>;
  /** Participants whose update is inside some unit. */
  readonly contributors: string[];
  /** Sample-weighted mean of the contributors' reported training loss; null if none. */
  readonly meanLoss: number | null;
  readonly samples: number;
  /** Bytes on the wire of the contributors' update (or masked-input) frames. */
  readonly uploadBytes: number;
  /** Coordinator CPU time spent in the secure-aggregation protocol, ms (0 in trusted mode). */
  readonly protocolMs: number;
  /** Why some participants or groups did not contribute (aborted groups, rejected updates). */
  readonly notes: string[];
  /**
   * Units rejected before aggregation (a secure group whose sum is out of the honest range); their members are
   * among the contributors, as for units the strategy rejects. Absent: none.
   */
  readonly refused?: readonly RefusedUnit[];
  /** Secure-aggregation faults attributed to participants (their groups dropped them or aborted). */
  readonly blamed?: readonly Blame[];
  /** Secure groups and how each ended (secure aggregation only). */
  readonly groups?: readonly SecureGroupOutcome[];
}

/** The active round's receiver of participant messages. Throwing a FedwardenError closes that participant. */
export interface RoundCollector {
  collect(selected: readonly string[]): Promise<CollectedRound>;
  onMessage(participantId: string, msg: Message, frameBytes: number): void;
  onLeave(participantId: string): void;
  /**
   * A participant connected again (after its link was lost, or superseding a connection that looks alive)
   * while this round collects. The collector takes it back into the round where the stage allows it and
   * otherwise leaves it to the next round.
   */
  onRejoin(participantId: string): void;
}

export function weightedMeanLoss(entries: ReadonlyArray<{ meanLoss: number; numSamples: number }>): number | null {
  let samples = 0;
  let sum = 0;
  for (const e of entries) {
    samples += e.numSamples;
    sum += e.meanLoss * e.numSamples;
  }
  return samples > 0 ? sum / samples : null;
}
