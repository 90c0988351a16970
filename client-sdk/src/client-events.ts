/**
 * What a FederatedClient reports to the application that embeds it: round progress, and the life of its link
 * to the coordinator (disconnects, reconnect attempts, the circuit breaker, dead-link detection, resumed
 * uploads). Kept apart from the client so that the client and its round runner share it without a cycle.
 */
import type { FedwardenError, RoundOutcome } from '@fedwarden/shared';
import type { TrainProgress, TrainResult } from './trainable-model.ts';

export interface ClientSummary {
  readonly participantId: string;
  /** Rounds this participant trained for (a resumed upload does not count again). */
  readonly roundsTrained: number;
  readonly lastRound: number;
  /** Time spent in the secure-aggregation protocol (key exchange, sharing, masking, unmasking), ms. */
  readonly secaggMs: number;
  /** The federation's final global adapter. */
  readonly global: Float32Array;
}

export type RoundStage = 'train' | 'encaps' | 'shares' | 'masked' | 'survivors' | 'unmask';

export interface FederatedClientEvents {
  /** The first session with the coordinator began (after its welcome). */
  connected: [participantId: string];
  roundStart: [round: number];
  progress: [round: number, progress: TrainProgress];
  /** A freshly trained update was handed to the socket (once per round trained). */
  uploaded: [round: number, result: TrainResult];
  acknowledged: [round: number];
  roundEnd: [round: number, outcome: RoundOutcome, reason: string];
  /**
   * A round stage begins: 'train' on roundStart, then in secure aggregation 'encaps', 'shares', 'masked' and
   * 'unmask' as the coordinator's relays arrive. A listener may close() the client here (fault injection).
   */
  stage: [round: number, stage: RoundStage];
  /** This participant refused a secure-aggregation request (e.g. a coordinator asking for both secrets). */
  refused: [round: number, error: FedwardenError];
  /**
   * The coordinator refused an update of this participant (UPDATE_REFUSED): it arrived after its round stopped
   * collecting. `round` is the update's round (undefined if the reply did not say). The session goes on.
   */
  updateRefused: [round: number | undefined, error: FedwardenError];
  finished: [summary: ClientSummary];

  /**
   * An established session ended with an error (not by close(), not by the federation finishing); when the
   * error is worth retrying and reconnect is enabled, `reconnecting` follows.
   */
  disconnected: [error: FedwardenError];
  /** Connection attempt number `attempt` (since the last session) follows after `delayMs`. */
  reconnecting: [attempt: number, delayMs: number];
  /** A new session began after a lost one (after the coordinator's welcome). */
  reconnected: [participantId: string];
  /** The circuit breaker opened: no attempt for `retryInMs`, then one probe. */
  circuitOpen: [retryInMs: number];
  /** The breaker lets its one probe attempt through. */
  circuitHalfOpen: [];
  /** An attempt succeeded after the breaker had opened. */
  circuitClosed: [];
  /** Nothing (no frame, no ping) arrived for `silentMs`: the link is presumed dead and is dropped. */
  heartbeatMissed: [silentMs: number];
  /** After a reconnect, the kept update of `round` was sent again without retraining. */
  uploadRetried: [round: number];
}
