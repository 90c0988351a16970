import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@fedwarden/shared';
import { parseConfig } from '../config.ts';
import { notificationOf, type AlertNotification } from './notification.ts';
import { lineSink, refusedPort, startReceiver, type TestReceiver } from './test-support.ts';
import type { TrackedAlert } from './tracked-alert.ts';
import { WebhookChannel, retryDelay, signBody, type DeliveryOutcome, type WebhookOptions } from './webhook-channel.ts';

const receivers: TestReceiver[] = [];
const channels: WebhookChannel[] = [];
afterEach(async () => {
  await Promise.all(channels.splice(0).map((c) => c.close()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<TestReceiver> {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

const ALERT: TrackedAlert = {
  id: 'isolation-forest/participant/p7@4',
  key: 'isolation-forest/participant/p7',
  detector: 'isolation-forest',
  status: 'firing',
  severity: 'warning',
  unit: 'p7',
  participants: ['p7'],
  feature: 'cosineToAggregate',
  score: 0.71,
  message: 'unit p7: isolation score 0.710',
  firstRound: 4,
  lastRound: 4,
  occurrences: 1,
  repeatsAtSeverity: 0,
  cleanRounds: 0,
  openedAt: Date.UTC(2025, 0, 2, 3, 4, 5),
  updatedAt: Date.UTC(2025, 0, 2, 3, 4, 5),
};

function notification(round = 4): AlertNotification {
  return notificationOf({ event: 'opened', alert: { ...ALERT, id: `${ALERT.key}@${round}`, firstRound: round, lastRound: round }, round }, 'ab'.repeat(32)) as AlertNotification;
}

/** A notification of alert `name` (opened at round 1): opened, or resolved at `round`. */
function about(name: string, event: 'opened' | 'resolved', round = 1): AlertNotification {
  const key = `isolation-forest/participant/${name}`;
  const alert = { ...ALERT, id: `${key}@1`, key, unit: name, participants: [name], firstRound: 1, lastRound: 1 };
  const t = event === 'opened' ? { event, alert, round: 1 } : { event, alert: { ...alert, status: 'resolved' as const, resolution: 'clean-rounds' as const, resolvedAt: ALERT.openedAt }, round };
  return notificationOf(t, 'ab'.repeat(32)) as AlertNotification;
}

/** The webhook signature computed here, apart from the code under test. */
const hmacHex = (secret: string, message: string) => createHmac('sha256', secret).update(message).digest('hex');

/** The channel's clock in these tests: 2025-01-02T03:04:05Z. */
const NOW = Date.UTC(2025, 0, 2, 3, 4, 5);

/** Options that keep the tests fast; timeouts stay generous so that a loaded machine does not fail them. */
const FAST: Omit<WebhookOptions, 'url'> = {
  minSeverity: 'warning',
  timeoutMs: 10_000,
  maxAttempts: 50,
  backoffBaseMs: 10,
  backoffMaxMs: 50,
  queueSize: 100,
  drainMs: 10_000,
};

function channel(url: string, options: Partial<WebhookOptions> = {}, fetcher?: typeof fetch) {
  const log = lineSink();
  const events: Array<{ outcome: DeliveryOutcome; id: string; reason?: string }> = [];
  const c = new WebhookChannel(
    { ...FAST, url, ...options },
    {
      log: createLogger('debug', {}, log.sink),
      observe: (outcome, n, reason) => events.push({ outcome, id: n.notificationId, ...(reason !== undefined ? { reason } : {}) }),
      now: () => NOW,
      ...(fetcher ? { fetch: fetcher } : {}),
    },
  );
  channels.push(c);
  return { c, log, events };
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('WebhookChannel', () => {
  it('POSTs the documented JSON payload, signed with HMAC-SHA256, and never logs the secret or the URL path', async () => {
    const r = await receiver();
    const secret = 's3cret-for-hmac';
    const { c, log, events } = channel(r.url, { secret });
    const n = notification();
    expect(c.notify(n)).toBeUndefined(); // queued, not awaited
    const [got] = await r.waitFor(1);
    expect(got?.headers['content-type']).toBe('application/json');
    // t=<unix seconds of the channel's clock>,v1=<HMAC-SHA256 of "t.body">, over the bytes received.
    expect(got?.headers['x-fedwarden-signature']).toBe(`t=1735787045,v1=${hmacHex(secret, `1735787045.${got?.body ?? ''}`)}`);
    expect(got?.headers['x-fedwarden-notification']).toBe('isolation-forest/participant/p7@4:opened:4');
    expect(got?.json).toEqual({
      schema: 'fedwarden.alert.v1',
      notificationId: 'isolation-forest/participant/p7@4:opened:4',
      event: 'opened',
      status: 'firing',
      id: 'isolation-forest/participant/p7@4',
      key: 'isolation-forest/participant/p7',
      severity: 'warning',
      previousSeverity: null,
      escalation: null,
      detector: 'isolation-forest',
      feature: 'cosineToAggregate',
      unit: 'p7',
      participants: ['p7'],
      score: 0.71,
      message: 'unit p7: isolation score 0.710',
      round: 4,
      firstRound: 4,
      lastRound: 4,
      occurrences: 1,
      resolution: null,
      startsAt: '2025-01-02T03:04:05.000Z',
      updatedAt: '2025-01-02T03:04:05.000Z',
      endsAt: null,
      undelivered: [],
      coordinator: { fingerprint: 'ab'.repeat(32) },
    });
    await until(() => events.length === 1, 'the delivery outcome');
    expect(events).toEqual([{ outcome: 'delivered', id: n.notificationId }]);
    await c.close();
    const text = log.lines.join('\n');
    expect(text).not.toContain(secret);
    expect(text).not.toContain('not-for-logs');
    expect(text).toContain(`http://127.0.0.1:${r.port}`);
  });

  it('delivers to a receiver that was down (connection refused) once it comes up, after retries', async () => {
    const port = await refusedPort();
    const { c, events } = channel(`http://127.0.0.1:${port}/hook`);
    c.notify(notification());
    await until(() => events.filter((e) => e.outcome === 'retried').length >= 2, 'two refused attempts');
    expect(events.every((e) => e.outcome === 'retried' && e.reason === 'ECONNREFUSED')).toBe(true);
    const r = await receiver(undefined, port);
    const [got] = await r.waitFor(1);
    expect(got?.json['notificationId']).toBe('isolation-forest/participant/p7@4:opened:4');
    await until(() => c.counts.delivered === 1, 'the delivery');
    expect(c.counts.retried).toBeGreaterThanOrEqual(2);
    expect(c.counts.failed + c.counts.dropped).toBe(0);
  });

  it('times out a receiver that hangs, and retries the same body', async () => {
    // The first request is never answered; later ones are.
    const r = await receiver((res, index) => {
      if (index > 0) res.writeHead(200).end('ok');
    });
    const { c, events } = channel(r.url, { timeoutMs: 300 });
    c.notify(notification());
    await until(() => c.counts.delivered === 1, 'the delivery');
    expect(events[0]).toMatchObject({ outcome: 'retried', reason: 'no response within 300 ms' });
    expect(r.received.length).toBeGreaterThanOrEqual(2);
    expect(new Set(r.received.map((x) => x.body)).size).toBe(1);
  });

  it('retries 5xx and 429 but gives up at once on other 4xx', async () => {
    const statuses = [503, 429, 204, 400];
    const r = await receiver((res, index) => res.writeHead(statuses[index] ?? 500, index === 1 ? { 'retry-after': '0' } : {}).end());
    const { c, events } = channel(r.url);
    c.notify(notification(4));
    c.notify(notification(5));
    await until(() => c.counts.delivered + c.counts.failed === 2, 'both outcomes');
    expect(events.map((e) => [e.outcome, e.id.endsWith(':4') ? 4 : 5, e.reason ?? null])).toEqual([
      ['retried', 4, 'HTTP 503'],
      ['retried', 4, 'HTTP 429'],
      ['delivered', 4, null],
      ['failed', 5, 'HTTP 400'],
    ]);
    expect(r.received).toHaveLength(4);
  });

  it('gives up after maxAttempts, and logs it', async () => {
    const port = await refusedPort();
    const { c, log } = channel(`http://127.0.0.1:${port}/`, { maxAttempts: 3 });
    c.notify(notification());
    await until(() => c.counts.failed === 1, 'the failure');
    expect(c.counts).toEqual({ delivered: 0, retried: 2, failed: 1, dropped: 0 });
    expect(log.parsed().find((l) => l['msg'] === 'alert notification failed')).toMatchObject({ attempts: 3, reason: 'ECONNREFUSED', level: 'warn' });
  });

  it('keeps a bounded queue while the receiver is down: the oldest waiting are dropped, counted and logged', async () => {
    const port = await refusedPort();
    // A long backoff keeps the first notification in flight; queueSize 2 holds two more.
    const { c, log, events } = channel(`http://127.0.0.1:${port}/`, { queueSize: 2, backoffBaseMs: 60_000, backoffMaxMs: 60_000, drainMs: 0 });
    for (let round = 1; round <= 5; round++) c.notify(notification(round));
    expect(c.queued).toBeLessThanOrEqual(2);
    expect(events.filter((e) => e.outcome === 'dropped').map((e) => e.id.split(':').at(-1))).toEqual(['2', '3']);
    expect(c.counts.dropped).toBe(2);
    expect(log.parsed().filter((l) => l['msg'] === 'alert notification dropped').map((l) => l['reason'])).toEqual(['queue full (2 waiting)', 'queue full (2 waiting)']);
    // Stopping with nothing delivered: the one in flight and the two waiting are dropped too, and the channel refuses more.
    await c.close();
    expect(c.counts.dropped).toBe(5);
    c.notify(notification(6));
    expect(c.counts.dropped).toBe(6);
  });

  it('when the queue is full, replaces a waiting notification of the same alert, and tells the receiver what it missed', async () => {
    const bodies: Array<Record<string, unknown>> = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The receiver holds the first request until released: the rest wait in the queue.
    const fetcher = (async (_url: unknown, init?: RequestInit) => {
      bodies.push(JSON.parse(String(init?.body)) as Record<string, unknown>);
      if (bodies.length === 1) await held;
      return new Response(null, { status: 204 });
    }) as typeof fetch;
    const { c, log, events } = channel('http://127.0.0.1:9/hook', { queueSize: 3 }, fetcher);
    c.notify(about('a', 'opened')); // in flight
    c.notify(about('b', 'opened'));
    c.notify(about('c', 'opened'));
    c.notify(about('e', 'opened'));
    c.notify(about('b', 'resolved', 5)); // full: replaces b's firing (latest state wins)
    c.notify(about('d', 'opened')); // full, nothing else of d waiting: c's firing, the oldest, goes
    c.notify(about('c', 'resolved', 6)); // full: e's firing, now the oldest, goes
    expect(events.filter((e) => e.outcome === 'dropped').map((e) => e.id)).toEqual([
      'isolation-forest/participant/b@1:opened:1',
      'isolation-forest/participant/c@1:opened:1',
      'isolation-forest/participant/e@1:opened:1',
    ]);
    expect(log.parsed().filter((l) => l['msg'] === 'alert notification dropped').map((l) => l['reason'])).toEqual([
      'queue full (3 waiting): replaced by isolation-forest/participant/b@1:resolved:5',
      'queue full (3 waiting)',
      'queue full (3 waiting)',
    ]);
    release();
    await c.close();
    // Each resolution whose firing never arrived says so; e's firing will be named by e's next notification.
    expect(bodies.map((b) => [b['notificationId'], b['undelivered']])).toEqual([
      ['isolation-forest/participant/a@1:opened:1', []],
      ['isolation-forest/participant/b@1:resolved:5', ['isolation-forest/participant/b@1:opened:1']],
      ['isolation-forest/participant/d@1:opened:1', []],
      ['isolation-forest/participant/c@1:resolved:6', ['isolation-forest/participant/c@1:opened:1']],
    ]);
    const warned = log.parsed().filter((l) => l['msg'] === 'alert notification sent after earlier ones of its alert were dropped');
    expect(warned.map((l) => [l['level'], l['notificationId'], l['undelivered']])).toEqual([
      ['warn', 'isolation-forest/participant/b@1:resolved:5', ['isolation-forest/participant/b@1:opened:1']],
      ['warn', 'isolation-forest/participant/c@1:resolved:6', ['isolation-forest/participant/c@1:opened:1']],
    ]);
  });

  it('at close, delivers what is queued before returning', async () => {
    const r = await receiver();
    const { c } = channel(r.url);
    for (let round = 1; round <= 3; round++) c.notify(notification(round));
    await c.close();
    expect(r.received.map((x) => x.json['round'])).toEqual([1, 2, 3]);
    expect(c.counts.delivered).toBe(3);
  });

  it('never logs nor reports the path or query of its URL, even in an error that quotes it', async () => {
    const url = 'http://127.0.0.1:9/hooks/fedwarden?token=not-for-logs';
    let calls = 0;
    // Errors as fetch (undici) makes them: the URL in the message, or in the cause's.
    const fetcher = (async () => {
      calls++;
      if (calls === 1) throw new TypeError(`Failed to parse URL from ${url}`);
      throw new TypeError('fetch failed', { cause: new Error(`connect to ${url} (https://user:pw@other.example/x?k=v) failed`) });
    }) as typeof fetch;
    const { c, log, events } = channel(url, { maxAttempts: 2 }, fetcher);
    c.notify(notification());
    await until(() => c.counts.failed === 1, 'the failure');
    expect(events.map((e) => [e.outcome, e.reason])).toEqual([
      ['retried', 'Failed to parse URL from http://127.0.0.1:9'],
      ['failed', 'connect to http://127.0.0.1:9 (https://other.example) failed'],
    ]);
    const text = log.lines.join('\n');
    for (const leak of ['not-for-logs', '/hooks', 'user:pw', '?k=v']) expect(text).not.toContain(leak);
    expect(text).toContain('http://127.0.0.1:9');
  });

  it('refuses a URL with credentials, in its options and in the config, without echoing it', () => {
    const url = 'https://alice:hunter2-pw@alerts.example.org/hook';
    const codeAndMessage = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return { code: (err as { code?: string }).code, message: (err as Error).message };
      }
      return undefined;
    };
    const fromOptions = codeAndMessage(() => new WebhookChannel({ ...FAST, url }, { log: createLogger('silent') }));
    expect(fromOptions).toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/must not carry credentials/) });
    const fromConfig = codeAndMessage(() => parseConfig({ alerting: { webhook: { url } } }));
    expect(fromConfig).toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/alerting\.webhook\.url: url: must not carry credentials/) });
    for (const m of [fromOptions?.message, fromConfig?.message]) {
      expect(m).not.toContain('hunter2');
      expect(m).not.toContain('alice');
    }
    expect(() => new WebhookChannel({ ...FAST, url: 'https://alice@alerts.example.org/' }, { log: createLogger('silent') })).toThrow(/credentials/);
  });

  it('validates its options', () => {
    const log = createLogger('silent');
    expect(() => new WebhookChannel({ ...FAST, url: 'ftp://example.org/' }, { log })).toThrow(/http or https/);
    expect(() => new WebhookChannel({ ...FAST, url: 'not a url' }, { log })).toThrow(/not a URL/);
    expect(() => new WebhookChannel({ ...FAST, url: 'http://127.0.0.1/', queueSize: 0 }, { log })).toThrow(/queueSize/);
    expect(() => new WebhookChannel({ ...FAST, url: 'http://127.0.0.1/', secret: '' }, { log })).toThrow(/secret is empty/);
  });
});

describe('signBody', () => {
  it('signs "<t>.<body>" with HMAC-SHA256: a known answer', () => {
    // printf '%s' '1735787045.{"schema":"fedwarden.alert.v1"}' | openssl dgst -sha256 -hmac 'kat-secret-0123456789'
    expect(signBody('kat-secret-0123456789', '{"schema":"fedwarden.alert.v1"}', 1735787045)).toBe(
      't=1735787045,v1=2e8b15dee85ff24a4501f3ef5c4d5d2d0325faeb2e1870f171b786300c851365',
    );
    expect(() => signBody('k', '{}', 1.5)).toThrow(/unix seconds/);
  });
});

describe('retryDelay', () => {
  it('draws from [0, min(max, base · 2^retry)): full jitter under an exponential ceiling', () => {
    expect(retryDelay(0, 0, 500, 60_000)).toBe(0);
    expect(retryDelay(0, 0.999, 500, 60_000)).toBe(499);
    expect(retryDelay(3, 0.5, 500, 60_000)).toBe(2000);
    expect(retryDelay(20, 0.5, 500, 60_000)).toBe(30_000);
    expect(retryDelay(2000, 0.999, 500, 60_000)).toBe(59_940);
  });
});
