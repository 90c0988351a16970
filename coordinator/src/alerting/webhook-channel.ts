/**
 * The webhook channel: each notification is POSTed as JSON (notification.ts) to the operator's URL, in order,
 * one at a time, from a bounded queue, so that a receiver that is down or slow never blocks a round nor grows
 * memory without bound.
 *
 * - Timeout: each request (connect, headers) is aborted after timeoutMs; the response body is not read.
 * - Retry: network errors, timeouts, 408, 425, 429 and 5xx are retried up to maxAttempts in all, after
 *   exponential backoff with full jitter (Brooker, "Exponential Backoff and Jitter", AWS Architecture Blog,
 *   2015): random(0, min(backoffMaxMs, backoffBaseMs · 2^retry)), and at least a Retry-After the receiver sent
 *   (capped at backoffMaxMs). Other statuses (3xx, 4xx) are the receiver refusing: not retried.
 * - Queue: at most queueSize notifications wait behind the one in flight; when full, a waiting notification of
 *   the same alert is replaced (its latest state wins), else the oldest waiting one is dropped; either is counted
 *   and logged. A later notification of an alert says which of its earlier ones were dropped (`undelivered`), so
 *   a receiver is never sent a resolution as if its firing had arrived.
 * - close(): waits up to drainMs for the queue to empty, then aborts; what is left is dropped, counted, logged.
 * - Signature: with a secret, X-Fedwarden-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>
 *   over the exact bytes sent, made afresh for each attempt; the timestamp lets a receiver refuse replays
 *   (the scheme of Stripe's webhook signatures). The secret is never logged, nor is the URL's path or query
 *   (webhook URLs often embed a token); a URL with credentials (user:password@) is refused.
 *
 * Delivery is at least once: a receiver that took a request but answered too late gets it again; it
 * de-duplicates on notificationId.
 */
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { FedwardenError, type Logger } from '@fedwarden/shared';
import type { AlertSeverity } from '../anomaly/alert.ts';
import type { AlertNotification, NotificationChannel } from './notification.ts';

export interface WebhookOptions {
  readonly url: string;
  readonly minSeverity: AlertSeverity;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly queueSize: number;
  readonly drainMs: number;
  /** HMAC key; the caller reads it from a file or the environment (webhook-secret.ts). */
  readonly secret?: string;
}

export const SIGNATURE_HEADER = 'x-fedwarden-signature';

export type DeliveryOutcome = 'delivered' | 'retried' | 'failed' | 'dropped';

export interface WebhookDeps {
  readonly log: Logger;
  /** Uniform in [0, 1) for the jitter. Default Math.random. */
  readonly random?: () => number;
  /** Told of each delivery outcome (metrics, tests). `reason` for all but delivered. */
  readonly observe?: (outcome: DeliveryOutcome, notification: AlertNotification, reason?: string) => void;
  /** ms since the epoch, for the signature's timestamp. Default Date.now. */
  readonly now?: () => number;
  /** Default the global fetch (tests inject failures). */
  readonly fetch?: typeof fetch;
}

/** The delay before retry `retry` (0-based): full jitter over an exponential ceiling. */
export function retryDelay(retry: number, u: number, baseMs: number, maxMs: number): number {
  return Math.floor(u * Math.min(maxMs, baseMs * 2 ** retry));
}

/** The signature header's value for `body` sent at `timestamp` (unix seconds): t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">. */
export function signBody(secret: string, body: string, timestamp: number): string {
  if (!(Number.isSafeInteger(timestamp) && timestamp >= 0)) throw new RangeError(`signBody: timestamp must be whole unix seconds, got ${timestamp}`);
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

type Attempt = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly retryable: boolean; readonly reason: string; readonly retryAfterMs?: number };

interface Pending {
  readonly notification: AlertNotification;
  readonly body: string;
}

const badConfig = (message: string) => new FedwardenError('BAD_CONFIG', `alerting.webhook: ${message}`);

export class WebhookChannel implements NotificationChannel {
  readonly name = 'webhook';
  readonly minSeverity: AlertSeverity;
  /** Delivery counts since this channel was made. */
  readonly counts: Record<DeliveryOutcome, number> = { delivered: 0, retried: 0, failed: 0, dropped: 0 };
  /** Waiting notifications; the body is made when one goes in flight, so that it names what was dropped before it. */
  private readonly queue: AlertNotification[] = [];
  /** By alert id: notificationIds dropped undelivered, not yet named by a later notification of that alert. */
  private readonly undelivered = new Map<string, string[]>();
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly origin: string;
  private readonly url: URL;
  private readonly now: () => number;
  private readonly fetch: typeof fetch;
  private running = false;
  private closing = false;
  private readonly shutdown = new AbortController();
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly options: WebhookOptions,
    private readonly deps: WebhookDeps,
  ) {
    // Errors never echo the URL: it may hold a token.
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw badConfig('url is not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badConfig(`url must be http or https, got ${url.protocol}`);
    // fetch refuses such a URL with an error that quotes it whole, password included.
    if (url.username !== '' || url.password !== '') throw badConfig('url must not carry credentials (user:password@); put a token in its path or query, or sign with secretFile');
    for (const k of ['timeoutMs', 'maxAttempts', 'backoffBaseMs', 'queueSize'] as const) {
      if (!(Number.isSafeInteger(options[k]) && options[k] >= 1)) throw new RangeError(`webhook: ${k} must be an integer ≥ 1, got ${options[k]}`);
    }
    if (!(options.backoffMaxMs >= options.backoffBaseMs)) throw new RangeError('webhook: backoffMaxMs must be at least backoffBaseMs');
    if (!(options.drainMs >= 0)) throw new RangeError(`webhook: drainMs must be ≥ 0, got ${options.drainMs}`);
    if (options.secret !== undefined && options.secret.length === 0) throw new RangeError('webhook: the secret is empty');
    this.minSeverity = options.minSeverity;
    this.url = url;
    this.origin = url.origin;
    this.now = deps.now ?? Date.now;
    this.fetch = deps.fetch ?? fetch;
    this.log = deps.log.child({ channel: 'webhook', receiver: this.origin });
    this.random = deps.random ?? Math.random;
  }

  /** Notifications waiting, the one in flight not included. */
  get queued(): number {
    return this.queue.length;
  }

  notify(notification: AlertNotification): void {
    if (this.closing) {
      this.dropped(notification, 'the coordinator is stopping');
      return;
    }
    if (this.queue.length >= this.options.queueSize) {
      const same = this.queue.findIndex((n) => n.id === notification.id);
      if (same >= 0) {
        const [older] = this.queue.splice(same, 1) as [AlertNotification];
        this.dropped(older, `queue full (${this.options.queueSize} waiting): replaced by ${notification.notificationId}`);
      } else {
        this.dropped(this.queue.shift() as AlertNotification, `queue full (${this.options.queueSize} waiting)`);
      }
    }
    this.queue.push(notification);
    this.kick();
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closing) return this.idle();
    this.closing = true;
    const drained = this.idle();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), this.options.drainMs)));
    const outcome = await Promise.race([drained, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.shutdown.abort();
      for (const n of this.queue.splice(0)) this.dropped(n, 'undelivered at shutdown');
      await drained;
    }
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.pump().finally(() => {
      this.running = false;
      if (this.queue.length > 0 && !this.shutdown.signal.aborted) this.kick();
      else for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  private async pump(): Promise<void> {
    while (!this.shutdown.signal.aborted) {
      const next = this.queue.shift();
      if (next === undefined) return;
      await this.deliver(this.pending(next));
    }
  }

  /** The notification as sent: with the ids of its alert's notifications dropped before it. */
  private pending(notification: AlertNotification): Pending {
    const undelivered = this.undelivered.get(notification.id);
    if (undelivered === undefined) return { notification, body: JSON.stringify(notification) };
    this.undelivered.delete(notification.id);
    const sent: AlertNotification = { ...notification, undelivered: [...notification.undelivered, ...undelivered] };
    this.log.warn('alert notification sent after earlier ones of its alert were dropped', { notificationId: notification.notificationId, undelivered });
    return { notification: sent, body: JSON.stringify(sent) };
  }

  private async deliver({ notification, body }: Pending): Promise<void> {
    const { maxAttempts, backoffBaseMs, backoffMaxMs } = this.options;
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(notification, body);
      if (this.shutdown.signal.aborted && !result.ok) {
        this.dropped(notification, 'undelivered at shutdown');
        return;
      }
      if (result.ok) {
        this.counts.delivered++;
        this.deps.observe?.('delivered', notification);
        this.log.debug('alert notification delivered', { notificationId: notification.notificationId, status: result.status, attempts: attempt });
        return;
      }
      if (!result.retryable || attempt >= maxAttempts) {
        this.counts.failed++;
        this.deps.observe?.('failed', notification, result.reason);
        this.log.warn('alert notification failed', {
          notificationId: notification.notificationId,
          attempts: attempt,
          reason: result.reason,
          ...(result.retryable ? {} : { retryable: false }),
        });
        return;
      }
      const delayMs = Math.max(retryDelay(attempt - 1, this.random(), backoffBaseMs, backoffMaxMs), Math.min(result.retryAfterMs ?? 0, backoffMaxMs));
      this.counts.retried++;
      this.deps.observe?.('retried', notification, result.reason);
      this.log.debug('alert notification will be retried', { notificationId: notification.notificationId, attempt, reason: result.reason, delayMs });
      try {
        await sleep(delayMs, undefined, { signal: this.shutdown.signal });
      } catch {
        this.dropped(notification, 'undelivered at shutdown');
        return;
      }
    }
  }

  private async attempt(notification: AlertNotification, body: string): Promise<Attempt> {
    const { timeoutMs, secret } = this.options;
    const request = new AbortController();
    const stop = () => request.abort();
    this.shutdown.signal.addEventListener('abort', stop);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      request.abort();
    }, timeoutMs);
    try {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'fedwarden-coordinator',
        'x-fedwarden-notification': notification.notificationId,
      };
      if (secret !== undefined) headers[SIGNATURE_HEADER] = signBody(secret, body, Math.floor(this.now() / 1000));
      const res = await this.fetch(this.url, { method: 'POST', headers, body, signal: request.signal, redirect: 'manual' });
      // The body is not needed; cancelling it frees the connection without waiting for a slow receiver.
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
      const retryable = res.status === 408 || res.status === 425 || res.status === 429 || res.status >= 500;
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      return { ok: false, retryable, reason: `HTTP ${res.status}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    } catch (err) {
      if (timedOut) return { ok: false, retryable: true, reason: `no response within ${timeoutMs} ms` };
      return { ok: false, retryable: true, reason: this.redact(networkReason(err)) };
    } finally {
      clearTimeout(timer);
      this.shutdown.signal.removeEventListener('abort', stop);
    }
  }

  /** `text` with every URL in it cut to its origin, and this receiver's path and query removed (they may hold a token). */
  private redact(text: string): string {
    let out = text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>()]+/gi, (u) => (URL.canParse(u) ? new URL(u).origin : '<url>'));
    for (const secretish of [this.url.pathname + this.url.search, this.url.search]) {
      if (secretish.length > 1) out = out.split(secretish).join('');
    }
    return out;
  }

  private dropped(notification: AlertNotification, reason: string): void {
    // A later notification of the alert will say this one never arrived; a resolution ends the alert's notifications.
    if (notification.status === 'resolved') this.undelivered.delete(notification.id);
    else this.undelivered.set(notification.id, [...(this.undelivered.get(notification.id) ?? []), ...notification.undelivered, notification.notificationId]);
    this.counts.dropped++;
    this.deps.observe?.('dropped', notification, reason);
    this.log.warn('alert notification dropped', { notificationId: notification.notificationId, reason, dropped: this.counts.dropped });
  }
}

/** Retry-After in seconds or as an HTTP date, in ms from now; undefined if absent or unreadable. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** fetch's TypeError hides the cause (ECONNREFUSED, ENOTFOUND…) one level down. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}
