/**
 * The operator listener: an HTTP server of its own, apart from the participants' WebSocket port, by default on
 * loopback. `/healthz` answers anyone (liveness: the process answers), and so do the public routes (files with no
 * data and no secret: the dashboard's page); every other path, known or not, needs `Authorization: Bearer
 * <operator token>` (operator-auth.ts) and otherwise gets 401 with a WWW-Authenticate challenge (RFC 6750 §3), so
 * an unauthenticated client learns nothing of which other routes exist.
 *
 * Authenticated requests go to the routes in order; the first that returns true owns the response (404 if none
 * does). Routes may answer at once or hold the response open (a server-sent-events stream): only receiving the
 * request is time-limited (requestTimeoutMs, headers included), never the response, and close() ends every
 * open response (a route hears it through res 'close').
 *
 * Limits: operator.maxConnections sockets (Node drops the ones beyond it), of which at most
 * operator.maxConnectionsPerAddress from one address (net/address-key.ts: an IPv6 /64 counts as one), so that one
 * client trickling headers cannot take every slot; 16 KiB of headers (431), the request timeout (408), and 5 s for
 * an idle keep-alive socket. A request target that is not origin-form gets 400 (http-helpers.ts requestPath), and
 * Node answers malformed requests with 400 and closes them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { FedwardenError, type Logger } from '@fedwarden/shared';
import { addressKey } from '../net/address-key.ts';
import { refuseBadTarget, refuseUnlessGet, requestPath, sendJson, sendText } from './http-helpers.ts';
import { OperatorAuth, type AuthOutcome } from './operator-auth.ts';

/**
 * One operator route: answers the request and returns true if it is one of its own, else returns false without
 * touching `res`. Runs only for requests that carry the operator token.
 */
export type OperatorRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface OperatorServerOptions {
  readonly host: string;
  /** 0 picks a free port; listen() returns the one bound. */
  readonly port: number;
  /** SHA-256 (hex) of the operator token; undefined: every path but /healthz answers 401. */
  readonly tokenSha256?: string | undefined;
  readonly maxConnections: number;
  /** Sockets open at once from one address (addressKey); more are closed as they connect. */
  readonly maxConnectionsPerAddress: number;
  readonly requestTimeoutMs: number;
}

export interface OperatorServerHooks {
  /** A request refused for a missing or wrong token (metrics). */
  readonly unauthorized?: () => void;
  /**
   * Routes that answer without the token, tried before it is checked: only files that hold no data and no secret
   * (the dashboard's page, scripts and styles), so that a browser can load the page, which then sends the token
   * with each of its own requests. They must not throw.
   */
  readonly publicRoutes?: readonly OperatorRoute[];
}

const MAX_HEADER_BYTES = 16 * 1024;
const KEEP_ALIVE_MS = 5_000;
const REALM = 'fedwarden operator';

export class OperatorServer {
  private readonly http: Server;
  private readonly auth: OperatorAuth;
  /** Open sockets per address key; an address leaves the map with its last socket. */
  private readonly perAddress = new Map<string, number>();
  private boundPort = 0;

  constructor(
    private readonly options: OperatorServerOptions,
    private readonly routes: readonly OperatorRoute[],
    private readonly log: Logger,
    private readonly hooks: OperatorServerHooks = {},
  ) {
    this.auth = new OperatorAuth(options.tokenSha256);
    this.http = createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        requestTimeout: options.requestTimeoutMs,
        headersTimeout: options.requestTimeoutMs,
        // How often Node looks for requests past their timeout; its default (30 s) would let them linger.
        connectionsCheckingInterval: Math.min(1_000, options.requestTimeoutMs),
      },
      (req, res) => this.handle(req, res),
    );
    this.http.keepAliveTimeout = KEEP_ALIVE_MS;
    this.http.maxConnections = options.maxConnections;
    this.http.on('connection', (socket: Socket) => this.admit(socket));
  }

  /** Bind; returns the port. A port in use or an address that cannot be bound is BAD_CONFIG naming operator.host/port. */
  async listen(): Promise<number> {
    const { host, port } = this.options;
    await new Promise<void>((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException) =>
        reject(new FedwardenError('BAD_CONFIG', `the operator listener cannot listen on ${host}:${port} (operator.host, operator.port): ${err.code ?? err.message}`, { cause: err }));
      this.http.once('error', failed);
      this.http.listen(port, host, () => {
        this.http.off('error', failed);
        resolve();
      });
    });
    this.boundPort = (this.http.address() as AddressInfo).port;
    return this.boundPort;
  }

  /** The bound port (0 before listen). */
  get port(): number {
    return this.boundPort;
  }

  /** Stop accepting and end every connection, open responses (event streams) included. */
  async close(): Promise<void> {
    if (!this.http.listening) return;
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  /** Count the socket under its address; close it at once when that address already holds its share. */
  private admit(socket: Socket): void {
    const key = addressKey(socket.remoteAddress);
    const open = this.perAddress.get(key) ?? 0;
    if (open >= this.options.maxConnectionsPerAddress) {
      this.log.debug('operator connection refused: too many from one address', { remote: key, open });
      socket.destroy();
      return;
    }
    this.perAddress.set(key, open + 1);
    socket.once('close', () => {
      const left = (this.perAddress.get(key) ?? 1) - 1;
      if (left > 0) this.perAddress.set(key, left);
      else this.perAddress.delete(key);
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = requestPath(req);
    // Before the token: a target the routes would read differently from a proxy in front (`//metrics`) is no route's.
    if (path === undefined) {
      refuseBadTarget(req, res);
      return;
    }
    if (path === '/healthz') {
      if (!refuseUnlessGet(req, res)) sendJson(req, res, 200, { status: 'ok' });
      return;
    }
    if (this.hooks.publicRoutes?.some((route) => route(req, res))) return;
    const outcome = this.auth.check(req);
    if (outcome !== 'ok') {
      this.refuse(req, res, outcome, path);
      return;
    }
    try {
      for (const route of this.routes) if (route(req, res)) return;
      sendText(req, res, 404, 'text/plain', 'not found\n');
    } catch (err) {
      this.log.error('operator route failed', { path, err: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) sendText(req, res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    }
  }

  private refuse(req: IncomingMessage, res: ServerResponse, outcome: Exclude<AuthOutcome, 'ok'>, path: string): void {
    this.hooks.unauthorized?.();
    // Never the header itself: it may hold a token meant for somewhere else.
    this.log.debug('operator request refused', { path, reason: outcome, remote: req.socket.remoteAddress });
    const challenge = outcome === 'missing' ? `Bearer realm="${REALM}"` : `Bearer realm="${REALM}", error="invalid_token"`;
    // A request body is never read here: close the connection rather than drain it.
    const headers: Record<string, string> = { 'www-authenticate': challenge };
    if (req.method !== 'GET' && req.method !== 'HEAD') headers.connection = 'close';
    sendText(req, res, 401, 'text/plain', 'operator token required (Authorization: Bearer …)\n', headers);
  }
}
