/**
 * One participant's WebSocket, from TCP accept to close: ML-KEM handshake (long-term and per-connection keys),
 * encrypted hello and enrolment, then decoded messages handed to the coordinator. Socket callbacks never throw: every failure closes the
 * socket with the error's close code and a "CODE: reason" text. Every frame, from the first, takes a token from
 * the connection's rate limiter (RATE_LIMITED when it is empty) — pings and pongs too — and the NetObserver
 * hears of every data frame, refusal and close.
 *
 *   handshake ──clientKex──▶ hello ──hello(token, manifest)──▶ ready ──▶ closed
 */
import type { WebSocket } from 'ws';
import {
  ERROR_CODES,
  type ErrorCode,
  FedwardenError,
  ServerHandshake,
  closeReason,
  decodeMessage,
  encodeMessage,
  toFedwardenError,
  type Logger,
  type Message,
  type MessageOf,
  type ProtocolLimits,
  type SecureSession,
} from '@fedwarden/shared';
import type { CoordinatorIdentity } from '../identity.ts';
import { NOOP_NET_OBSERVER, type NetObserver } from './net-observer.ts';
import { TokenBucket, type Clock } from './token-bucket.ts';

type ConnectionPhase = 'handshake' | 'hello' | 'ready' | 'closed';

export interface ConnectionHooks {
  /** Authenticate a hello; return the participant id or throw a FedwardenError (AUTH_FAILED, MANIFEST_MISMATCH…). */
  authenticate(hello: MessageOf<'hello'>, conn: ParticipantConnection): string;
  onReady(conn: ParticipantConnection): void;
  /** A decoded message from an authenticated participant; `frameBytes` is its size on the wire. */
  onMessage(conn: ParticipantConnection, msg: Message, frameBytes: number): void;
  onClose(conn: ParticipantConnection, code: number, reason: string): void;
}

export interface ConnectionOptions {
  readonly limits: ProtocolLimits;
  readonly handshakeTimeoutMs: number;
  readonly maxBufferedBytes: number;
  readonly rounds: number;
  /** Token bucket for data frames: sustained frames per second and back-to-back burst. */
  readonly messageRatePerSecond: number;
  readonly messageBurst: number;
  /** Monotonic milliseconds for the rate limiter; tests inject one. */
  readonly clock?: Clock;
}

/** A protocol violation ws caught below us (it has already sent its own close frame): its status code as ours. */
function wsErrorCode(err: Error): ErrorCode | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('WS_ERR_')) return undefined; // a socket error, not a refusal
  return code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH' ? 'TOO_BIG' : 'BAD_FRAME';
}

export class ParticipantConnection {
  private phase: ConnectionPhase = 'handshake';
  private session: SecureSession | undefined;
  /** Until the key exchange: dropped once accepted, so a connection holds no handshake state after it. */
  private handshake: ServerHandshake | undefined;
  private readonly handshakeTimer: NodeJS.Timeout;
  private readonly rate: TokenBucket;
  /** Cuts off a peer that never completes the closing handshake; cleared once the socket is gone. */
  private closeTimer: NodeJS.Timeout | undefined;
  private id: string | undefined;
  /** Set by the heartbeat: false after a ping, true again on pong. */
  alive = true;

  constructor(
    private readonly ws: WebSocket,
    identity: CoordinatorIdentity,
    private readonly options: ConnectionOptions,
    private readonly hooks: ConnectionHooks,
    private readonly log: Logger,
    private readonly observer: NetObserver = NOOP_NET_OBSERVER,
  ) {
    const handshake = new ServerHandshake(identity.keyPair);
    this.handshake = handshake;
    this.rate = new TokenBucket({ ratePerSecond: options.messageRatePerSecond, burst: options.messageBurst }, options.clock);
    this.handshakeTimer = setTimeout(
      () => this.fail(new FedwardenError('TIMEOUT', `no authenticated hello within ${options.handshakeTimeoutMs} ms`)),
      options.handshakeTimeoutMs,
    );
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('pong', () => {
      this.alive = true;
      this.controlFrame();
    });
    // ws answers pings itself; a ping flood still costs a pong each, so it takes tokens like data frames do.
    ws.on('ping', () => this.controlFrame());
    ws.on('error', (err) => this.socketError(err));
    ws.on('close', (code, reason) => this.closed(code, reason.toString('utf8')));
    ws.send(handshake.helloFrame);
    observer.frameSent(handshake.helloFrame.length);
  }

  get participantId(): string | undefined {
    return this.id;
  }

  get ready(): boolean {
    return this.phase === 'ready';
  }

  /** Seal and send; resolves once the frame is handed to the OS, rejects if the socket is gone. */
  send(msg: Message): Promise<void> {
    if (this.phase === 'closed' || !this.session) return Promise.reject(new FedwardenError('GOING_AWAY', 'connection closed'));
    if (this.ws.bufferedAmount > this.options.maxBufferedBytes) {
      const err = new FedwardenError('TOO_BIG', `peer is not reading: ${this.ws.bufferedAmount} bytes queued`);
      this.fail(err);
      return Promise.reject(err);
    }
    const frame = this.session.seal(encodeMessage(msg));
    this.observer.frameSent(frame.length, msg, this.id);
    return new Promise((resolve, reject) => {
      this.ws.send(frame, (err) => (err ? reject(toFedwardenError(err)) : resolve()));
    });
  }

  /** Close with the error's code and reason (idempotent). */
  fail(err: FedwardenError): void {
    if (this.phase === 'closed') return;
    this.log.info('closing connection', { participant: this.id, code: err.code, reason: err.message });
    this.observer.rejected(err.code);
    this.close(err.closeCode, closeReason(err));
  }

  close(code: number = ERROR_CODES.GOING_AWAY.close, reason = 'GOING_AWAY: coordinator closing'): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.handshake?.dispose();
    clearTimeout(this.handshakeTimer);
    this.ws.close(code, reason);
    this.terminateLater();
  }

  /**
   * Heartbeat tick: terminate a peer that did not answer the previous ping, when `judge` (false after this process
   * stalled and could not have read the pong: heartbeat.ts); ping again either way.
   */
  ping(judge = true): void {
    if (!this.alive && judge) {
      this.log.info('heartbeat missed; terminating', { participant: this.id });
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  private receive(data: unknown, isBinary: boolean): void {
    if (this.phase === 'closed') return;
    try {
      this.observer.frameReceived(data instanceof Buffer ? data.byteLength : 0);
      if (!this.rate.take()) {
        throw new FedwardenError('RATE_LIMITED', `more than ${this.options.messageRatePerSecond} frames/s (burst ${this.options.messageBurst})`);
      }
      if (!isBinary || !(data instanceof Buffer)) throw new FedwardenError('UNSUPPORTED', 'binary frames only');
      const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      this.handleFrame(frame);
    } catch (err) {
      this.fail(toFedwardenError(err));
    }
  }

  private handleFrame(frame: Uint8Array): void {
    if (this.phase === 'handshake') {
      const handshake = this.handshake as ServerHandshake;
      this.handshake = undefined;
      this.session = handshake.accept(frame);
      this.phase = 'hello';
      return;
    }
    const session = this.session as SecureSession;
    const msg = decodeMessage(session.open(frame), this.options.limits);
    if (this.phase === 'hello') {
      if (msg.kind !== 'hello') throw new FedwardenError('UNEXPECTED_MESSAGE', `expected hello, got ${msg.kind}`);
      this.id = this.hooks.authenticate(msg, this);
      this.phase = 'ready';
      clearTimeout(this.handshakeTimer);
      this.send({ kind: 'welcome', participantId: this.id, rounds: this.options.rounds }).then(
        () => this.hooks.onReady(this),
        () => undefined, // closed meanwhile: onClose reports it
      );
      return;
    }
    if (msg.kind === 'hello') throw new FedwardenError('UNEXPECTED_MESSAGE', 'hello sent twice');
    this.hooks.onMessage(this, msg, frame.byteLength);
  }

  private controlFrame(): void {
    if (this.phase !== 'closed' && !this.rate.take()) {
      this.fail(new FedwardenError('RATE_LIMITED', `more than ${this.options.messageRatePerSecond} frames/s (burst ${this.options.messageBurst})`));
    }
  }

  private socketError(err: Error): void {
    const code = wsErrorCode(err);
    this.log.debug('socket error', { err: err.message, participant: this.id, code });
    if (code === undefined || this.phase === 'closed') return;
    // ws has closed the socket itself with the matching status (1009 too big, 1002 protocol error).
    this.log.info('closing connection', { participant: this.id, code, reason: err.message });
    this.observer.rejected(code);
    this.phase = 'closed';
    clearTimeout(this.handshakeTimer);
    this.terminateLater();
  }

  /** A peer that never completes the closing handshake is cut off. */
  private terminateLater(): void {
    this.closeTimer ??= setTimeout(() => this.ws.terminate(), 5_000).unref();
  }

  private closed(code: number, reason: string): void {
    this.observer.closed(code);
    const wasAuthenticated = this.id !== undefined;
    this.phase = 'closed';
    // A peer gone before its key exchange: its ephemeral key is wiped now, not whenever GC runs.
    this.handshake?.dispose();
    clearTimeout(this.handshakeTimer);
    // Without this, the timer would hold the closed connection (socket, session, buffers) for 5 s more.
    clearTimeout(this.closeTimer);
    this.log.debug('connection closed', { participant: this.id, code, reason });
    if (wasAuthenticated) this.hooks.onClose(this, code, reason);
  }
}
