/**
 * When, and how soon, a participant reconnects to its coordinator. Pure decisions over an injected clock and
 * random source; the caller does the waiting (with its own, injectable, sleep).
 *
 * - Which failures are worth retrying: a lost link, a coordinator going away (1001, e.g. a restart), a
 *   timeout (handshake, dead-link heartbeat), a full coordinator, or one that found this participant too
 *   chatty (RATE_LIMITED: the backoff is what it asks for) are transient. Everything else is terminal:
 *   a wrong token, a pinned key that does not match, a different adapter manifest, an identity key other than
 *   the one the coordinator registered for this participant (IDENTITY_MISMATCH: the operator must reset it), a
 *   newer connection of the same participant, bad local configuration, a coordinator that breaks the protocol, or a local failure
 *   (INTERNAL, e.g. a model that throws). Retrying those would fail the same way forever.
 * - How long to wait: exponential backoff with full jitter, capped at `maxDelayMs` and at `outageFraction` of
 *   the outage so far (backoff.ts). After an outage of T a participant's next attempt comes within
 *   outageFraction · T of the coordinator's return (T/2 by default; at most maxDelayMs), and participants cut off
 *   together come back spread over that window rather than in one wave.
 * - When to stop hammering: a circuit breaker (circuit-breaker.ts) that opens once attempts have kept failing
 *   for `openAfterMs` (2 minutes by default), then allows one probe per random period of openMs/2 to openMs.
 *   Per participant, with the defaults and a coordinator that refuses at once: about 14 attempts in the first
 *   10 s, about 27 in the first 2 minutes, then one every 30 to 60 s (about 80 an hour).
 * - When to give up: after `maxAttempts` consecutive failed connection attempts (default Infinity: never,
 *   the breaker keeps the rate down). A session that got as far as the coordinator's welcome resets the count.
 * - Flapping: a session lost within `stableMs` of its start counts as a flap, and consecutive flaps grow the
 *   backoff like failed attempts do, so a coordinator that accepts and then drops a participant at once is
 *   not hammered either (the breaker only sees attempts, and these attempts succeed).
 *
 * Attempts are numbered from 1 since the last established session (the very first connection is attempt 1).
 * Durations come from a monotonic clock (performance.now()), so that a wall-clock step (NTP, a suspended laptop's
 * clock set on resume) neither throws nor distorts them; an injected clock that steps back reads as no time passed.
 * An outage starts when a session is lost (or at the first attempt, before any session) and ends at a welcome.
 */
import { FedwardenError, type ErrorCode } from '@fedwarden/shared';
import { BACKOFF_DEFAULTS, backoffDelay, type BackoffOptions } from './backoff.ts';
import { CIRCUIT_BREAKER_DEFAULTS, CircuitBreaker, type BreakerState } from './circuit-breaker.ts';

export interface ReconnectOptions {
  /** Backoff scale of the first retry, ms. Default 500. */
  readonly baseMs?: number;
  /** Largest delay between attempts, ms (the breaker's open period may wait longer). Default 30,000. */
  readonly maxDelayMs?: number;
  /** A delay is at most this fraction of the outage so far (never below baseMs). Default 0.5. */
  readonly outageFraction?: number;
  /** Consecutive failed connection attempts after which run() gives up; Infinity never gives up. Default Infinity. */
  readonly maxAttempts?: number;
  /** How long attempts must have kept failing before the circuit breaker opens, ms. Default 120,000. */
  readonly openAfterMs?: number;
  /** Failed attempts the breaker needs as well, however long they took. Default 3. */
  readonly failureThreshold?: number;
  /** An open breaker refuses attempts for a random period in [openMs/2, openMs) before a half-open probe, ms. Default 60,000. */
  readonly openMs?: number;
  /** A session that lasted less than this is a flap: the next delay grows with consecutive flaps, ms. Default 30,000. */
  readonly stableMs?: number;
  /** Waits `ms` milliseconds. Default: a timer. Injectable so tests need not wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Monotonic clock in ms for the breaker's cool-down, outage and session lengths. Default performance.now(). */
  readonly now?: () => number;
  /** Uniform draw in [0, 1) for the jitter. Default Math.random (jitter needs spread, not secrecy). */
  readonly random?: () => number;
}

export const RECONNECT_DEFAULTS = {
  baseMs: BACKOFF_DEFAULTS.baseMs,
  maxDelayMs: BACKOFF_DEFAULTS.maxMs,
  outageFraction: BACKOFF_DEFAULTS.outageFraction,
  maxAttempts: Infinity,
  openAfterMs: CIRCUIT_BREAKER_DEFAULTS.openAfterMs,
  failureThreshold: CIRCUIT_BREAKER_DEFAULTS.failureThreshold,
  openMs: CIRCUIT_BREAKER_DEFAULTS.openMs,
  stableMs: 30_000,
} as const;

/** Failures that a later attempt may not repeat. */
export const RETRIABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['GOING_AWAY', 'TIMEOUT', 'FULL', 'RATE_LIMITED']);

export function isRetriable(error: FedwardenError): boolean {
  return RETRIABLE_CODES.has(error.code);
}

export type ReconnectDecision =
  | { readonly retry: true; /** Number of the next attempt since the last session. */ readonly attempt: number; readonly delayMs: number }
  | { readonly retry: false; readonly why: 'terminal' | 'attempts exhausted' };

/** The breaker's state after a transition: 'open' (with ms until a probe), 'half-open', 'closed'. */
export type BreakerListener = (state: BreakerState, retryInMs: number) => void;

export class ReconnectPolicy {
  private readonly breaker: CircuitBreaker;
  private readonly backoff: BackoffOptions;
  private readonly maxAttempts: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly stableMs: number;
  /** Consecutive failed connection attempts since the last established session. */
  private failures = 0;
  /** Consecutive sessions lost within stableMs of their start, and when the current one began. */
  private flaps = 0;
  private sessionStart = 0;
  /** When the current outage began (a session lost, or the first attempt); undefined while connected. */
  private outageStart: number | undefined;
  private lastState: BreakerState = 'closed';

  constructor(
    options: ReconnectOptions = {},
    private readonly onBreaker: BreakerListener = () => undefined,
  ) {
    const baseMs = options.baseMs ?? RECONNECT_DEFAULTS.baseMs;
    const maxDelayMs = options.maxDelayMs ?? RECONNECT_DEFAULTS.maxDelayMs;
    const outageFraction = options.outageFraction ?? RECONNECT_DEFAULTS.outageFraction;
    this.backoff = { baseMs, maxMs: maxDelayMs, outageFraction };
    this.maxAttempts = options.maxAttempts ?? RECONNECT_DEFAULTS.maxAttempts;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
    this.stableMs = options.stableMs ?? RECONNECT_DEFAULTS.stableMs;
    if (!(this.stableMs >= 0)) throw new FedwardenError('BAD_CONFIG', 'reconnect: stableMs must be >= 0');
    if (!(baseMs > 0 && maxDelayMs >= baseMs && Number.isFinite(maxDelayMs))) {
      throw new FedwardenError('BAD_CONFIG', 'reconnect: need 0 < baseMs <= maxDelayMs (finite)');
    }
    if (!(outageFraction > 0)) throw new FedwardenError('BAD_CONFIG', 'reconnect: outageFraction must be > 0');
    if (!(this.maxAttempts === Infinity || (Number.isInteger(this.maxAttempts) && this.maxAttempts >= 1))) {
      throw new FedwardenError('BAD_CONFIG', 'reconnect: maxAttempts must be a positive integer or Infinity');
    }
    const openAfterMs = options.openAfterMs ?? RECONNECT_DEFAULTS.openAfterMs;
    const failureThreshold = options.failureThreshold ?? RECONNECT_DEFAULTS.failureThreshold;
    const openMs = options.openMs ?? RECONNECT_DEFAULTS.openMs;
    try {
      this.breaker = new CircuitBreaker(this.now, { openAfterMs, failureThreshold, openMs }, this.random);
    } catch (err) {
      throw new FedwardenError('BAD_CONFIG', `reconnect: ${(err as Error).message}`, { cause: err });
    }
  }

  get breakerState(): BreakerState {
    return this.breaker.state;
  }

  /** Consecutive failed attempts since the last established session. */
  get failedAttempts(): number {
    return this.failures;
  }

  /**
   * Ask to make a connection attempt now: 0 means go (in half-open state this is the one probe), otherwise
   * wait that many ms and ask again.
   */
  beforeAttempt(): number {
    if (this.breaker.tryAcquire()) {
      this.outageStart ??= this.now();
      this.observe();
      return 0;
    }
    return Math.max(1, this.breaker.waitMs());
  }

  /** A connection attempt failed before the coordinator's welcome. */
  attemptFailed(error: FedwardenError): ReconnectDecision {
    if (!isRetriable(error)) return { retry: false, why: 'terminal' };
    this.breaker.recordFailure();
    this.observe();
    this.failures++;
    if (this.failures >= this.maxAttempts) return { retry: false, why: 'attempts exhausted' };
    const now = this.now();
    this.outageStart ??= now;
    const backoff = backoffDelay(this.failures, this.random(), this.backoff, elapsed(now, this.outageStart));
    return { retry: true, attempt: this.failures + 1, delayMs: Math.max(backoff, this.breakerWait()) };
  }

  /** An attempt reached the coordinator's welcome: the breaker closes and the attempt count restarts. */
  connected(): void {
    this.breaker.recordSuccess();
    this.failures = 0;
    this.sessionStart = this.now();
    this.outageStart = undefined;
    this.observe();
  }

  /** An established session ended with `error`. */
  sessionLost(error: FedwardenError): ReconnectDecision {
    if (!isRetriable(error)) return { retry: false, why: 'terminal' };
    this.failures = 0;
    const now = this.now();
    this.flaps = elapsed(now, this.sessionStart) < this.stableMs ? this.flaps + 1 : 0;
    this.outageStart = now;
    // Not bounded by the outage (it has just begun): a flapping coordinator backs off by its count of flaps.
    const backoff = backoffDelay(this.flaps, this.random(), { ...this.backoff, outageFraction: Infinity });
    return { retry: true, attempt: 1, delayMs: Math.max(backoff, this.breakerWait()) };
  }

  private breakerWait(): number {
    return this.breaker.state === 'closed' ? 0 : this.breaker.waitMs();
  }

  /** Report a change of the breaker's state (half-open is reported when its probe is let through). */
  private observe(): void {
    const state = this.breaker.state;
    if (state === this.lastState) return;
    this.lastState = state;
    this.onBreaker(state, state === 'open' ? this.breaker.waitMs() : 0);
  }
}

/** Time from `since` to `now`, never negative (an injected clock may step back). */
function elapsed(now: number, since: number): number {
  return Math.max(0, now - since);
}
