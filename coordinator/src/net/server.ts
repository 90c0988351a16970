/**
 * HTTP + WebSocket listener. Owns sockets and their limits (admission from TCP accept in connection-gate.ts:
 * connection cap, reserved share, per-address quota (by X-Forwarded-For behind a trusted proxy), upgrade timeout; payload size, authenticated participant
 * cap, per-connection message rate, heartbeats (heartbeat.ts: no verdict after this process stalled)); knows nothing about rounds. Frames above
 * maxFrameBytes are closed by ws itself with 1009. Text frames reach ParticipantConnection unvalidated (it
 * refuses every one with UNSUPPORTED), so ws spends nothing checking their UTF-8.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { FedwardenError, type Logger } from '@fedwarden/shared';
import type { CoordinatorConfig } from '../config.ts';
import type { CoordinatorIdentity } from '../identity.ts';
import { ConnectionGate } from './connection-gate.ts';
import { CoordinatorHeartbeat } from './heartbeat.ts';
import { NOOP_NET_OBSERVER, type NetObserver } from './net-observer.ts';
import { ParticipantConnection, type ConnectionHooks } from './participant-connection.ts';

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export class CoordinatorServer {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<ParticipantConnection>();
  /** Admission from TCP accept: connection cap, reserved share, per-address quota, upgrade timeout. */
  private readonly gate: ConnectionGate;
  private heartbeat: CoordinatorHeartbeat | undefined;
  private closing = false;

  constructor(
    private readonly config: CoordinatorConfig,
    private readonly identity: CoordinatorIdentity,
    hooks: ConnectionHooks,
    private readonly log: Logger,
    httpHandler: HttpHandler,
    private readonly observer: NetObserver = NOOP_NET_OBSERVER,
  ) {
    this.http = createServer((req, res) => {
      if (!httpHandler(req, res)) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    });
    this.wss = new WebSocketServer({
      server: this.http,
      maxPayload: config.limits.maxFrameBytes,
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
    this.gate = new ConnectionGate(config.limits, observer);
    this.gate.attach(this.http);
    this.wss.on('connection', (ws, req) => {
      // The socket was admitted at accept (connection-gate.ts); caps and refusals happen there.
      const conn = new ParticipantConnection(
        ws,
        this.identity,
        {
          limits: config.limits,
          handshakeTimeoutMs: config.limits.handshakeTimeoutMs,
          maxBufferedBytes: config.limits.maxBufferedBytes,
          rounds: config.rounds.count,
          messageRatePerSecond: config.limits.messageRatePerSecond,
          messageBurst: config.limits.messageBurst,
        },
        hooks,
        this.log.child({ remote: req.socket.remoteAddress }),
        observer,
      );
      this.connections.add(conn);
      this.gate.upgraded(req.socket, conn, req);
      ws.on('close', () => this.connections.delete(conn));
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.config.port, this.config.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.heartbeat = new CoordinatorHeartbeat(this.config.limits.heartbeatIntervalMs, (judge, stalledMs) => {
      if (!judge) this.log.info('event loop stalled: no heartbeat verdict this interval', { stalledMs: Math.round(stalledMs) });
      for (const c of this.connections) c.ping(judge);
    });
    this.heartbeat.start();
    return (this.http.address() as AddressInfo).port;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Whether the listener is bound and accepting sockets (false before listen and once close begins). */
  get listening(): boolean {
    return this.http.listening && !this.closing;
  }

  /**
   * The participant cap (FULL), checked by the coordinator's authenticate hook once a hello has named its
   * participant, before the hello changes anything (an identity key registered, an older connection superseded):
   * one that is already connected replaces its own connection, so a reconnect is never refused.
   */
  admit(participantId: string, conn: ParticipantConnection): void {
    let others = 0;
    for (const c of this.connections) if (c !== conn && c.ready && c.participantId !== participantId) others++;
    const max = this.config.limits.maxParticipants;
    if (others >= max) throw new FedwardenError('FULL', `at most ${max} participants`);
    this.gate.authenticated(conn);
  }

  /** Stop accepting, close every socket with 1001, and wait for the listener to shut. */
  async close(): Promise<void> {
    this.closing = true;
    this.heartbeat?.stop();
    for (const c of this.connections) c.close();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }
}
