/**
 * The participant's end of the post-quantum channel over one WebSocket: receive the coordinator's hello,
 * check its long-term key against the pinned fingerprint, encapsulate to it and to the hello's ephemeral key
 * (forward secrecy, shared/src/crypto/channel.ts), then exchange sealed messages. A coordinator speaking another
 * channel version is refused with UNSUPPORTED. Incoming messages
 * queue up until the caller asks for them with next(); a close (ours or theirs) rejects the waiting call with
 * a FedwardenError carrying the stable code from the close reason.
 *
 * With `heartbeatTimeoutMs`, a link over which nothing (no frame, no ping) arrives for that long is taken as
 * dead: the socket is terminated and the waiting call rejects with TIMEOUT (see resilience/heartbeat.ts).
 */
import WebSocket from 'ws';
import {
  DEFAULT_LIMITS,
  ERROR_CODES,
  FedwardenError,
  REFUSAL_HEADER,
  closeReason,
  codeFromCloseReason,
  clientHandshake,
  decodeMessage,
  encodeMessage,
  isRefusalCode,
  normalizeFingerprint,
  toFedwardenError,
  type Message,
  type ProtocolLimits,
  type SecureSession,
} from '@fedwarden/shared';
import { HeartbeatWatchdog } from './resilience/heartbeat.ts';

export interface ConnectOptions {
  /** ws:// or wss:// URL of the coordinator. */
  readonly url: string;
  /** SHA-256 fingerprint of the coordinator's ML-KEM public key (hex, colons allowed). */
  readonly fingerprint: string;
  readonly limits?: ProtocolLimits;
  /** Time allowed for TCP + WebSocket + key exchange, ms. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
  /** Terminate the link when nothing (no frame, no ping) arrived for this long, ms; 0 (default) disables. */
  readonly heartbeatTimeoutMs?: number;
  /** Told when the heartbeat finds the link dead, just before the socket is terminated. */
  readonly onHeartbeatMissed?: (silentMs: number) => void;
}

/** Map a close code + "CODE: text" reason from the peer to an error. */
export function errorFromClose(code: number, reason: string): FedwardenError {
  const known = codeFromCloseReason(reason);
  if (known) return new FedwardenError(known, `coordinator closed the connection (${code}): ${reason}`);
  if (code === ERROR_CODES.TOO_BIG.close) return new FedwardenError('TOO_BIG', `closed with ${code}: ${reason || 'frame too big'}`);
  return new FedwardenError('GOING_AWAY', `connection closed (${code})${reason ? `: ${reason}` : ''}`);
}

/** A plain HTTP answer to the upgrade request, as an error with the code the coordinator gave (retriable ones only). */
export function refusalError(url: string, status: number | undefined, header: string | string[] | undefined): FedwardenError {
  const code = isRefusalCode(header) ? header : 'GOING_AWAY';
  return new FedwardenError(code, `${url} refused the connection (HTTP ${status ?? '?'})`);
}

export class SecureConnection {
  private readonly queue: Message[] = [];
  private waiter: { resolve: (m: Message) => void; reject: (e: FedwardenError) => void } | undefined;
  private closedWith: FedwardenError | undefined;
  private readonly watchdog: HeartbeatWatchdog | undefined;

  private constructor(
    private readonly ws: WebSocket,
    private readonly session: SecureSession,
    private readonly limits: ProtocolLimits,
    heartbeatTimeoutMs: number,
    onHeartbeatMissed: (silentMs: number) => void,
  ) {
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('close', (code, reason) => this.onClosed(errorFromClose(code, reason.toString('utf8'))));
    // A socket error (reset, bad frame) is always followed by 'close', which reports it; never let it throw.
    ws.on('error', () => undefined);
    if (heartbeatTimeoutMs > 0) {
      const watchdog = new HeartbeatWatchdog(heartbeatTimeoutMs, (silentMs) => {
        onHeartbeatMissed(silentMs);
        this.onClosed(new FedwardenError('TIMEOUT', `nothing from the coordinator for ${silentMs} ms: link presumed dead`));
        ws.terminate();
      });
      ws.on('ping', () => watchdog.touch());
      this.watchdog = watchdog;
    }
  }

  static open(options: ConnectOptions): Promise<SecureConnection> {
    const pin = normalizeFingerprint(options.fingerprint);
    const limits = options.limits ?? DEFAULT_LIMITS;
    const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 0;
    if (!(heartbeatTimeoutMs >= 0 && Number.isFinite(heartbeatTimeoutMs))) {
      return Promise.reject(new FedwardenError('BAD_CONFIG', `heartbeatTimeoutMs must be a non-negative number of ms`));
    }
    const ws = new WebSocket(options.url, { maxPayload: limits.maxFrameBytes, perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: FedwardenError | undefined, conn?: SecureConnection) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.off('message', onHello);
        if (err) {
          if (ws.readyState === WebSocket.OPEN) ws.close(err.closeCode, closeReason(err));
          else ws.terminate();
          reject(err);
        } else resolve(conn as SecureConnection);
      };
      const timer = setTimeout(
        () => finish(new FedwardenError('TIMEOUT', `no handshake within ${options.handshakeTimeoutMs ?? 10_000} ms`)),
        options.handshakeTimeoutMs ?? 10_000,
      );
      const onHello = (data: WebSocket.RawData, isBinary: boolean) => {
        try {
          if (!isBinary || !(data instanceof Buffer)) throw new FedwardenError('UNSUPPORTED', 'binary frames only');
          const { kexFrame, session } = clientHandshake(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pin);
          ws.send(kexFrame);
          finish(undefined, new SecureConnection(ws, session, limits, heartbeatTimeoutMs, options.onHeartbeatMissed ?? (() => undefined)));
        } catch (err) {
          finish(toFedwardenError(err));
        }
      };
      ws.on('message', onHello);
      // A coordinator that refuses the socket before the upgrade answers in plain HTTP, with its code in a header.
      // finish() terminates the socket, which aborts the request.
      ws.once('unexpected-response', (_req, res) => finish(refusalError(options.url, res.statusCode, res.headers[REFUSAL_HEADER])));
      ws.once('error', (err) => finish(new FedwardenError('GOING_AWAY', `cannot connect to ${options.url}: ${err.message}`, { cause: err })));
      ws.once('close', (code, reason) => finish(errorFromClose(code, reason.toString('utf8'))));
    });
  }

  send(msg: Message): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const frame = this.session.seal(encodeMessage(msg));
    return new Promise((resolve, reject) =>
      this.ws.send(frame, (err) => {
        if (!err) return resolve();
        // A send fails because the link went away: report it as such (retriable), not as an internal error.
        reject(this.closedWith ?? new FedwardenError('GOING_AWAY', `send failed: ${err.message}`, { cause: err }));
      }),
    );
  }

  /** The next message from the coordinator; rejects once the connection is closed. */
  next(): Promise<Message> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  get isOpen(): boolean {
    return this.closedWith === undefined;
  }

  close(err?: FedwardenError): void {
    if (this.closedWith) return;
    if (err) this.ws.close(err.closeCode, closeReason(err));
    else this.ws.close(1000, 'done');
    this.onClosed(err ?? new FedwardenError('GOING_AWAY', 'closed by participant'));
  }

  private receive(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.closedWith) return;
    this.watchdog?.touch();
    try {
      if (!isBinary || !(data instanceof Buffer)) throw new FedwardenError('UNSUPPORTED', 'binary frames only');
      const msg = decodeMessage(this.session.open(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)), this.limits);
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve(msg);
      } else this.queue.push(msg);
    } catch (err) {
      this.close(toFedwardenError(err));
    }
  }

  private onClosed(err: FedwardenError): void {
    if (this.closedWith) return;
    this.closedWith = err;
    this.watchdog?.stop();
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }
}
