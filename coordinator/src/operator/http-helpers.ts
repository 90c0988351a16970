/**
 * Small helpers for the coordinator's HTTP answers (operator routes, the participants' port): the request's path,
 * and whole responses with a length, no caching and no content sniffing. HEAD gets the headers without the body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The path of the request's URL without its query; undefined for a URL that does not parse. */
export function requestPath(req: IncomingMessage): string | undefined {
  try {
    return new URL(req.url ?? '/', 'http://coordinator').pathname;
  } catch {
    return undefined;
  }
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
