/**
 * FederatedClient: the public SDK entry point a participant node embeds. Give it the coordinator's URL and
 * pinned key fingerprint, an enrolment token, a TrainableModel and local data; run() takes part in rounds
 * until the coordinator says the federation is finished. Progress is observable as events.
 *
 * run() survives a flaky network on its own: a lost link, a coordinator restart (close 1001), a timeout or a
 * dead link found by the heartbeat lead to a reconnect after an exponential, fully jittered backoff, through a
 * circuit breaker that stops hammering a coordinator that keeps failing (resilience/reconnect-policy.ts).
 * After a reconnect the participant rejoins its round where the stage allows (a trusted-mode upload lost with
 * the link is sent again without retraining, see kept-update.ts) and otherwise the next round. Terminal errors
 * (bad token, pinned key mismatch, manifest mismatch, an identity key other than the one the coordinator
 * registered for this participant, superseded, bad config, a coordinator breaking the protocol) and close() end
 * run() at once.
 *
 * Identity: the participant signs its secure-aggregation messages with an ML-DSA-65 key pair derived from the
 * `identity` seed (keep it with loadIdentityFile), or drawn fresh once per FederatedClient (kept across its
 * reconnects). The coordinator registers the key at the participant's first hello and refuses another one later
 * (IDENTITY_MISMATCH), so a participant that restarts with a new FederatedClient must pass the same seed.
 * Neighbours' keys are pinned on first sight (peer-pins.ts) and checked by the optional `trustPeer`.
 */
import { EventEmitter } from 'node:events';
import {
  FedwardenError,
  LOG_LEVELS,
  PROTOCOL_VERSION,
  createLogger,
  identityFingerprint,
  roundMs,
  silentLogger,
  toFedwardenError,
  type IdentityKeyPair,
  type LogLevel,
  type Logger,
  type ProtocolLimits,
} from '@fedwarden/shared';
import type { ClientSummary, FederatedClientEvents } from './client-events.ts';
import { SecureConnection } from './connection.ts';
import { explainIdentityMismatch, identityFromOption, peerTrust, type TrustPeer } from './identity-options.ts';
import { PeerPins } from './peer-pins.ts';
import { DEFAULT_HEARTBEAT_TIMEOUT_MS } from './resilience/heartbeat.ts';
import { ReconnectPolicy, type ReconnectDecision, type ReconnectOptions } from './resilience/reconnect-policy.ts';
import { RoundRunner } from './round-runner.ts';
import type { LabeledData, TrainableModel } from './trainable-model.ts';

export type { ClientSummary, FederatedClientEvents, RoundStage } from './client-events.ts';

export interface FederatedClientOptions {
  readonly url: string;
  readonly fingerprint: string;
  readonly token: string;
  readonly model: TrainableModel;
  readonly data: LabeledData;
  /** Seed for local batch order; rounds derive their own from it. */
  readonly seed?: number;
  /**
   * The participant's identity: the 32-byte ML-DSA-65 seed its key pair derives from (loadIdentityFile keeps one
   * in a 0600 file). The coordinator registers the public key at the first hello and refuses another key for
   * this participant afterwards (IDENTITY_MISMATCH), so keep the seed across restarts. Default: a fresh identity
   * for this FederatedClient instance (kept across its reconnects, lost with it).
   */
  readonly identity?: Uint8Array;
  /**
   * The application's own check of the neighbours a secure-aggregation round names (participant id and the
   * SHA-256 fingerprint of the identity key the coordinator relays), e.g. against its directory of enrolled
   * keys; must return a boolean synchronously. Besides it, each id's key is pinned on first sight and another
   * key for it refused. A neighbour not trusted makes this participant refuse the round (UNTRUSTED_PEER, the
   * 'refused' event) before it sends anything. Default: the pins alone.
   */
  readonly trustPeer?: TrustPeer;
  /** Secure aggregation's rounding randomness, for simulations that must replay exactly (RoundRunnerOptions). */
  readonly roundingRandom?: (n: number) => Uint8Array;
  readonly limits?: ProtocolLimits;
  readonly handshakeTimeoutMs?: number;
  /**
   * Drop a link over which nothing (no frame, no ping) arrived for this long, ms; 0 disables. Must exceed the
   * coordinator's `limits.heartbeatIntervalMs` (15 s by default) with room to spare. Default 45,000.
   */
  readonly heartbeatTimeoutMs?: number;
  /** Reconnect policy (backoff, attempts, circuit breaker, injectable sleep/clock/random); false: never reconnect. */
  readonly reconnect?: ReconnectOptions | false;
  /**
   * Receives the client's log lines (joining, lost links, reconnect decisions, the circuit breaker, missed
   * heartbeats): your own implementation of the Logger interface (`msg`, `fields`), e.g. an adapter over your
   * application's logger, filtering levels itself. Fields carry ids, codes and figures, never the token. Give
   * either `logger` or `logLevel`; neither: the client logs nothing.
   */
  readonly logger?: Logger;
  /**
   * Without a `logger`: write JSON lines on stderr at this level and above ('debug' | 'info' | 'warn' | 'error'
   * | 'silent'), through createLogger from @fedwarden/shared, each with `component: "client"`.
   */
  readonly logLevel?: LogLevel;
}

function clientLogger(options: FederatedClientOptions): Logger {
  const { logger, logLevel } = options;
  if (logLevel === undefined) return logger ?? silentLogger;
  if (logger !== undefined) throw new FedwardenError('BAD_CONFIG', 'FederatedClient: give logger or logLevel, not both (your logger filters its own levels)');
  if (!LOG_LEVELS.includes(logLevel)) throw new FedwardenError('BAD_CONFIG', `FederatedClient: logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  return createLogger(logLevel, { component: 'client' });
}

function timerSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class FederatedClient extends EventEmitter<FederatedClientEvents> {
  private connection: SecureConnection | undefined;
  private readonly runner: RoundRunner;
  /** Undefined when reconnecting is off. Lives as long as the client, so a later run() sees the breaker's state. */
  private readonly policy: ReconnectPolicy | undefined;
  private closedByUser = false;
  private wake: (() => void) | undefined;
  private running = false;
  private readonly log: Logger;
  /** This participant's identity key pair, for the life of this client (hello, secure-aggregation signatures). */
  private readonly identity: IdentityKeyPair;
  /** Neighbours' identity keys as first seen, for the life of this client. */
  private readonly pins = new PeerPins();

  constructor(private readonly options: FederatedClientOptions) {
    super();
    if (options.data.count < 1) throw new FedwardenError('BAD_CONFIG', 'FederatedClient: no local data');
    this.log = clientLogger(options);
    const heartbeat = options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
    if (!(heartbeat >= 0 && Number.isFinite(heartbeat))) {
      throw new FedwardenError('BAD_CONFIG', 'FederatedClient: heartbeatTimeoutMs must be a non-negative number of ms');
    }
    this.identity = identityFromOption(options.identity);
    const { model, data, seed, roundingRandom } = options;
    this.runner = new RoundRunner(
      { model, data, seed, roundingRandom, identity: this.identity, trustPeer: peerTrust(this.pins, options.trustPeer, this.log) },
      this,
    );
    this.policy =
      options.reconnect === false
        ? undefined
        : new ReconnectPolicy(options.reconnect, (state, retryInMs) => {
            this.log.info('circuit breaker', { state, retryInMs: roundMs(retryInMs) });
            if (state === 'open') this.emit('circuitOpen', retryInMs);
            else if (state === 'half-open') this.emit('circuitHalfOpen');
            else this.emit('circuitClosed');
          });
  }

  /** Connect, take part in rounds (reconnecting as needed), and resolve when the coordinator finishes the federation. */
  async run(): Promise<ClientSummary> {
    if (this.running) throw new FedwardenError('BAD_CONFIG', 'FederatedClient: run() is already running');
    this.running = true;
    try {
      return await this.loop();
    } finally {
      this.running = false;
    }
  }

  /** Close the connection and stop reconnecting; a pending run() rejects with GOING_AWAY. */
  close(): void {
    this.closedByUser = true;
    this.connection?.close();
    this.wake?.();
  }

  /** SHA-256 fingerprint (hex) of this participant's identity public key: what the coordinator registers and logs. */
  get identityFingerprint(): string {
    return identityFingerprint(this.identity.publicKey);
  }

  /** Time spent in the secure-aggregation protocol so far, ms. */
  get secaggMilliseconds(): number {
    return this.runner.secaggMs;
  }

  private async loop(): Promise<ClientSummary> {
    const { log } = this;
    const { policy } = this;
    const reconnect = this.options.reconnect;
    const sleep = reconnect ? (reconnect.sleep ?? timerSleep) : timerSleep;
    let sessions = 0;
    for (;;) {
      if (policy) {
        for (let wait = policy.beforeAttempt(); wait > 0; wait = policy.beforeAttempt()) await this.pause(sleep, wait);
      }
      this.throwIfClosed();
      let conn: SecureConnection;
      let participantId: string;
      try {
        ({ conn, participantId } = await this.join());
      } catch (err) {
        const error = toFedwardenError(err);
        if (this.closedByUser || !policy) throw err;
        log.warn('cannot join the federation', { code: error.code, message: error.message });
        await this.retryOrThrow(policy.attemptFailed(error), err, sleep);
        continue;
      }
      policy?.connected();
      sessions++;
      log.info(sessions === 1 ? 'joined federation' : 'rejoined federation', { participant: participantId });
      this.emit(sessions === 1 ? 'connected' : 'reconnected', participantId);
      try {
        return await this.runner.serve(conn, participantId);
      } catch (err) {
        const error = toFedwardenError(err);
        // Tell the coordinator why, when the link is still up (a protocol violation, a local failure).
        if (conn.isOpen) conn.close(error);
        if (this.closedByUser) throw err;
        log.warn('connection lost', { code: error.code, message: error.message });
        this.emit('disconnected', error);
        if (!policy) throw err;
        await this.retryOrThrow(policy.sessionLost(error), err, sleep);
      }
    }
  }

  /** Open the secure channel and enrol; resolves after the coordinator's welcome. */
  private async join(): Promise<{ conn: SecureConnection; participantId: string }> {
    const { url, fingerprint, token, model, limits, handshakeTimeoutMs } = this.options;
    const heartbeatTimeoutMs = this.options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
    const conn = await SecureConnection.open({
      url,
      fingerprint,
      limits,
      handshakeTimeoutMs,
      heartbeatTimeoutMs,
      onHeartbeatMissed: (silentMs) => {
        this.log.warn('heartbeat missed: link presumed dead', { silentMs: roundMs(silentMs) });
        this.emit('heartbeatMissed', silentMs);
      },
    });
    this.connection = conn;
    if (this.closedByUser) conn.close();
    try {
      await conn.send({ kind: 'hello', version: PROTOCOL_VERSION, token, manifest: model.manifest, identityKey: this.identity.publicKey });
      const welcome = await conn.next();
      if (welcome.kind !== 'welcome') {
        throw new FedwardenError('UNEXPECTED_MESSAGE', `expected welcome, got ${welcome.kind}`);
      }
      return { conn, participantId: welcome.participantId };
    } catch (err) {
      const error = toFedwardenError(err);
      if (conn.isOpen) conn.close(error);
      if (error.code === 'IDENTITY_MISMATCH') throw explainIdentityMismatch(error, this.identity);
      throw err;
    }
  }

  private async retryOrThrow(decision: ReconnectDecision, err: unknown, sleep: (ms: number) => Promise<void>): Promise<void> {
    if (!decision.retry) {
      this.log.warn('not reconnecting', { why: decision.why });
      throw err;
    }
    this.log.info('reconnecting', { attempt: decision.attempt, delayMs: roundMs(decision.delayMs) });
    this.emit('reconnecting', decision.attempt, decision.delayMs);
    await this.pause(sleep, decision.delayMs);
  }

  /** Sleep, cut short by close(). */
  private async pause(sleep: (ms: number) => Promise<void>, ms: number): Promise<void> {
    this.throwIfClosed();
    await Promise.race([sleep(ms), new Promise<void>((resolve) => (this.wake = resolve))]);
    this.wake = undefined;
    this.throwIfClosed();
  }

  private throwIfClosed(): void {
    if (this.closedByUser) throw new FedwardenError('GOING_AWAY', 'closed by participant');
  }
}
