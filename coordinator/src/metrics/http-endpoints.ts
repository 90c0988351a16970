/**
 * The operator endpoints on the coordinator's HTTP port:
 *
 *   GET /healthz   200 {"status":"ok"}: the process answers (liveness)
 *   GET /readyz    200 {"status":"ready"}, or 503 {"status":"not ready","reason":…} (readiness.ts)
 *   GET /metrics   Prometheus text exposition (prom-client's content type)
 *
 * HEAD is answered like GET without a body; other methods get 405. Returns false for any other path so that
 * the caller can route it elsewhere (or 404). Nothing here reveals a secret: metrics carry counts and codes only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@fedwarden/shared';
import type { HttpHandler } from '../net/server.ts';
import type { CoordinatorMetrics } from './coordinator-metrics.ts';
import type { Readiness } from './readiness.ts';

const PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export function operatorEndpoints(metrics: CoordinatorMetrics, ready: () => Readiness, log: Logger): HttpHandler {
  return (req, res) => {
    const path = pathOf(req);
    if (path === undefined || !PATHS.has(path)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return true;
    }
    if (path === '/healthz') {
      json(req, res, 200, { status: 'ok' });
    } else if (path === '/readyz') {
      const r = ready();
      if (r.ready) json(req, res, 200, { status: 'ready' });
      else json(req, res, 503, { status: 'not ready', reason: r.reason });
    } else {
      metrics.scrape().then(
        ({ contentType, body }) => send(req, res, 200, contentType, body),
        (err: unknown) => {
          log.error('metrics scrape failed', { err: err instanceof Error ? err.message : String(err) });
          send(req, res, 500, 'text/plain', 'metrics unavailable\n');
        },
      );
    }
    return true;
  };
}

function pathOf(req: IncomingMessage): string | undefined {
  try {
    return new URL(req.url ?? '/', 'http://coordinator').pathname;
  } catch {
    return undefined;
  }
}

function json(req: IncomingMessage, res: ServerResponse, status: number, body: Record<string, string>): void {
  send(req, res, status, 'application/json', JSON.stringify(body) + '\n');
}

function send(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
