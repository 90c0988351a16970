/**
 * A Byzantine participant's model: a TrainableModel that delegates to an honest one and swaps the update.
 *
 * The FederatedClient calls setWeights(global), then train(data, plan), then getWeights(), and uploads
 * getWeights() − global. This wrapper
 *   1. on setWeights, remembers `before` (a copy of the global adapter) and passes it to the inner model;
 *   2. on train, joins the coalition's round (keyed by `before`, see adversary.ts), poisons the data if the
 *      attack does and it is not poisoned already, trains the inner model honestly (progress passes through),
 *      registers its benign delta = after − before, and waits for its crafted delta;
 *   3. on getWeights, returns before + crafted, so the client uploads the crafted delta; the TrainResult
 *      (loss, time, sample count) is the honest one.
 * It leaves its round (so that no other Byzantine participant waits for it) when training is abandoned: the
 * consumer stops iterating, training throws, setWeights starts another round, or the model is disposed.
 *
 * Limits: one training at a time per model, as the client does; a training still running after a later
 * setWeights keeps mutating the inner model (the inner model is shared), and its result is discarded.
 */
import type { Evaluation, LabeledData, TrainableModel, TrainOptions, TrainProgress, TrainResult } from '@fedwarden/client';
import { subtract, type AdapterManifest } from '@fedwarden/shared';

/** This participant's seat in one round of the coalition. */
export interface RoundTicket {
  readonly round: number;
  /** Hand in the honest delta; resolves with the delta to send instead. */
  register(benign: Float32Array): Promise<Float32Array>;
  /** Leave the round without a delta (idempotent; no effect once registered). */
  abandon(): void;
}

/** What the model needs from the Adversary. */
export interface Coalition {
  join(id: string, global: Float32Array): RoundTicket;
  poison(data: LabeledData, round: number): LabeledData;
}

export class ByzantineModel implements TrainableModel {
  private before: Float32Array | undefined;
  private ticket: RoundTicket | undefined;
  private sent: Float32Array | undefined;

  constructor(
    readonly id: string,
    private readonly inner: TrainableModel,
    private readonly coalition: Coalition,
  ) {}

  get manifest(): AdapterManifest {
    return this.inner.manifest;
  }

  getWeights(): Float32Array {
    return this.sent ? this.sent.slice() : this.inner.getWeights();
  }

  setWeights(weights: Float32Array): void {
    this.leaveRound();
    this.inner.setWeights(weights);
    this.before = weights.slice();
  }

  async *train(data: LabeledData, options: TrainOptions): AsyncGenerator<TrainProgress, TrainResult, void> {
    const before = this.before;
    if (before === undefined) throw new Error(`ByzantineModel ${this.id}: train() before setWeights()`);
    this.leaveRound();
    const ticket = this.coalition.join(this.id, before);
    this.ticket = ticket;
    let registered = false;
    try {
      const result = yield* this.inner.train(this.coalition.poison(data, ticket.round), options);
      const benign = subtract(this.inner.getWeights(), before);
      registered = true;
      const crafted = await ticket.register(benign);
      if (this.ticket === ticket) {
        if (crafted.length !== before.length) throw new RangeError(`ByzantineModel ${this.id}: crafted length ${crafted.length} != ${before.length}`);
        this.sent = Float32Array.from(before, (b, i) => b + (crafted[i] as number));
      }
      return result;
    } finally {
      if (!registered) ticket.abandon();
    }
  }

  evaluate(data: LabeledData): Promise<Evaluation> {
    return this.inner.evaluate(data);
  }

  dispose(): void {
    this.leaveRound();
    this.inner.dispose();
  }

  private leaveRound(): void {
    this.ticket?.abandon();
    this.ticket = undefined;
    this.sent = undefined;
  }
}
