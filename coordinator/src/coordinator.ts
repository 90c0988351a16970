/**
 * The coordinator: enrolment, the participant registry, the global adapter and the round loop.
 *
 * A round: select participants → send the plan and the global adapter → collect updates until all answered
 * or the deadline → quorum check → FedAvg by sample count → new global adapter. Events ('round', 'finished')
 * let an embedding process (the simulation, a dashboard) observe without reaching into the loop.
 */
import { EventEmitter } from 'node:events';
import {
  FedwardenError,
  axpy,
  createLogger,
  createRng,
  deriveSeed,
  initAdapter,
  manifestHash,
  manifestSize,
  shuffle,
  type AdapterManifest,
  type Logger,
  type Message,
  type MessageOf,
  type RoundOutcome,
} from '@fedwarden/shared';
import { fedAvg } from './aggregation/fedavg.ts';
import type { CoordinatorConfig } from './config.ts';
import { Enrolment } from './enrolment.ts';
import type { CoordinatorIdentity } from './identity.ts';
import type { ParticipantConnection } from './net/participant-connection.ts';
import { CoordinatorServer } from './net/server.ts';
import { RoundState } from './rounds/round-state.ts';
import { UpdateCollector } from './rounds/update-collector.ts';

export interface RoundRecord {
  readonly round: number;
  readonly outcome: RoundOutcome;
  readonly reason: string;
  readonly selected: readonly string[];
  readonly reported: readonly string[];
  readonly dropped: readonly string[];
  /** Sample-weighted mean of the participants' reported training loss; null if none reported. */
  readonly meanLoss: number | null;
  readonly samples: number;
  /** Bytes on the wire of the accepted update frames (sealed), and the adapter size, for bytes/parameter. */
  readonly uploadBytes: number;
  readonly adapterParams: number;
  readonly durationMs: number;
}

export interface CoordinatorEvents {
  round: [RoundRecord];
  participantJoined: [string];
  participantLeft: [string];
  finished: [readonly RoundRecord[]];
}

export class Coordinator extends EventEmitter<CoordinatorEvents> {
  private readonly server: CoordinatorServer;
  private readonly enrolment: Enrolment;
  private readonly participants = new Map<string, ParticipantConnection>();
  private manifest: AdapterManifest | undefined;
  private manifestDigest: string | undefined;
  private global: Float32Array | undefined;
  private collector: UpdateCollector | undefined;
  private readonly records: RoundRecord[] = [];
  private participantWaiters: Array<() => void> = [];
  private stopped = false;
  private listeningPort = 0;

  constructor(
    readonly config: CoordinatorConfig,
    readonly identity: CoordinatorIdentity,
    private readonly log: Logger = createLogger(config.logLevel, { component: 'coordinator' }),
  ) {
    super();
    this.enrolment = new Enrolment(config.participants);
    this.server = new CoordinatorServer(
      config,
      identity,
      {
        authenticate: (hello, conn) => this.authenticate(hello, conn),
        onReady: (conn) => this.onReady(conn),
        onMessage: (conn, msg, bytes) => this.onMessage(conn, msg, bytes),
        onClose: (conn) => this.onClose(conn),
      },
      this.log,
      (req, res) => {
        if (req.url === '/healthz') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }) + '\n');
          return true;
        }
        return false;
      },
    );
  }

  /** Start listening; returns the bound port. */
  async listen(): Promise<number> {
    this.listeningPort = await this.server.listen();
    this.log.info('coordinator listening', {
      host: this.config.host,
      port: this.listeningPort,
      fingerprint: this.identity.fingerprint,
      enrolled: this.enrolment.size,
    });
    return this.listeningPort;
  }

  get port(): number {
    return this.listeningPort;
  }

  get connectedParticipants(): number {
    return this.participants.size;
  }

  /** A copy of the current global adapter (undefined before the first participant fixes the manifest). */
  globalAdapter(): Float32Array | undefined {
    return this.global?.slice();
  }

  get adapterManifest(): AdapterManifest | undefined {
    return this.manifest;
  }

  /** Run the configured number of rounds, then tell participants the federation is finished. */
  async run(): Promise<readonly RoundRecord[]> {
    for (let round = 1; round <= this.config.rounds.count && !this.stopped; round++) {
      await this.waitForParticipants(this.config.rounds.minParticipants);
      if (this.stopped) break;
      const record = await this.runRound(round);
      this.records.push(record);
      this.emit('round', record);
    }
    const last = this.records.at(-1)?.round ?? 0;
    const global = this.global ?? new Float32Array(0);
    await Promise.allSettled(
      [...this.participants.values()].map((c) => c.send({ kind: 'finished', round: last, global })),
    );
    this.emit('finished', this.records);
    return this.records;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.participantWaiters) w();
    this.participantWaiters = [];
    await this.server.close();
  }

  private async runRound(round: number): Promise<RoundRecord> {
    const started = Date.now();
    const state = new RoundState(round);
    const global = this.global as Float32Array;
    const rng = createRng(deriveSeed(this.config.seed, round));
    const candidates = shuffle(rng, [...this.participants.keys()].sort());
    const max = this.config.rounds.maxParticipants;
    const selected = max > 0 ? candidates.slice(0, max) : candidates;
    const collector = new UpdateCollector(round, new Set(selected), global.length);
    this.collector = collector;
    const log = this.log.child({ round });
    log.info('round started', { selected: selected.length });

    state.transition('training');
    const start: Message = {
      kind: 'roundStart',
      round,
      plan: this.config.training,
      deadlineMs: this.config.rounds.deadlineMs,
      global,
    };
    await Promise.all(
      selected.map(async (id) => {
        try {
          await this.participants.get(id)?.send(start);
        } catch {
          collector.drop(id);
        }
        if (!this.participants.has(id)) collector.drop(id);
      }),
    );
    await collector.wait(this.config.rounds.deadlineMs);
    this.collector = undefined;

    const accepted = collector.accepted;
    const needed = Math.max(1, Math.ceil(this.config.rounds.quorum * selected.length));
    let outcome: RoundOutcome;
    let reason: string;
    if (this.stopped) {
      state.transition('aborted');
      outcome = 'aborted';
      reason = 'coordinator stopping';
    } else if (accepted.length < needed) {
      state.transition('aborted');
      outcome = 'aborted';
      reason = `quorum not met: ${accepted.length} of ${selected.length} updates, ${needed} needed`;
    } else {
      state.transition('aggregating');
      const step = fedAvg(
        accepted.map((u) => ({ id: u.participantId, delta: u.delta, weight: u.numSamples })),
        global.length,
      );
      const next = global.slice();
      axpy(1, step, next);
      this.global = next;
      state.transition('completed');
      outcome = 'completed';
      reason = `${accepted.length} of ${selected.length} updates aggregated`;
    }

    const samples = accepted.reduce((s, u) => s + u.numSamples, 0);
    const record: RoundRecord = {
      round,
      outcome,
      reason,
      selected,
      reported: accepted.map((u) => u.participantId),
      dropped: collector.missing,
      meanLoss: samples > 0 ? accepted.reduce((s, u) => s + u.meanLoss * u.numSamples, 0) / samples : null,
      samples,
      uploadBytes: accepted.reduce((s, u) => s + u.frameBytes, 0),
      adapterParams: global.length,
      durationMs: Date.now() - started,
    };
    log.info('round ended', { outcome, reason, dropped: record.dropped.length, durationMs: record.durationMs });
    await Promise.allSettled(
      selected.map((id) => this.participants.get(id)?.send({ kind: 'roundEnd', round, outcome, reason })),
    );
    return record;
  }

  private waitForParticipants(min: number): Promise<void> {
    if (this.participants.size >= min) return Promise.resolve();
    this.log.info('waiting for participants', { connected: this.participants.size, needed: min });
    const timeoutMs = this.config.rounds.waitForParticipantsMs;
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.participantWaiters = this.participantWaiters.filter((w) => w !== check);
              reject(new FedwardenError('TIMEOUT', `fewer than ${min} participants after ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      const check = () => {
        if (this.participants.size >= min || this.stopped) {
          clearTimeout(timer);
          this.participantWaiters = this.participantWaiters.filter((w) => w !== check);
          resolve();
        }
      };
      this.participantWaiters.push(check);
    });
  }

  private authenticate(hello: MessageOf<'hello'>, conn: ParticipantConnection): string {
    const id = this.enrolment.authenticate(hello.token);
    if (id === undefined) throw new FedwardenError('AUTH_FAILED', 'unknown enrolment token');
    const digest = manifestHash(hello.manifest);
    const pinned = this.config.model.manifestSha256;
    if (pinned !== undefined && digest !== pinned) {
      throw new FedwardenError('MANIFEST_MISMATCH', `manifest ${digest.slice(0, 16)}… is not the configured one`);
    }
    if (this.manifestDigest === undefined) {
      this.adoptManifest(hello.manifest, digest, id);
    } else if (digest !== this.manifestDigest) {
      throw new FedwardenError('MANIFEST_MISMATCH', `manifest ${digest.slice(0, 16)}… differs from the federation's`);
    }
    const previous = this.participants.get(id);
    if (previous && previous !== conn) {
      this.participants.delete(id);
      previous.fail(new FedwardenError('SUPERSEDED', 'participant connected again'));
    }
    return id;
  }

  private adoptManifest(manifest: AdapterManifest, digest: string, by: string): void {
    this.manifest = manifest;
    this.manifestDigest = digest;
    this.global = initAdapter(manifest, createRng(deriveSeed(this.config.seed, 0x41444150)));
    this.log.info('adapter manifest adopted', { by, manifestSha256: digest, params: manifestSize(manifest) });
  }

  private onReady(conn: ParticipantConnection): void {
    const id = conn.participantId as string;
    if (!conn.ready) return; // closed before the welcome went out
    this.participants.set(id, conn);
    this.emit('participantJoined', id);
    this.log.info('participant joined', { participant: id, connected: this.participants.size });
    for (const w of [...this.participantWaiters]) w();
  }

  private onMessage(conn: ParticipantConnection, msg: Message, frameBytes: number): void {
    const id = conn.participantId as string;
    switch (msg.kind) {
      case 'update': {
        const collector = this.collector;
        if (!collector) {
          this.log.debug('update outside a round ignored', { participant: id, round: msg.round });
          return;
        }
        const result = collector.offer(id, msg, frameBytes);
        if (result !== 'stale') void conn.send({ kind: 'updateAck', round: msg.round }).catch(() => undefined);
        return;
      }
      case 'error':
        this.log.warn('participant reported an error', { participant: id, code: msg.code, message: msg.message });
        return;
      case 'hello':
      case 'welcome':
      case 'roundStart':
      case 'updateAck':
      case 'roundEnd':
      case 'finished':
        throw new FedwardenError('UNEXPECTED_MESSAGE', `${msg.kind} is not sent by participants`);
      default: {
        const unreachable: never = msg;
        throw new FedwardenError('UNEXPECTED_MESSAGE', `unknown message ${String(unreachable)}`);
      }
    }
  }

  private onClose(conn: ParticipantConnection): void {
    const id = conn.participantId as string;
    if (this.participants.get(id) !== conn) return; // superseded connection
    this.participants.delete(id);
    this.collector?.drop(id);
    this.emit('participantLeft', id);
    this.log.info('participant left', { participant: id, connected: this.participants.size });
  }
}
