/**
 * One participant's WebSocket, from TCP accept to close: ML-KEM handshake, encrypted hello and enrolment,
 * then decoded messages handed to the coordinator. Socket callbacks never throw: every failure closes the
 * socket with the error's close code and a "CODE: reason" text.
 *
 *   handshake ──clientKex──▶ hello ──hello(token, manifest)──▶ ready ──▶ closed
 */
import type { WebSocket } from 'ws';
import {
  ERROR_CODES,
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
}

export class ParticipantConnection {
  private phase: ConnectionPhase = 'handshake';
  private session: SecureSession | undefined;
  private readonly handshake: ServerHandshake;
  private readonly handshakeTimer: NodeJS.Timeout;
  private id: string | undefined;
  /** Set by the heartbeat: false after a ping, true again on pong. */
  alive = true;

  constructor(
    private readonly ws: WebSocket,
    identity: CoordinatorIdentity,
    private readonly options: ConnectionOptions,
    private readonly hooks: ConnectionHooks,
    private readonly log: Logger,
  ) {
    this.handshake = new ServerHandshake(identity.keyPair);
    this.handshakeTimer = setTimeout(
      () => this.fail(new FedwardenError('TIMEOUT', `no authenticated hello within ${options.handshakeTimeoutMs} ms`)),
      options.handshakeTimeoutMs,
    );
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('error', (err) => this.log.debug('socket error', { err: err.message, participant: this.id }));
    ws.on('close', (code, reason) => this.closed(code, reason.toString('utf8')));
    ws.send(this.handshake.helloFrame);
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
    return new Promise((resolve, reject) => {
      this.ws.send(frame, (err) => (err ? reject(toFedwardenError(err)) : resolve()));
    });
  }

  /** Close with the error's code and reason (idempotent). */
  fail(err: FedwardenError): void {
    if (this.phase === 'closed') return;
    this.log.info('closing connection', { participant: this.id, code: err.code, reason: err.message });
    this.close(err.closeCode, closeReason(err));
  }

  close(code: number = ERROR_CODES.GOING_AWAY.close, reason = 'GOING_AWAY: coordinator closing'): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearTimeout(this.handshakeTimer);
    this.ws.close(code, reason);
    // A peer that never completes the closing handshake is cut off.
    setTimeout(() => this.ws.terminate(), 5_000).unref();
  }

  /** Heartbeat tick: terminate a peer that did not answer the previous ping. */
  ping(): void {
    if (!this.alive) {
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
      if (!isBinary || !(data instanceof Buffer)) throw new FedwardenError('UNSUPPORTED', 'binary frames only');
      const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      this.handleFrame(frame);
    } catch (err) {
      this.fail(toFedwardenError(err));
    }
  }

  private handleFrame(frame: Uint8Array): void {
    if (this.phase === 'handshake') {
      this.session = this.handshake.accept(frame);
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

  private closed(code: number, reason: string): void {
    const wasAuthenticated = this.id !== undefined;
    this.phase = 'closed';
    clearTimeout(this.handshakeTimer);
    this.log.debug('connection closed', { participant: this.id, code, reason });
    if (wasAuthenticated) this.hooks.onClose(this, code, reason);
  }
}
