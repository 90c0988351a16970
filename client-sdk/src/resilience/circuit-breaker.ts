/**
 * A circuit breaker (Nygard, "Release It!", 2007) for a participant's connection attempts. It opens on time,
 * not on a count: once attempts have kept failing for `openAfterMs` (and at least `failureThreshold` of them,
 * so that one slow attempt does not open it), the coordinator is taken to be down for good and the breaker
 * refuses attempts for an open period drawn at random from [openMs/2, openMs); then it is half-open and lets
 * one probe through: success closes it, failure opens it again for a new random period. A short outage never
 * opens it (the backoff alone brings participants back soon after the coordinator returns); a long one costs
 * the coordinator one attempt per participant every openMs/2 to openMs. The random open period keeps the
 * probes of participants that lost the coordinator at the same moment from arriving together.
 * Pure state over an injected clock and random source; elapsed times are clamped at 0, so that a clock that
 * steps back holds the breaker where it is rather than opening or closing it.
 *
 *   closed ──failing for openAfterMs──▶ open ──random period──▶ half-open ──success──▶ closed
 *                                         ▲                         │
 *                                         └────────failure──────────┘
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** How long attempts must have kept failing (from the first failure, no success since) to open it, ms. Default 120,000. */
  readonly openAfterMs?: number;
  /** Failed attempts needed as well, however long they took. Default 3. */
  readonly failureThreshold?: number;
  /** An open period is drawn uniformly from [openMs/2, openMs), ms. Default 60,000. */
  readonly openMs?: number;
}

export const CIRCUIT_BREAKER_DEFAULTS = { openAfterMs: 120_000, failureThreshold: 3, openMs: 60_000 } as const;

export class CircuitBreaker {
  private failures = 0;
  private firstFailureAt: number | undefined;
  private openedAt: number | undefined;
  /** This open period's length, drawn when the breaker opened. */
  private openFor = 0;
  private probing = false;
  private readonly openAfterMs: number;
  private readonly threshold: number;
  private readonly openMs: number;

  constructor(
    private readonly now: () => number,
    options: CircuitBreakerOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.openAfterMs = options.openAfterMs ?? CIRCUIT_BREAKER_DEFAULTS.openAfterMs;
    this.threshold = options.failureThreshold ?? CIRCUIT_BREAKER_DEFAULTS.failureThreshold;
    this.openMs = options.openMs ?? CIRCUIT_BREAKER_DEFAULTS.openMs;
    if (!(this.openAfterMs >= 0)) throw new RangeError('CircuitBreaker: openAfterMs >= 0');
    if (!(Number.isInteger(this.threshold) && this.threshold >= 1)) throw new RangeError('CircuitBreaker: failureThreshold >= 1');
    if (!(this.openMs >= 0 && Number.isFinite(this.openMs))) throw new RangeError('CircuitBreaker: openMs >= 0');
  }

  get state(): BreakerState {
    if (this.openedAt === undefined) return 'closed';
    return this.elapsedSince(this.openedAt) >= this.openFor ? 'half-open' : 'open';
  }

  /** Milliseconds until an attempt is allowed (0 when it is). */
  waitMs(): number {
    const state = this.state;
    if (state === 'closed') return 0;
    if (state === 'open') return this.openFor - this.elapsedSince(this.openedAt as number);
    return this.probing ? this.openFor : 0;
  }

  /** Ask to attempt; in half-open state only one probe at a time is allowed. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  recordSuccess(): void {
    this.failures = 0;
    this.firstFailureAt = undefined;
    this.openedAt = undefined;
    this.probing = false;
  }

  recordFailure(): void {
    const now = this.now();
    if (this.probing || this.state === 'half-open') {
      this.probing = false;
      this.open(now);
      return;
    }
    this.failures++;
    this.firstFailureAt ??= now;
    if (this.openedAt === undefined && this.failures >= this.threshold && Math.max(0, now - this.firstFailureAt) >= this.openAfterMs) this.open(now);
  }

  private elapsedSince(t: number): number {
    return Math.max(0, this.now() - t);
  }

  private open(now: number): void {
    this.openedAt = now;
    // Equal jitter: at least half the period, so that the attempt rate of a long outage stays bounded.
    this.openFor = Math.floor(this.openMs / 2 + this.random() * (this.openMs / 2));
  }
}
