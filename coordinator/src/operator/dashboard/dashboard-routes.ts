/**
 * The dashboard over HTTP, as two operator routes (operator-server.ts's `(req, res) => boolean`):
 *
 *   page (no data, no secret; may be served without the token so that a browser can open it):
 *     GET /                                  the page (static/dashboard/index.html)
 *     GET /dashboard/app.js, app.css, icon.svg
 *     GET /dashboard/vendor/uPlot.iife.min.js, uPlot.min.css   uPlot, from the installed package (no CDN)
 *   api (behind the operator token):
 *     GET /api/state    the snapshot (dashboard-model.ts), JSON
 *     GET /api/events   server-sent events: a snapshot, then every change, one JSON DashboardEvent per `data:`
 *
 * Every answer carries a Content-Security-Policy that allows scripts, styles and connections to this origin only
 * and no inline script or style, and may not be framed. Limits: maxStreams open event streams (more get 503),
 * maxBufferedBytes queued to one stream (checked before each message, one message always fits an empty queue;
 * a reader that falls that far behind loses its connection and starts over from a snapshot when it reconnects),
 * a comment line every keepAliveMs so that proxies keep idle streams open.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { FedwardenError, createLogger, type Logger } from '@fedwarden/shared';
import { refuseUnlessGet, requestPath, sendJson, sendText } from '../http-helpers.ts';
import type { OperatorRoute } from '../operator-server.ts';
import type { DashboardEvent } from './dashboard-model.ts';
import type { DashboardFeed } from './dashboard-feed.ts';

export const DASHBOARD_ROUTE_DEFAULTS = { maxStreams: 16, maxBufferedBytes: 4 * 1024 * 1024, keepAliveMs: 15_000 } as const;

export interface DashboardRoutesOptions {
  /** Event streams open at once; another gets 503. Default 16. */
  readonly maxStreams?: number;
  /**
   * Bytes queued to one stream: a message that would take it past this while earlier ones still wait closes the
   * stream instead (one message alone always goes out, however large). Default 4 MiB.
   */
  readonly maxBufferedBytes?: number;
  /** Interval of the keep-alive comment on idle streams, ms. Default 15 000. */
  readonly keepAliveMs?: number;
  readonly log?: Logger;
}

export interface DashboardRoutes {
  /** The page and its scripts and styles: nothing in them depends on the federation. */
  readonly page: OperatorRoute;
  /** The snapshot and the event stream: put these behind the operator token. */
  readonly api: OperatorRoute;
  /** End every open event stream and stop following the coordinator (idempotent). */
  close(): void;
}

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

interface Asset {
  readonly contentType: string;
  readonly body: string;
}

/** static/dashboard/ beside src/ (and beside dist/ in the published package): the same path from either. */
const STATIC_DIR = new URL('../../../static/dashboard/', import.meta.url);

function loadAssets(): Map<string, Asset> {
  const read = (path: string | URL, what: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new FedwardenError('UNAVAILABLE', `the dashboard's ${what} is missing: ${String(path)} (reinstall @fedwarden/coordinator)`, { cause: err });
    }
  };
  const own = (name: string, contentType: string): Asset => ({ contentType, body: read(new URL(name, STATIC_DIR), 'page') });
  const require = createRequire(import.meta.url);
  const vendor = (file: string, contentType: string): Asset => {
    let path: string;
    try {
      path = require.resolve(`uplot/dist/${file}`);
    } catch (err) {
      throw new FedwardenError('UNAVAILABLE', `the dashboard's chart library is missing: uplot/dist/${file} (reinstall @fedwarden/coordinator)`, { cause: err });
    }
    return { contentType, body: read(path, 'chart library') };
  };
  const page = own('index.html', 'text/html; charset=utf-8');
  return new Map([
    ['/', page],
    ['/dashboard/app.js', own('app.js', 'text/javascript; charset=utf-8')],
    ['/dashboard/app.css', own('app.css', 'text/css; charset=utf-8')],
    ['/dashboard/icon.svg', own('icon.svg', 'image/svg+xml')],
    ['/dashboard/vendor/uPlot.iife.min.js', vendor('uPlot.iife.min.js', 'text/javascript; charset=utf-8')],
    ['/dashboard/vendor/uPlot.min.css', vendor('uPlot.min.css', 'text/css; charset=utf-8')],
  ]);
}

let cachedAssets: Map<string, Asset> | undefined;

export function dashboardRoutes(feed: DashboardFeed, options: DashboardRoutesOptions = {}): DashboardRoutes {
  const maxStreams = options.maxStreams ?? DASHBOARD_ROUTE_DEFAULTS.maxStreams;
  const maxBufferedBytes = options.maxBufferedBytes ?? DASHBOARD_ROUTE_DEFAULTS.maxBufferedBytes;
  const keepAliveMs = options.keepAliveMs ?? DASHBOARD_ROUTE_DEFAULTS.keepAliveMs;
  const log = options.log ?? createLogger('warn', { component: 'dashboard' });
  // Read once per process: a missing file fails here, when the coordinator is built, not at the first visit.
  const assets = (cachedAssets ??= loadAssets());
  const streams = new Set<() => void>();
  let closed = false;

  const page: OperatorRoute = (req, res) => {
    const path = requestPath(req);
    const asset = path === undefined ? undefined : assets.get(path);
    if (asset === undefined) return false;
    if (!refuseUnlessGet(req, res)) sendText(req, res, 200, asset.contentType, asset.body, SECURITY_HEADERS);
    return true;
  };

  const api: OperatorRoute = (req, res) => {
    const path = requestPath(req);
    if (path !== '/api/state' && path !== '/api/events') return false;
    if (refuseUnlessGet(req, res)) return true;
    if (path === '/api/state') {
      let snapshot;
      try {
        snapshot = feed.snapshot();
      } catch (err) {
        log.warn('dashboard: no snapshot', { err: err instanceof Error ? err.message : String(err) });
        sendJson(req, res, 503, { error: 'state unavailable' }, SECURITY_HEADERS);
        return true;
      }
      sendJson(req, res, 200, snapshot, SECURITY_HEADERS);
      return true;
    }
    if (closed || streams.size >= maxStreams) {
      sendJson(req, res, 503, { error: closed ? 'dashboard closed' : `too many event streams (at most ${maxStreams})` }, { ...SECURITY_HEADERS, 'retry-after': '5' });
      return true;
    }
    openStream(req, res);
    return true;
  };

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // Proxies (nginx) would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    let id = 0;
    let ended = false;
    let unsubscribe = () => {};
    // Only a stream with nothing queued is idle; one still sending needs no comment to stay open.
    const keepAlive = setInterval(() => {
      if (!ended && res.writableLength === 0) res.write(': keep-alive\n\n');
    }, keepAliveMs).unref();
    const stop = () => {
      ended = true;
      unsubscribe();
      clearInterval(keepAlive);
      streams.delete(end);
    };
    const end = () => {
      if (ended) return;
      stop();
      res.end();
    };
    /** A reader too far behind: drop the socket, and with it the queued bytes that end() would keep waiting to send. */
    const cut = (bufferedBytes: number) => {
      if (ended) return;
      log.warn('dashboard: an event stream fell behind and was closed', { bufferedBytes });
      stop();
      res.destroy();
    };
    const send = (event: DashboardEvent) => {
      if (ended) return;
      const message = `id: ${++id}\ndata: ${JSON.stringify(event)}\n\n`;
      // Checked before writing, so that one message larger than the limit (a big snapshot) still goes onto an
      // empty queue, and a reader is cut only while an earlier message is still waiting.
      const queued = res.writableLength;
      if (queued > 0 && queued + Buffer.byteLength(message) > maxBufferedBytes) {
        cut(queued);
        return;
      }
      res.write(message);
    };
    streams.add(end);
    res.on('close', end);
    try {
      send({ type: 'snapshot', snapshot: feed.snapshot() });
    } catch (err) {
      log.warn('dashboard: no snapshot for a new stream', { err: err instanceof Error ? err.message : String(err) });
      end();
      return;
    }
    // Nothing runs between the snapshot and the subscription (both synchronous): no event falls between them.
    unsubscribe = feed.subscribe(send);
  }

  return {
    page,
    api,
    close() {
      if (closed) return;
      closed = true;
      // The last word (the federation finished, or the coordinator stopping) reaches the pages first.
      feed.flush();
      for (const end of [...streams]) end();
      feed.close();
    },
  };
}
