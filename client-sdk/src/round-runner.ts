/**
 * A participant's part in rounds over one connection: train on roundStart and upload (in the clear inside
 * the encrypted channel, or through secure aggregation), answer the secure-aggregation stages, and return
 * the summary when the coordinator says the federation is finished.
 *
 * One runner lives as long as its FederatedClient and serves one connection after another: what must outlive
 * a lost link stays here (the kept update for an idempotent retry, counters), what must not (a round's
 * secure-aggregation secrets) is wiped when the connection's session ends.
 */
import type { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import {
  FedwardenError,
  deriveSeed,
  subtract,
  toFedwardenError,
  type IdentityKeyPair,
  type Message,
  type MessageOf,
  type SecaggPeer,
} from '@fedwarden/shared';
import type { ClientSummary, FederatedClientEvents, RoundStage } from './client-events.ts';
import type { SecureConnection } from './connection.ts';
import { KeptUpdate, globalDigest } from './kept-update.ts';
import { SecaggClient } from './secagg/client-protocol.ts';
import type { LabeledData, TrainableModel } from './trainable-model.ts';

export interface RoundRunnerOptions {
  readonly model: TrainableModel;
  readonly data: LabeledData;
  /** Seed for local batch order; rounds derive their own from it. */
  readonly seed?: number;
  /**
   * Randomness for secure aggregation's stochastic rounding only (SecaggClient); default the platform CSPRNG.
   * Simulations pass `seededBytes(seed)` so that a secure-aggregation run replays exactly; keys and masks
   * always come from the CSPRNG.
   */
  readonly roundingRandom?: (n: number) => Uint8Array;
  /** This participant's identity key pair: signs its secure-aggregation stage messages. */
  readonly identity: IdentityKeyPair;
  /**
   * Whether to accept a neighbour the coordinator names in a secure-aggregation setup (FederatedClient: pins and
   * the application's trustPeer). A neighbour not trusted makes this participant refuse the round (UNTRUSTED_PEER).
   */
  readonly trustPeer: (peer: SecaggPeer) => boolean;
}

const STAGE_OF = { saPeerKeys: 'encaps', saPeerEncaps: 'shares', saPeerShares: 'masked', saSurvivors: 'survivors', saUnmask: 'unmask' } as const;

export class RoundRunner {
  private trained = 0;
  private secaggTime = 0;
  /** The secure-aggregation session of the current round, and the update it will mask. */
  private secagg: { session: SecaggClient; round: number; update: Float32Array } | undefined;
  /** The last plaintext update, until the coordinator acknowledged it or its round ended. */
  private kept: KeptUpdate | undefined;

  constructor(
    private readonly options: RoundRunnerOptions,
    private readonly events: EventEmitter<FederatedClientEvents>,
  ) {}

  get roundsTrained(): number {
    return this.trained;
  }

  /** Time spent in the secure-aggregation protocol so far, ms. */
  get secaggMs(): number {
    return this.secaggTime;
  }

  /**
   * Take part in rounds over `conn` until the coordinator finishes the federation. Rejects when the link is
   * lost or the coordinator breaks the protocol.
   */
  async serve(conn: SecureConnection, participantId: string): Promise<ClientSummary> {
    try {
      for (;;) {
        const msg = await conn.next();
        switch (msg.kind) {
          case 'roundStart':
            await this.onRoundStart(conn, msg);
            break;
          case 'saPeerKeys':
          case 'saPeerEncaps':
          case 'saPeerShares':
          case 'saSurvivors':
          case 'saUnmask':
            await this.secaggStep(conn, msg);
            break;
          case 'updateAck':
            this.release(msg.round);
            this.events.emit('acknowledged', msg.round);
            break;
          case 'roundEnd':
            this.endSecagg(msg.round);
            this.release(msg.round);
            this.events.emit('roundEnd', msg.round, msg.outcome, msg.reason);
            break;
          case 'finished': {
            this.endSecagg(msg.round);
            this.release(Infinity);
            const summary = {
              participantId,
              roundsTrained: this.trained,
              lastRound: msg.round,
              global: msg.global,
              secaggMs: this.secaggTime,
            };
            conn.close();
            this.events.emit('finished', summary);
            return summary;
          }
          case 'error':
            if (msg.code === 'UPDATE_REFUSED') {
              this.onUpdateRefused(msg);
              break;
            }
            throw new FedwardenError(msg.code, `coordinator reported: ${msg.message}`);
          case 'hello':
          case 'welcome':
          case 'update':
          case 'saKeys':
          case 'saEncaps':
          case 'saShares':
          case 'saMasked':
          case 'saSurvivorsSigned':
          case 'saUnmaskReply':
            throw unexpected(msg, 'a coordinator message');
          default: {
            const unreachable: never = msg;
            throw unexpected(unreachable, 'a known message');
          }
        }
      }
    } finally {
      // A member that lost its link cannot re-enter a secure-aggregation round: wipe its secrets now.
      this.endSecagg(Infinity);
    }
  }

  /**
   * A round begins, or (after a reconnect) the coordinator re-sends the start of a round this participant
   * already trained for: the kept update answers it again, counted once by the coordinator.
   */
  private async onRoundStart(conn: SecureConnection, msg: MessageOf<'roundStart'>): Promise<void> {
    this.events.emit('roundStart', msg.round);
    this.endSecagg(msg.round);
    const digest = globalDigest(msg.global);
    const kept = this.kept;
    if (!msg.secagg && kept?.answers(msg.round, digest)) {
      await conn.send(kept.update);
      this.events.emit('uploadRetried', msg.round);
      return;
    }
    this.kept = undefined;
    await this.trainAndUpload(conn, msg, digest);
  }

  private async trainAndUpload(conn: SecureConnection, msg: MessageOf<'roundStart'>, digest: Uint8Array): Promise<void> {
    const { model, data } = this.options;
    this.enterStage(conn, msg.round, 'train');
    model.setWeights(msg.global);
    const training = model.train(data, { ...msg.plan, seed: deriveSeed(this.options.seed ?? 0, msg.round) });
    let step = await training.next();
    while (!step.done) {
      this.events.emit('progress', msg.round, step.value);
      step = await training.next();
    }
    const result = step.value;
    const delta = subtract(model.getWeights(), msg.global);
    const meta = { numSamples: result.numSamples, meanLoss: result.meanLoss, trainMs: result.trainMs };
    this.trained++;
    if (msg.secagg) {
      // The update never leaves this node in the clear: it is kept for the masked stage.
      const setup = msg.secagg;
      await this.secaggAnswer(conn, msg.round, () => {
        const { identity, trustPeer, roundingRandom } = this.options;
        // Refuses a setup naming a neighbour not trusted (UNTRUSTED_PEER): reported below like any refusal.
        const session = new SecaggClient(msg.round, setup, { identity, trustPeer, rounding: roundingRandom });
        this.secagg = { session, round: msg.round, update: delta };
        return session.keys(meta);
      });
    } else {
      const update: MessageOf<'update'> = { kind: 'update', round: msg.round, ...meta, delta };
      // Kept before sending: if the link dies under the upload, the reconnected session sends it again.
      this.kept = new KeptUpdate(update, digest);
      await conn.send(update);
    }
    this.events.emit('uploaded', msg.round, result);
  }

  /**
   * One secure-aggregation stage. A request an honest participant must refuse (inconsistent survivor lists,
   * both secrets about one neighbour, tampered shares) ends this participant's part in the round: it tells
   * the coordinator why and reveals nothing; the connection stays up for the next round.
   */
  private async secaggStep(
    conn: SecureConnection,
    msg: MessageOf<'saPeerKeys' | 'saPeerEncaps' | 'saPeerShares' | 'saSurvivors' | 'saUnmask'>,
  ): Promise<void> {
    const active = this.secagg;
    if (!active || active.round !== msg.round) return; // a round this participant is no longer part of
    this.enterStage(conn, msg.round, STAGE_OF[msg.kind]);
    await this.secaggAnswer(conn, msg.round, () => {
      switch (msg.kind) {
        case 'saPeerKeys':
          return active.session.encaps(msg);
        case 'saPeerEncaps':
          return active.session.shares(msg);
        case 'saPeerShares':
          return active.session.masked(msg, active.update);
        case 'saSurvivors':
          return active.session.survivors(msg);
        case 'saUnmask':
          return active.session.unmask(msg);
      }
    });
  }

  /** Compute a stage's answer and send it; a refusal ends this participant's part in the round. */
  private async secaggAnswer(conn: SecureConnection, round: number, answer: () => Message): Promise<void> {
    let reply: Message;
    try {
      reply = this.timedSecagg(answer);
    } catch (err) {
      const error = toFedwardenError(err);
      this.endSecagg(round);
      this.events.emit('refused', round, error);
      await conn.send({ kind: 'error', code: error.code, message: `round ${round}: ${error.message}` });
      return;
    }
    await conn.send(reply);
  }

  /** Announce a stage; if a listener closed the client meanwhile, stop here. */
  private enterStage(conn: SecureConnection, round: number, stage: RoundStage): void {
    this.events.emit('stage', round, stage);
    if (!conn.isOpen) throw new FedwardenError('GOING_AWAY', `closed at stage ${stage} of round ${round}`);
  }

  /**
   * The coordinator will not use an update of ours (it came after its round stopped collecting): nothing to
   * retry, so the kept update goes; the link stays up for the next round. The reply's text starts `round N:`.
   */
  private onUpdateRefused(msg: MessageOf<'error'>): void {
    const match = /^round (\d+):/.exec(msg.message);
    const round = match ? Number(match[1]) : undefined;
    if (round !== undefined) this.release(round);
    this.events.emit('updateRefused', round, new FedwardenError(msg.code, `coordinator refused the update: ${msg.message}`));
  }

  /** Let go of the kept update once rounds up to `round` need it no more. */
  private release(round: number): void {
    if (this.kept && this.kept.round <= round) this.kept = undefined;
  }

  /** Forget the secure-aggregation session of rounds up to `round`, wiping its secrets. */
  private endSecagg(round: number): void {
    if (this.secagg && this.secagg.round <= round) {
      this.secagg.session.dispose();
      this.secagg.update.fill(0);
      this.secagg = undefined;
    }
  }

  private timedSecagg<T>(fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.secaggTime += performance.now() - t0;
    }
  }
}

function unexpected(msg: Message, wanted: string): FedwardenError {
  return new FedwardenError('UNEXPECTED_MESSAGE', `expected ${wanted}, got ${msg.kind}`);
}
