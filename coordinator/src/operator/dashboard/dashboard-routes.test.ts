/**
 * The dashboard's HTTP routes on a plain node:http server (no operator token here: that is the operator
 * listener's job): the page and its assets with their security headers, the snapshot, and the event stream.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@fedwarden/shared';
import { DashboardFeed } from './dashboard-feed.ts';
import { DASHBOARD_DEFAULTS, type DashboardSnapshot } from './dashboard-model.ts';
import { DASHBOARD_CSP, dashboardRoutes, type DashboardRoutes } from './dashboard-routes.ts';
import { FakeCoordinator, eventReader, roundRecord } from './test-support.ts';

const quiet = createLogger('silent');
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(options: Parameters<typeof dashboardRoutes>[1] = {}) {
  const source = new FakeCoordinator();
  const feed = new DashboardFeed(source, { statusDelayMs: 0, log: quiet });
  const routes: DashboardRoutes = dashboardRoutes(feed, { log: quiet, ...options });
  const server: Server = createServer((req, res) => {
    if (!routes.page(req, res) && !routes.api(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        routes.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { source, feed, routes, base };
}

describe('dashboard routes', () => {
  it('serves the page, its script and style, and uPlot from the installed package, under a strict CSP', async () => {
    const { base } = await serve();
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    expect(html).toContain('<script defer src="dashboard/app.js"></script>');
    // No inline script or style in the page itself: the CSP would block them.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=/);
    for (const [path, type, marker] of [
      ['/dashboard/app.js', 'text/javascript; charset=utf-8', 'textContent'],
      ['/dashboard/app.css', 'text/css; charset=utf-8', '.panel'],
      ['/dashboard/vendor/uPlot.iife.min.js', 'text/javascript; charset=utf-8', 'uPlot'],
      ['/dashboard/vendor/uPlot.min.css', 'text/css; charset=utf-8', '.uplot'],
      ['/dashboard/icon.svg', 'image/svg+xml', '<svg'],
    ] as const) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe(type);
      expect(await res.text(), path).toContain(marker);
    }
    expect(app()).not.toContain('innerHTML');
    // The page trims its lists to the server model's limits; the two numbers must not drift apart.
    expect(app()).toContain(`const MAX_ROUNDS = ${DASHBOARD_DEFAULTS.maxRounds};`);
    expect(app()).toContain(`const MAX_ALERTS = ${DASHBOARD_DEFAULTS.maxAlerts};`);
    expect(app()).toContain(`const MAX_TRACKED = ${DASHBOARD_DEFAULTS.maxTracked};`);
    expect((await fetch(`${base}/dashboard/nope.js`)).status).toBe(404);
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
  });

  it('answers GET /api/state with the snapshot', async () => {
    const { source, base } = await serve();
    source.records.push(roundRecord(1), roundRecord(2));
    const res = await fetch(`${base}/api/state`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const snap = (await res.json()) as DashboardSnapshot;
    expect(snap.rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(snap.federation.strategy).toBe('fedwarden');
    expect(snap.audit?.seq).toBe(3);
  });

  it('streams a snapshot, then rounds and status as they happen between keep-alive comments, and ends the stream on close()', async () => {
    const { source, base, routes, feed } = await serve({ keepAliveMs: 5 });
    const res = await fetch(`${base}/api/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const next = eventReader(res.body!);
    const first = await next();
    expect(first?.type).toBe('snapshot');
    expect(feed.subscriberCount).toBe(1);
    await new Promise((r) => setTimeout(r, 30)); // a few keep-alive comments, which the reader skips
    source.moveTo(1, 'training', 50_000);
    source.finishRound(roundRecord(1));
    expect(await next()).toMatchObject({ type: 'status', status: { stage: 'training', deadline: 50_000 } });
    expect(await next()).toMatchObject({ type: 'round', round: { round: 1, contributed: 3 } });
    routes.close();
    expect(await next()).toBeUndefined();
    expect(feed.subscriberCount).toBe(0);
  });

  it('refuses streams beyond maxStreams and forgets a stream whose reader went away', async () => {
    const { base, feed } = await serve({ maxStreams: 1 });
    const controller = new AbortController();
    const first = await fetch(`${base}/api/events`, { signal: controller.signal });
    expect(first.status).toBe(200);
    const refused = await fetch(`${base}/api/events`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    controller.abort();
    await until(() => feed.subscriberCount === 0);
    const again = await fetch(`${base}/api/events`);
    expect(again.status).toBe(200);
    await again.body?.cancel();
  });

  it('delivers a snapshot larger than maxBufferedBytes, and the events after it, to a reader that keeps up', async () => {
    const { source, base } = await serve({ maxBufferedBytes: 64 * 1024 });
    // About 1 MB: more than the socket takes at once, so most of it waits in the stream's queue.
    for (let r = 1; r <= 40; r++) source.records.push(roundRecord(r, { reason: `round ${r} `.padEnd(25_000, '.') }));
    const res = await fetch(`${base}/api/events`);
    const next = eventReader(res.body!);
    const first = await next();
    expect(first?.type === 'snapshot' && first.snapshot.rounds.length).toBe(40);
    expect(JSON.stringify(first).length).toBeGreaterThan(1_000_000);
    source.finishRound(roundRecord(41, { reason: 'x'.repeat(100_000) }));
    expect(await next()).toMatchObject({ type: 'round', round: { round: 41 } });
  });

  it('cuts off a reader that stops reading once maxBufferedBytes are queued, and frees its place', async () => {
    const { source, base, feed } = await serve({ maxBufferedBytes: 64 * 1024, maxStreams: 1 });
    const { port } = new URL(base);
    const slow = connect(Number(port), '127.0.0.1');
    const closed = new Promise<void>((resolve) => slow.on('close', () => resolve()));
    slow.write('GET /api/events HTTP/1.1\r\nHost: coordinator\r\n\r\n');
    await until(() => feed.subscriberCount === 1);
    slow.pause(); // and never reads again: the kernel's buffers fill, then the server's queue
    // Each round event ~100 KB; the loopback buffers take a few MB before anything queues in the process.
    for (let r = 1; r <= 1_000 && feed.subscriberCount > 0; r++) {
      source.finishRound(roundRecord(r, { reason: 'y'.repeat(100_000) }));
      if (r % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(feed.subscriberCount).toBe(0);
    // Its place is free at once, and the socket is gone: reading what had reached it ends in close.
    const again = await fetch(`${base}/api/events`);
    expect(again.status).toBe(200);
    await again.body?.cancel();
    slow.resume();
    await closed;
  });

  it('answers 503 when no snapshot can be made', async () => {
    const { source, base } = await serve();
    source.storageClosed = true;
    expect((await fetch(`${base}/api/state`)).status).toBe(503);
  });
});

function app(): string {
  return readFileSync(new URL('../../../static/dashboard/app.js', import.meta.url), 'utf8');
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error('condition not met');
}
