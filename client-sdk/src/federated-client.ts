/**
 * FederatedClient: the public SDK entry point a participant node embeds. Give it the coordinator's URL and
 * pinned key fingerprint, an enrolment token, a TrainableModel and local data; run() takes part in rounds
 * until the coordinator says the federation is finished. Progress is observable as events.
 */
import { EventEmitter } from 'node:events';
import {
  FedwardenError,
  deriveSeed,
  silentLogger,
  subtract,
  type Logger,
  type Message,
  type MessageOf,
  type ProtocolLimits,
  type RoundOutcome,
} from '@fedwarden/shared';
import { SecureConnection } from './connection.ts';
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
  finished: [summary: ClientSummary];
}

export class FederatedClient extends EventEmitter<FederatedClientEvents> {
  private connection: SecureConnection | undefined;
  private roundsTrained = 0;

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
          case 'updateAck':
            this.emit('acknowledged', msg.round);
            break;
          case 'roundEnd':
            this.emit('roundEnd', msg.round, msg.outcome, msg.reason);
            break;
          case 'finished': {
            const summary = { participantId, roundsTrained: this.roundsTrained, lastRound: msg.round, global: msg.global };
            conn.close();
            this.emit('finished', summary);
            return summary;
          }
          case 'error':
            throw new FedwardenError(msg.code, `coordinator reported: ${msg.message}`);
          case 'hello':
          case 'welcome':
          case 'update':
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
    }
  }

  /** Close the connection; a pending run() rejects with GOING_AWAY. */
  close(): void {
    this.connection?.close();
  }

  private async trainAndUpload(conn: SecureConnection, msg: MessageOf<'roundStart'>): Promise<void> {
    const { model, data } = this.options;
    this.emit('roundStart', msg.round);
    model.setWeights(msg.global);
    const training = model.train(data, { ...msg.plan, seed: deriveSeed(this.options.seed ?? 0, msg.round) });
    let step = await training.next();
    while (!step.done) {
      this.emit('progress', msg.round, step.value);
      step = await training.next();
    }
    const result = step.value;
    const delta = subtract(model.getWeights(), msg.global);
    await conn.send({
      kind: 'update',
      round: msg.round,
      numSamples: result.numSamples,
      meanLoss: result.meanLoss,
      trainMs: result.trainMs,
      delta,
    });
    this.roundsTrained++;
    this.emit('uploaded', msg.round, result);
  }
}

function unexpected(msg: Message, wanted: string): FedwardenError {
  return new FedwardenError('UNEXPECTED_MESSAGE', `expected ${wanted}, got ${msg.kind}`);
}
