/**
 * Collects the updates of one round: accepts each selected participant's update once (a retried upload, byte
 * for byte the same, is acknowledged again but counted once), validates it, tracks who dropped, and settles
 * when every selected participant has answered or gone, or at the deadline. A participant that dropped and
 * reconnects before the round settles is waited for again (session resume).
 *
 * Refused (UPDATE_REFUSED): an update for an earlier round (returned as 'stale', for the caller to answer
 * without closing: a straggler's upload can cross the round's end), and a second update that differs from
 * the accepted one (thrown: no honest participant sends one, see client-sdk/src/kept-update.ts).
 */
import { FedwardenError, allFinite, l2Norm, type MessageOf } from '@fedwarden/shared';
import { Arrivals } from './arrivals.ts';

export interface AcceptedUpdate {
  readonly participantId: string;
  readonly delta: Float32Array;
  readonly numSamples: number;
  readonly meanLoss: number;
  readonly trainMs: number;
  readonly frameBytes: number;
}

export type OfferResult = 'accepted' | 'duplicate' | 'stale';

/** What a reconnecting participant's round still holds for it. */
export type RejoinResult =
  /** Its update is already in: it only needs the acknowledgement it may have missed. */
  | 'accepted'
  /** Still collecting and no update from it yet: it is waited for again and should get the round's start. */
  | 'rejoined'
  /** Not selected, or the round no longer collects: it waits for the next round. */
  | 'closed';

export class UpdateCollector {
  private readonly updates = new Map<string, AcceptedUpdate>();
  private readonly arrivals: Arrivals<string>;

  constructor(
    readonly round: number,
    readonly selected: ReadonlySet<string>,
    private readonly dim: number,
    /** Updates with a larger L2 norm are refused (config limits.maxUpdateNorm). */
    private readonly maxNorm = Number.POSITIVE_INFINITY,
  ) {
    this.arrivals = new Arrivals(selected);
  }

  /**
   * Offer an update; throws FedwardenError (BAD_UPDATE / UNEXPECTED_MESSAGE / UPDATE_REFUSED) for one whose
   * sender must be closed. 'stale': for an earlier round, not used.
   */
  offer(participantId: string, msg: MessageOf<'update'>, frameBytes: number): OfferResult {
    if (msg.round < this.round) return 'stale';
    if (msg.round > this.round) throw new FedwardenError('UNEXPECTED_MESSAGE', `update for future round ${msg.round}`);
    if (!this.selected.has(participantId)) {
      throw new FedwardenError('UNEXPECTED_MESSAGE', `not selected for round ${this.round}`);
    }
    const accepted = this.updates.get(participantId);
    if (accepted) {
      if (sameUpdate(accepted, msg)) return 'duplicate';
      throw new FedwardenError('UPDATE_REFUSED', `a different second update for round ${this.round}; the first one stands`);
    }
    if (msg.delta.length !== this.dim) {
      throw new FedwardenError('BAD_UPDATE', `update has ${msg.delta.length} parameters, expected ${this.dim}`);
    }
    if (!allFinite(msg.delta)) throw new FedwardenError('BAD_UPDATE', 'update contains NaN or Infinity');
    const norm = l2Norm(msg.delta);
    if (norm > this.maxNorm) throw new FedwardenError('BAD_UPDATE', `update norm ${norm.toExponential(3)} exceeds maxUpdateNorm ${this.maxNorm}`);
    if (!Number.isSafeInteger(msg.numSamples) || msg.numSamples < 1) {
      throw new FedwardenError('BAD_UPDATE', `numSamples must be a positive integer, got ${msg.numSamples}`);
    }
    if (!Number.isFinite(msg.meanLoss) || !Number.isFinite(msg.trainMs) || msg.trainMs < 0) {
      throw new FedwardenError('BAD_UPDATE', 'meanLoss and trainMs must be finite');
    }
    this.updates.set(participantId, {
      participantId,
      delta: msg.delta,
      numSamples: msg.numSamples,
      meanLoss: msg.meanLoss,
      trainMs: msg.trainMs,
      frameBytes,
    });
    this.arrivals.answer(participantId);
    return 'accepted';
  }

  /** A selected participant disconnected or failed before reporting. */
  drop(participantId: string): void {
    this.arrivals.drop(participantId);
  }

  /** A selected participant connected again; see RejoinResult. */
  rejoin(participantId: string): RejoinResult {
    if (!this.selected.has(participantId)) return 'closed';
    if (this.updates.has(participantId)) return 'accepted';
    return this.arrivals.rejoin(participantId) ? 'rejoined' : 'closed';
  }

  get accepted(): readonly AcceptedUpdate[] {
    return [...this.updates.values()];
  }

  get missing(): string[] {
    return this.arrivals.missing;
  }

  /** Resolves when everyone answered or dropped, or after `deadlineMs`. */
  wait(deadlineMs: number): Promise<void> {
    return this.arrivals.wait(deadlineMs);
  }
}

/**
 * The reply that refuses an update for a round that no longer collects: an error message with UPDATE_REFUSED
 * whose text starts `round N:`; the link stays up, and the participant lets the update go.
 */
export function updateRefused(round: number, why: string): MessageOf<'error'> {
  return { kind: 'error', code: 'UPDATE_REFUSED', message: `round ${round}: ${why}` };
}

/** Whether `msg` is a re-send of `accepted`: the same counts and the same delta, bit for bit. */
function sameUpdate(accepted: AcceptedUpdate, msg: MessageOf<'update'>): boolean {
  if (accepted.numSamples !== msg.numSamples || accepted.delta.length !== msg.delta.length) return false;
  if (!Object.is(accepted.meanLoss, msg.meanLoss) || !Object.is(accepted.trainMs, msg.trainMs)) return false;
  const a = accepted.delta;
  const b = msg.delta;
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}
