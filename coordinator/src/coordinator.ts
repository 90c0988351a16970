/**
 * The coordinator's lifecycle: listening, the participant registry (authentication, joins, departures,
 * rejoins) and the routing of participant messages to the round in progress, the global adapter, the round
 * loop, graceful stop, and resuming from storage. The body of one round (selection → collection → quorum →
 * review → record) is rounds/round-runner.ts. Events ('round', 'finished', participants joining and leaving)
 * let an embedding process (the simulation, a dashboard, the metrics) observe without reaching into the loop.
 */
import { EventEmitter } from 'node:events';
import {
  FedwardenError,
  createLogger,
  createRng,
  deriveSeed,
  initAdapter,
  manifestSize,
  type AdapterManifest,
  type Logger,
  type Message,
  type MessageOf,
} from '@fedwarden/shared';
import type { Strategy } from './aggregation/strategy.ts';
import { Alerting, type Membership } from './alerting/alerting-service.ts';
import type { AlertTransition, TrackedAlert } from './alerting/tracked-alert.ts';
import { Defences } from './defences.ts';
import { checkEnrolment, type CoordinatorConfig } from './config.ts';
import { Enrolment, checkProtocolVersion } from './enrolment.ts';
import { FinishConfirmations } from './finish-confirmations.ts';
import { ManifestAgreement } from './manifest-agreement.ts';
import { ParticipantIdentities } from './participant-identities.ts';
import { CoordinatorMetrics } from './metrics/coordinator-metrics.ts';
import { operatorEndpoints, participantEndpoints } from './metrics/http-endpoints.ts';
import { readiness, type Readiness } from './metrics/readiness.ts';
import type { CoordinatorIdentity } from './identity.ts';
import type { ParticipantConnection } from './net/participant-connection.ts';
import { CoordinatorServer } from './net/server.ts';
import { OperatorServer, type OperatorRoute } from './operator/operator-server.ts';
import { DashboardFeed } from './operator/dashboard/dashboard-feed.ts';
import { dashboardRoutes, type DashboardRoutes } from './operator/dashboard/dashboard-routes.ts';
import type { RoundRecord } from './rounds/round-record.ts';
import type { LoopStage, StageChange } from './rounds/round-stage.ts';
import { reputationStandings, type ReputationStanding } from './reputation/standing.ts';
import { RoundRunner, type RoundHooks } from './rounds/round-runner.ts';
import { checkGroupingKey, groupingKeyFromIdentity } from './secagg/grouping-key.ts';
import { updateRefused } from './rounds/update-collector.ts';
import { SqliteStore, type CoordinatorStore, type ResumeState } from './storage/store.ts';

export interface CoordinatorEvents {
  round: [RoundRecord];
  participantJoined: [string];
  participantLeft: [string];
  finished: [readonly RoundRecord[]];
  /** An alert opened, repeated, escalated or resolved (alerting/alert-book.ts), after a round's record. */
  alert: [AlertTransition];
  /** The round loop moved: waiting for participants, a round's phase, finished (rounds/round-stage.ts). */
  stage: [StageChange];
}

export interface CoordinatorOptions extends RoundHooks {
  /**
   * Persistent state (storage/store.ts): the coordinator resumes from it (manifest, latest checkpoint,
   * reputation, next round) and closes it in stop(). Default: an in-memory SQLite store (nothing survives).
   */
  readonly store?: CoordinatorStore;
  /**
   * The operator's own aggregation strategy (aggregation/strategy.ts), in place of the one config.aggregation
   * names. Its results are checked (aggregation/result-check.ts); one that throws or is malformed aborts the
   * round. From a config file: extensions.strategy (extensions/load-extensions.ts).
   */
  readonly strategy?: Strategy;
  /**
   * More routes for the operator listener (operator/operator-server.ts), after /readyz and /metrics and behind
   * the same operator token. Ignored when config.operator.enabled is false.
   */
  readonly operatorRoutes?: readonly OperatorRoute[];
  /**
   * The secret that orders participants into secure groups (secagg/grouping-key.ts). Default: derived from the
   * identity's secret key, so participants cannot predict their groups. Simulations and tests pass
   * groupingKeyFromSeed(seed) to replay a run; a real federation must not (anyone with the seed can recompute it).
   */
  readonly groupingKey?: Uint8Array;
}

export class Coordinator extends EventEmitter<CoordinatorEvents> {
  private readonly defences: Defences;
  /** Rules over the detectors' findings, and the log and webhook channels (alerting/). */
  private readonly alerting: Alerting;
  /** Prometheus metrics of this coordinator, served on /metrics. */
  readonly metrics: CoordinatorMetrics;
  private readonly server: CoordinatorServer;
  /** The operator listener (health, readiness, metrics, dashboard); undefined when config.operator.enabled is false. */
  private readonly operator: OperatorServer | undefined;
  /** The dashboard on the operator listener (operator/dashboard/): its page, and its API behind the token. */
  private readonly dashboard: DashboardRoutes | undefined;
  private readonly enrolment: Enrolment;
  private readonly identities: ParticipantIdentities;
  private readonly participants = new Map<string, ParticipantConnection>();
  private readonly manifests: ManifestAgreement;
  private global: Float32Array | undefined;
  private readonly runner: RoundRunner;
  private readonly records: RoundRecord[] = [];
  private participantWaiters: Array<() => void> = [];
  private stopped = false;
  /** Set once the federation has run its rounds; participants joining later are told at once. */
  private finishedAt: number | undefined;
  /** Who has heard that the federation is finished (see finish-confirmations.ts). */
  private readonly finishNotices = new FinishConfirmations<ParticipantConnection>();
  private listeningPort = 0;
  private readonly store: CoordinatorStore;
  /** The first round this process runs: the one after the last finished round in storage. */
  private nextRound = 1;
  private resumeState: Pick<ResumeState, 'lastFinishedRound' | 'interrupted'> = { lastFinishedRound: 0, interrupted: [] };
  private running: Promise<readonly RoundRecord[]> | undefined;
  private stopping: Promise<void> | undefined;
  private stageNow: StageChange = { round: 1, stage: 'waiting', at: Date.now() };
  /** Whether an evaluator scores each round (options.evaluate): accuracy and evaluation loss come only then. */
  readonly hasEvaluator: boolean;

  constructor(
    readonly config: CoordinatorConfig,
    readonly identity: CoordinatorIdentity,
    private readonly log: Logger = createLogger(config.logLevel, { component: 'coordinator' }),
    options: CoordinatorOptions = {},
  ) {
    super();
    // Before anything is opened: a config no round can start with would otherwise wait forever.
    checkEnrolment(config);
    if (options.groupingKey !== undefined) checkGroupingKey(options.groupingKey, 'Coordinator: options.groupingKey');
    this.store = options.store ?? SqliteStore.open();
    this.hasEvaluator = options.evaluate !== undefined;
    const resumed = this.store.resume(config.participants);
    this.defences = new Defences(config, this.store.reputation, options.strategy);
    if (options.strategy) this.log.info('aggregating with the operator\'s strategy', { strategy: options.strategy.name, replaces: config.aggregation.strategy });
    this.enrolment = new Enrolment(config.participants);
    this.identities = new ParticipantIdentities(this.store, this.log);
    this.manifests = new ManifestAgreement(config.model.manifestSha256);
    this.restore(resumed);
    this.resumeDefences(resumed);
    this.metrics = new CoordinatorMetrics({
      participants: () => this.participants.size,
      connections: () => this.server.connectionCount,
      enrolled: () => this.enrolment.size,
      stage: () => this.stage,
      lastFinishedRound: () => this.records.at(-1)?.round ?? 0,
      flagged: () => this.defences.flagged().length,
      excluded: () => this.defences.reputation.excluded().length,
    });
    this.metrics.watch(this);
    this.alerting = new Alerting({
      config: config.alerting,
      log: this.log,
      fingerprint: identity.fingerprint,
      store: this.store.alerts,
      registry: this.metrics.registry,
      onTransition: (t) => this.emit('alert', t),
    });
    this.alerting.resume(this.records, this.membership(this.nextRound - 1));
    // A round cut short by stop() runs again after a restart: alerting skips it, and observes it then if it finished.
    this.on('round', (record) => {
      if (!this.stopped) this.alerting.observe(record, this.membership(record.round));
    });
    this.runner = new RoundRunner({
      config,
      log: this.log,
      defences: this.defences,
      store: this.store,
      metrics: this.metrics,
      participants: this.participants,
      groupingKey: options.groupingKey ?? groupingKeyFromIdentity(identity.keyPair),
      identityKey: (id) => this.identities.key(id),
      evaluate: options.evaluate,
      reference: options.reference,
      stopping: () => this.stopped,
      adoptGlobal: (global) => {
        this.global = global;
      },
      stageChanged: (round, phase, deadline) => this.stageChanged(round, phase, deadline),
    });
    this.runner.resumeServerOptimizer(resumed.serverOptimizer, resumed.checkpointRound, this.global?.length ?? 0);
    const ready = () => this.readiness();
    const dashboardLog = this.log.child({ component: 'dashboard' });
    this.dashboard = config.operator.enabled ? dashboardRoutes(new DashboardFeed(this, { log: dashboardLog }), { log: dashboardLog }) : undefined;
    this.operator = config.operator.enabled
      ? new OperatorServer(
          config.operator,
          [operatorEndpoints(this.metrics, ready, this.log), ...(this.dashboard ? [this.dashboard.api] : []), ...(options.operatorRoutes ?? [])],
          this.log.child({ listener: 'operator' }),
          {
            unauthorized: () => this.metrics.operatorUnauthorized(),
            publicRoutes: this.dashboard ? [this.dashboard.page] : [],
          },
        )
      : undefined;
    const endpoints = participantEndpoints(ready);
    this.server = new CoordinatorServer(
      config,
      identity,
      {
        authenticate: (hello, conn) => this.authenticate(hello, conn),
        onReady: (conn) => this.onReady(conn),
        onMessage: (conn, msg, bytes) => this.onMessage(conn, msg, bytes),
        onClose: (conn, code) => this.onClose(conn, code),
      },
      this.log,
      (req, res) => endpoints(req, res),
      this.metrics.net,
    );
  }

  /** Start listening (the participants' port, then the operator listener); returns the participants' port. */
  async listen(): Promise<number> {
    this.listeningPort = await this.server.listen();
    this.log.info('coordinator listening', {
      host: this.config.host,
      port: this.listeningPort,
      fingerprint: this.identity.fingerprint,
      enrolled: this.enrolment.size,
    });
    if (this.operator) {
      const { host, tokenSha256 } = this.config.operator;
      try {
        await this.operator.listen();
      } catch (err) {
        await this.server.close();
        throw err;
      }
      this.log.info('operator listening', { host, port: this.operator.port, open: '/healthz', auth: tokenSha256 === undefined ? 'no token configured' : 'bearer token' });
      if (tokenSha256 === undefined) {
        this.log.warn('no operator token configured (operator.tokenSha256): every operator path but /healthz answers 401; `fedwarden token --operator` mints one');
      }
    }
    return this.listeningPort;
  }

  get port(): number {
    return this.listeningPort;
  }

  /** The operator listener's bound port; 0 before listen() and when the operator listener is disabled. */
  get operatorPort(): number {
    return this.operator?.port ?? 0;
  }

  get connectedParticipants(): number {
    return this.participants.size;
  }

  /** Whether new participants should be sent here (/readyz), and if not, why. */
  readiness(): Readiness {
    const { limits } = this.config;
    return readiness({
      listening: this.server.listening,
      stopping: this.stopped,
      connections: this.server.connectionCount,
      maxConnections: limits.maxConnections,
      participants: this.participants.size,
      maxParticipants: limits.maxParticipants,
    });
  }

  /** A copy of the current global adapter (undefined before the first participant fixes the manifest). */
  globalAdapter(): Float32Array | undefined {
    return this.global?.slice();
  }

  get adapterManifest(): AdapterManifest | undefined {
    return this.manifests.manifest;
  }

  /** The aggregation strategy's name (the operator's own, where options.strategy gave one). */
  get strategyName(): string {
    return this.defences.strategyName;
  }

  /** Alerts firing now, by key (alerting/tracked-alert.ts). */
  openAlerts(): TrackedAlert[] {
    return this.alerting.open();
  }

  /** The most recently changed alerts, firing and resolved, newest first. */
  recentAlerts(limit = 100): TrackedAlert[] {
    return this.alerting.recent(limit);
  }

  /** Participants whose reputation is below the flag threshold or who are excluded. */
  flaggedParticipants(): string[] {
    return this.defences.flagged();
  }

  /** A participant's current reputation score in [0, 1] (0.5 for newcomers). */
  reputationOf(participantId: string): number {
    return this.defences.reputation.score(participantId);
  }

  /** Every enrolled participant's reputation standing (and any other with a record), sorted by id. */
  reputations(): ReputationStanding[] {
    return reputationStandings(this.config.participants.map((p) => p.id), this.defences.reputation, this.store.reputation);
  }

  /** Ids of the authenticated participants connected now. */
  connectedParticipantIds(): string[] {
    return [...this.participants.keys()];
  }

  /** Every finished round's record so far, those of earlier runs included. */
  roundRecords(): readonly RoundRecord[] {
    return [...this.records];
  }

  /** Where the round loop stands now (the last 'stage' event). */
  get stage(): StageChange {
    return this.stageNow;
  }

  /** The audit log's last entry (sequence number and hash): compare with a copy kept elsewhere. */
  auditHead(): { seq: number; hash: string } {
    return this.store.auditHead();
  }

  /** What this coordinator resumed from storage: the last finished round, and rounds found interrupted. */
  get resumed(): Pick<ResumeState, 'lastFinishedRound' | 'interrupted'> {
    return this.resumeState;
  }

  /**
   * Run the configured number of rounds (after a restart: those not finished yet), then tell participants the
   * federation is finished. Returns every finished round's record, those of earlier runs included.
   */
  run(): Promise<readonly RoundRecord[]> {
    this.running ??= this.runRounds();
    return this.running;
  }

  private async runRounds(): Promise<readonly RoundRecord[]> {
    for (let round = this.nextRound; round <= this.config.rounds.count && !this.stopped; round++) {
      if (this.participants.size < this.config.rounds.minParticipants) this.stageChanged(round, 'waiting');
      await this.waitForParticipants(this.config.rounds.minParticipants);
      if (this.stopped) break;
      const record = await this.runner.run(round, this.global as Float32Array);
      this.records.push(record);
      this.emit('round', record);
    }
    if (!this.stopped) {
      // Stopped early, participants are not told "finished": they come back to the restarted coordinator.
      this.finishedAt = this.records.at(-1)?.round ?? 0;
      this.stageChanged(this.finishedAt, 'finished');
      await Promise.allSettled([...this.participants.values()].map((c) => this.sendFinished(c)));
    }
    this.emit('finished', this.records);
    return this.records;
  }

  /**
   * After run(): resolves once every participant that connected to this process has confirmed that it heard the
   * federation is finished, or after `graceMs`, with the ids of those that did not. Meanwhile a participant whose
   * link broke near the end can reconnect and is told then. Call before stop(). A federation stopped before its
   * last round did not finish, so nobody is owed the news: [] at once.
   */
  finishHeard(graceMs: number): Promise<string[]> {
    if (this.finishedAt === undefined) return Promise.resolve([]);
    return this.finishNotices.wait(graceMs);
  }

  /**
   * Graceful shutdown (idempotent): refuse new participants, abort the round in progress (stored as
   * interrupted, so a restart runs it again), wait for the round loop to record it, close every socket with
   * 1001, then close storage.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    for (const w of this.participantWaiters) w();
    this.participantWaiters = [];
    // Every participant counts as gone for the round in progress, so that its collector settles now.
    const collector = this.runner.collector;
    if (collector) for (const id of this.participants.keys()) collector.onLeave(id);
    await this.running?.catch(() => undefined);
    await this.server.close();
    // After the participants' port: /readyz says "shutting down" until the end, and open dashboards hear the last round.
    this.dashboard?.close();
    await this.operator?.close();
    await this.alerting.close();
    this.store.close();
  }

  /** Who is out of the federation after `round`, for alerting's resolution on exclusion. */
  private membership(round: number): Membership {
    const enrolled = new Set(this.config.participants.map((p) => p.id));
    return { excluded: new Set(this.defences.reputation.excluded(round + 1)), enrolled: (id) => enrolled.has(id) };
  }

  private stageChanged(round: number, stage: LoopStage, deadline?: number): void {
    this.stageNow = { round, stage, at: Date.now(), ...(deadline !== undefined ? { deadline } : {}) };
    try {
      this.emit('stage', this.stageNow);
    } catch (err) {
      // An observer's bug must not break the round whose transition it heard.
      this.log.error("a 'stage' listener threw", { err: err instanceof Error ? err.message : String(err) });
    }
  }

  /**
   * The anomaly detector's state from storage: the isolation forest's history, and the last completed round's
   * global step (cosineToPrevious) as the difference of its checkpoint and the one before it, equal to the step
   * up to float32 rounding. Reputation resumes from the store by itself.
   */
  private resumeDefences(state: ResumeState): void {
    const completed = this.records.filter((r) => r.outcome === 'completed').map((r) => r.round);
    const last = completed.at(-1);
    const after = last === undefined ? undefined : this.store.checkpoint(last)?.adapter;
    const before = last === undefined ? undefined : this.store.checkpoint(completed.at(-2) ?? 0)?.adapter;
    const step = after !== undefined && before !== undefined && after.length === before.length ? Float32Array.from(after, (x, i) => x - (before[i] as number)) : undefined;
    this.defences.resume(state.isolationHistory, step);
  }

  /** Continue from storage: the federation's manifest and latest global adapter, and its finished rounds. */
  private restore(state: ResumeState): void {
    if (state.manifest) {
      try {
        this.manifests.accept(state.manifest.manifest);
      } catch (err) {
        const digest = state.manifest.digest.slice(0, 16);
        throw new FedwardenError('BAD_CONFIG', `the data dir's federation uses adapter manifest ${digest}…, which model.manifestSha256 refuses`, { cause: err });
      }
      this.global = state.manifest.global;
    }
    this.records.push(...(state.records as RoundRecord[]));
    this.nextRound = state.lastFinishedRound + 1;
    this.stageNow = { round: this.nextRound, stage: 'waiting', at: Date.now() };
    this.resumeState = { lastFinishedRound: state.lastFinishedRound, interrupted: state.interrupted };
    if (state.lastFinishedRound > 0 || state.interrupted.length > 0) {
      const again = state.interrupted.length > 0 ? `; round ${state.interrupted.join(', ')} was interrupted and runs again` : '';
      this.log.info(`resuming: rounds 1..${state.lastFinishedRound} of ${this.config.rounds.count} finished${again}`, {
        lastFinishedRound: state.lastFinishedRound,
        checkpointRound: state.checkpointRound,
        interrupted: state.interrupted,
      });
    }
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
    if (this.stopped) throw new FedwardenError('GOING_AWAY', 'coordinator is shutting down');
    checkProtocolVersion(hello.version);
    const id = this.enrolment.authenticate(hello.token);
    if (id === undefined) throw new FedwardenError('AUTH_FAILED', 'unknown enrolment token');
    // Refusals first (another identity key than the registered one, a full coordinator), so that a refused
    // hello neither registers a key, nor fixes the federation's manifest, nor supersedes a connection.
    const fingerprint = this.identities.check(id, hello.identityKey);
    this.server.admit(id, conn);
    const adopted = this.manifests.accept(hello.manifest);
    if (adopted) {
      this.global = initAdapter(adopted.manifest, createRng(deriveSeed(this.config.seed, 0x41444150)));
      this.store.adoptManifest(adopted.manifest, adopted.digest, this.global);
      this.log.info('adapter manifest adopted', { by: id, manifestSha256: adopted.digest, params: manifestSize(adopted.manifest) });
    }
    this.identities.admit(id, hello.identityKey, fingerprint);
    const previous = this.participants.get(id);
    if (previous && previous !== conn) {
      this.participants.delete(id);
      previous.fail(new FedwardenError('SUPERSEDED', 'participant connected again'));
    }
    return id;
  }

  private onReady(conn: ParticipantConnection): void {
    const id = conn.participantId as string;
    if (!conn.ready) return; // closed before the welcome went out
    this.participants.set(id, conn);
    this.finishNotices.joined(id);
    try {
      this.store.participantSeen(id);
    } catch (err) {
      this.log.warn('could not record participant as seen', { participant: id, err: (err as Error).message });
    }
    this.emit('participantJoined', id);
    this.log.info('participant joined', { participant: id, connected: this.participants.size });
    for (const w of [...this.participantWaiters]) w();
    this.runner.collector?.onRejoin(id); // session resume: back into the running round where its stage allows
    if (this.finishedAt !== undefined) void this.sendFinished(conn).catch(() => undefined);
  }

  private sendFinished(conn: ParticipantConnection): Promise<void> {
    const global = this.global ?? new Float32Array(0);
    this.finishNotices.sending(conn);
    return conn.send({ kind: 'finished', round: this.finishedAt ?? 0, global });
  }

  private onMessage(conn: ParticipantConnection, msg: Message, frameBytes: number): void {
    const id = conn.participantId as string;
    switch (msg.kind) {
      case 'update':
        if (this.runner.collector) this.runner.collector.onMessage(id, msg, frameBytes);
        else if (this.config.privacy === 'secagg') throw new FedwardenError('UNEXPECTED_MESSAGE', 'plain update in secure-aggregation mode');
        // Between rounds (or while one aggregates) no round collects: refused, not dropped in silence; the link stays.
        else void conn.send(updateRefused(msg.round, 'no round is collecting updates')).catch(() => undefined);
        return;
      case 'saKeys':
      case 'saEncaps':
      case 'saShares':
      case 'saMasked':
      case 'saSurvivorsSigned':
      case 'saUnmaskReply':
        if (this.runner.collector) this.runner.collector.onMessage(id, msg, frameBytes);
        else this.log.debug('round message outside a round ignored', { participant: id, kind: msg.kind });
        return;
      case 'error':
        this.log.warn('participant reported an error', { participant: id, code: msg.code, message: msg.message });
        return;
      case 'hello':
      case 'welcome':
      case 'roundStart':
      case 'updateAck':
      case 'roundEnd':
      case 'finished':
      case 'saPeerKeys':
      case 'saPeerEncaps':
      case 'saPeerShares':
      case 'saSurvivors':
      case 'saUnmask':
        throw new FedwardenError('UNEXPECTED_MESSAGE', `${msg.kind} is not sent by participants`);
      default: {
        const unreachable: never = msg;
        throw new FedwardenError('UNEXPECTED_MESSAGE', `unknown message ${String(unreachable)}`);
      }
    }
  }

  private onClose(conn: ParticipantConnection, code: number): void {
    const id = conn.participantId as string;
    this.finishNotices.closed(conn, id, code);
    if (this.participants.get(id) !== conn) return; // superseded connection
    this.participants.delete(id);
    this.runner.collector?.onLeave(id);
    this.emit('participantLeft', id);
    this.log.info('participant left', { participant: id, connected: this.participants.size });
  }
}
