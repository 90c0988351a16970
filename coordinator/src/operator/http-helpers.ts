/**
 * Small helpers for the coordinator's HTTP answers (operator routes, the participants' port): the request's path
 * (origin-form only), and whole responses with a length, no caching and no content sniffing. HEAD gets the
 * headers without the body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The path of an origin-form request target (RFC 9112 §3.2.1: absolute-path [ "?" query ]), without its query
 * and exactly as sent: no percent-decoding and no dot-segment removal, so that a route matches only its own
 * spelling. undefined for anything else: absolute-form (`http://host/path`), asterisk-form (`OPTIONS *`), a path
 * that does not begin with exactly one '/' (`//metrics`, which a URL parser reads as a host), a dot segment,
 * plain or percent-encoded (`/x/%2e%2e/metrics`), or a character a path may not hold. Callers answer 400.
 */
export function requestPath(req: IncomingMessage): string | undefined {
  const target = req.url ?? '';
  const query = target.indexOf('?');
  const path = query < 0 ? target : target.slice(0, query);
  if (!ORIGIN_FORM_PATH.test(path) || path.startsWith('//')) return undefined;
  if (path.split('/').some((segment) => DOT_SEGMENT.test(segment))) return undefined;
  return path;
}

/** RFC 3986 §3.3: '/' then segments of pchar (unreserved, pct-encoded, sub-delims, ':' and '@'). */
const ORIGIN_FORM_PATH = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/** 400 for a request target that is not origin-form (requestPath returned undefined); the connection closes. */
export function refuseBadTarget(req: IncomingMessage, res: ServerResponse): void {
  sendText(req, res, 400, 'text/plain', 'bad request target: origin-form only (a path that starts with one "/")\n', { connection: 'close' });
}

export function sendText(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...headers,
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendText(req, res, status, 'application/json', JSON.stringify(body) + '\n', headers);
}

/** 405 for a method other than GET and HEAD; returns true when it answered. */
export function refuseUnlessGet(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  sendText(req, res, 405, 'text/plain', 'method not allowed\n', { allow: 'GET, HEAD' });
  return true;
}
