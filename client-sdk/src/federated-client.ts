/**
 * FederatedClient: the public SDK entry point a participant node embeds. Give it the coordinator's URL and
 * pinned key fingerprint, an enrolment token, a TrainableModel and local data; run() takes part in rounds
 * until the coordinator says the federation is finished. Progress is observable as events.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import {
  FedwardenError,
  deriveSeed,
  silentLogger,
  subtract,
  toFedwardenError,
  type Logger,
  type Message,
  type MessageOf,
  type ProtocolLimits,
  type RoundOutcome,
} from '@fedwarden/shared';
import { SecureConnection } from './connection.ts';
import { SecaggClient } from './secagg/client-protocol.ts';
import type { LabeledData, TrainProgress, TrainResult, TrainableModel } from './trainable-model.ts';

export interface FederatedClientOptions {
  readonly url: string;
  readonly fingerprint: string;
  readonly token: string;
  readonly model: TrainableModel;
  readonly data: LabeledData;
  /** Seed for local batch order; rounds derive their own from it. */
  readonly seed?: number;
  readonly limits?: ProtocolLimits;
  readonly handshakeTimeoutMs?: number;
  readonly logger?: Logger;
}

export interface ClientSummary {
  readonly participantId: string;
  readonly roundsTrained: number;
  readonly lastRound: number;
  /** Time spent in the secure-aggregation protocol (key exchange, sharing, masking, unmasking), ms. */
  readonly secaggMs: number;
  /** The federation's final global adapter. */
  readonly global: Float32Array;
}

export interface FederatedClientEvents {
  connected: [participantId: string];
  roundStart: [round: number];
  progress: [round: number, progress: TrainProgress];
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
  finished: [summary: ClientSummary];
}

export type RoundStage = 'train' | 'encaps' | 'shares' | 'masked' | 'unmask';

const STAGE_OF = { saPeerKeys: 'encaps', saPeerEncaps: 'shares', saPeerShares: 'masked', saUnmask: 'unmask' } as const;

export class FederatedClient extends EventEmitter<FederatedClientEvents> {
  private connection: SecureConnection | undefined;
  private roundsTrained = 0;
  private secaggMs = 0;
  /** The secure-aggregation session of the current round, and the update it will mask. */
  private secagg: { session: SecaggClient; round: number; update: Float32Array } | undefined;

  constructor(private readonly options: FederatedClientOptions) {
    super();
    if (options.data.count < 1) throw new FedwardenError('BAD_CONFIG', 'FederatedClient: no local data');
  }

  /** Connect, take part in rounds, and resolve when the coordinator finishes the federation. */
  async run(): Promise<ClientSummary> {
    const { url, fingerprint, token, model, limits, handshakeTimeoutMs } = this.options;
    const log = this.options.logger ?? silentLogger;
    const conn = await SecureConnection.open({ url, fingerprint, limits, handshakeTimeoutMs });
    this.connection = conn;
    try {
      await conn.send({ kind: 'hello', token, manifest: model.manifest });
      const welcome = await conn.next();
      if (welcome.kind !== 'welcome') throw unexpected(welcome, 'welcome');
      const participantId = welcome.participantId;
      log.info('joined federation', { participant: participantId });
      this.emit('connected', participantId);
      for (;;) {
        const msg = await conn.next();
        switch (msg.kind) {
          case 'roundStart':
            await this.trainAndUpload(conn, msg);
            break;
          case 'saPeerKeys':
          case 'saPeerEncaps':
          case 'saPeerShares':
          case 'saUnmask':
            await this.secaggStep(conn, msg);
            break;
          case 'updateAck':
            this.emit('acknowledged', msg.round);
            break;
          case 'roundEnd':
            this.endSecagg(msg.round);
            this.emit('roundEnd', msg.round, msg.outcome, msg.reason);
            break;
          case 'finished': {
            this.endSecagg(msg.round);
            const summary = {
              participantId,
              roundsTrained: this.roundsTrained,
              lastRound: msg.round,
              global: msg.global,
              secaggMs: this.secaggMs,
            };
            conn.close();
            this.emit('finished', summary);
            return summary;
          }
          case 'error':
            throw new FedwardenError(msg.code, `coordinator reported: ${msg.message}`);
          case 'hello':
          case 'welcome':
          case 'update':
          case 'saKeys':
          case 'saEncaps':
          case 'saShares':
          case 'saMasked':
          case 'saUnmaskReply':
            throw unexpected(msg, 'a coordinator message');
          default: {
            const unreachable: never = msg;
            throw unexpected(unreachable, 'a known message');
          }
        }
      }
    } catch (err) {
      if (err instanceof FedwardenError && conn.isOpen) conn.close(err);
      throw err;
    } finally {
      this.endSecagg(Infinity);
    }
  }

  /** Close the connection; a pending run() rejects with GOING_AWAY. */
  close(): void {
    this.connection?.close();
  }

  private async trainAndUpload(conn: SecureConnection, msg: MessageOf<'roundStart'>): Promise<void> {
    const { model, data } = this.options;
    this.emit('roundStart', msg.round);
    this.endSecagg(msg.round);
    this.enterStage(conn, msg.round, 'train');
    model.setWeights(msg.global);
    const training = model.train(data, { ...msg.plan, seed: deriveSeed(this.options.seed ?? 0, msg.round) });
    let step = await training.next();
    while (!step.done) {
      this.emit('progress', msg.round, step.value);
      step = await training.next();
    }
    const result = step.value;
    const delta = subtract(model.getWeights(), msg.global);
    const meta = { numSamples: result.numSamples, meanLoss: result.meanLoss, trainMs: result.trainMs };
    if (msg.secagg) {
      // The update never leaves this node in the clear: it is kept for the masked stage.
      const setup = msg.secagg;
      await this.secaggAnswer(conn, msg.round, () => {
        const session = new SecaggClient(msg.round, setup);
        this.secagg = { session, round: msg.round, update: delta };
        return session.keys(meta);
      });
    } else {
      await conn.send({ kind: 'update', round: msg.round, ...meta, delta });
    }
    this.roundsTrained++;
    this.emit('uploaded', msg.round, result);
  }

  /**
   * One secure-aggregation stage. A request an honest participant must refuse (inconsistent survivor lists,
   * both secrets about one neighbour, tampered shares) ends this participant's part in the round: it tells
   * the coordinator why and reveals nothing; the connection stays up for the next round.
   */
  private async secaggStep(
    conn: SecureConnection,
    msg: MessageOf<'saPeerKeys' | 'saPeerEncaps' | 'saPeerShares' | 'saUnmask'>,
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
      this.emit('refused', round, error);
      await conn.send({ kind: 'error', code: error.code, message: `round ${round}: ${error.message}` });
      return;
    }
    await conn.send(reply);
  }

  /** Announce a stage; if a listener closed the client meanwhile, stop here. */
  private enterStage(conn: SecureConnection, round: number, stage: RoundStage): void {
    this.emit('stage', round, stage);
    if (!conn.isOpen) throw new FedwardenError('GOING_AWAY', `closed at stage ${stage} of round ${round}`);
  }

  /** Time spent in the secure-aggregation protocol so far, ms. */
  get secaggMilliseconds(): number {
    return this.secaggMs;
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
      this.secaggMs += performance.now() - t0;
    }
  }
}

function unexpected(msg: Message, wanted: string): FedwardenError {
  return new FedwardenError('UNEXPECTED_MESSAGE', `expected ${wanted}, got ${msg.kind}`);
}
