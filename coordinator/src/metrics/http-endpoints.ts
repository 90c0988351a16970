/**
 * Health, readiness and metrics over HTTP, on two listeners.
 *
 * The operator listener (operator/operator-server.ts), behind the operator token, adds to its own open /healthz:
 *
 *   GET /readyz    200 {"status":"ready"}, or 503 {"status":"not ready","reason":…} (readiness.ts)
 *   GET /metrics   Prometheus text exposition (prom-client's content type)
 *
 * The participants' port, which anyone can reach, answers only what a load balancer in front of it needs:
 *
 *   GET /healthz   200 {"status":"ok"}
 *   GET /readyz    200 {"status":"ready"} or 503 {"status":"not ready"}, without the reason (it names capacities)
 *
 * and 404 for everything else, /metrics included. HEAD is answered like GET without a body; other methods get 405.
 */
import type { Logger } from '@fedwarden/shared';
import type { HttpHandler } from '../net/server.ts';
import { refuseUnlessGet, requestPath, sendJson, sendText } from '../operator/http-helpers.ts';
import type { OperatorRoute } from '../operator/operator-server.ts';
import type { CoordinatorMetrics } from './coordinator-metrics.ts';
import type { Readiness } from './readiness.ts';

/** /readyz (with its reason) and /metrics, for the operator listener. */
export function operatorEndpoints(metrics: CoordinatorMetrics, ready: () => Readiness, log: Logger): OperatorRoute {
  return (req, res) => {
    const path = requestPath(req);
    if (path !== '/readyz' && path !== '/metrics') return false;
    if (refuseUnlessGet(req, res)) return true;
    if (path === '/readyz') {
      const r = ready();
      if (r.ready) sendJson(req, res, 200, { status: 'ready' });
      else sendJson(req, res, 503, { status: 'not ready', reason: r.reason });
      return true;
    }
    metrics.scrape().then(
      ({ contentType, body }) => sendText(req, res, 200, contentType, body),
      (err: unknown) => {
        log.error('metrics scrape failed', { err: err instanceof Error ? err.message : String(err) });
        sendText(req, res, 500, 'text/plain', 'metrics unavailable\n');
      },
    );
    return true;
  };
}

/** /healthz and a reason-less /readyz for the participants' port. */
export function participantEndpoints(ready: () => Readiness): HttpHandler {
  return (req, res) => {
    const path = requestPath(req);
    if (path !== '/healthz' && path !== '/readyz') return false;
    if (refuseUnlessGet(req, res)) return true;
    if (path === '/healthz') sendJson(req, res, 200, { status: 'ok' });
    else if (ready().ready) sendJson(req, res, 200, { status: 'ready' });
    else sendJson(req, res, 503, { status: 'not ready' });
    return true;
  };
}
