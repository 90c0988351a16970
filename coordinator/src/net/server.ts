/**
 * HTTP + WebSocket listener. Owns sockets and their limits (payload size, connection cap, heartbeats);
 * knows nothing about rounds. Frames above maxFrameBytes are closed by ws itself with 1009.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { FedwardenError, closeReason, type Logger } from '@fedwarden/shared';
import type { CoordinatorConfig } from '../config.ts';
import type { CoordinatorIdentity } from '../identity.ts';
import { ParticipantConnection, type ConnectionHooks } from './participant-connection.ts';

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export class CoordinatorServer {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<ParticipantConnection>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: CoordinatorConfig,
    private readonly identity: CoordinatorIdentity,
    private readonly hooks: ConnectionHooks,
    private readonly log: Logger,
    httpHandler: HttpHandler,
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
    });
    this.wss.on('connection', (ws, req) => {
      if (this.connections.size >= config.limits.maxConnections) {
        const err = new FedwardenError('FULL', `at most ${config.limits.maxConnections} connections`);
        ws.close(err.closeCode, closeReason(err));
        return;
      }
      const conn = new ParticipantConnection(
        ws,
        this.identity,
        {
          limits: config.limits,
          handshakeTimeoutMs: config.limits.handshakeTimeoutMs,
          maxBufferedBytes: config.limits.maxBufferedBytes,
          rounds: config.rounds.count,
        },
        this.hooks,
        this.log.child({ remote: req.socket.remoteAddress }),
      );
      this.connections.add(conn);
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
    this.heartbeat = setInterval(() => {
      for (const c of this.connections) c.ping();
    }, this.config.limits.heartbeatIntervalMs);
    this.heartbeat.unref();
    return (this.http.address() as AddressInfo).port;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stop accepting, close every socket with 1001, and wait for the listener to shut. */
  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const c of this.connections) c.close();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }
}
