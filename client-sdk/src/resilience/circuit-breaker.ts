/**
 * A circuit breaker (Nygard, "Release It!", 2007) for a participant's connection attempts: after
 * `failureThreshold` consecutive failures it opens and refuses attempts for `openMs`, so a participant stops
 * hammering a coordinator that keeps failing; then it is half-open and lets one probe through: success closes
 * it, failure opens it again. Pure state over an injected clock.
 *
 *   closed ──N failures──▶ open ──openMs──▶ half-open ──success──▶ closed
 *                              ▲                 │
 *                              └────failure──────┘
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. Default 5. */
  readonly failureThreshold?: number;
  /** How long an open breaker refuses attempts, ms. Default 60,000. */
  readonly openMs?: number;
}

export const CIRCUIT_BREAKER_DEFAULTS = { failureThreshold: 5, openMs: 60_000 } as const;

export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private probing = false;
  private readonly threshold: number;
  private readonly openMs: number;

  constructor(
    private readonly now: () => number,
    options: CircuitBreakerOptions = {},
  ) {
    this.threshold = options.failureThreshold ?? CIRCUIT_BREAKER_DEFAULTS.failureThreshold;
    this.openMs = options.openMs ?? CIRCUIT_BREAKER_DEFAULTS.openMs;
    if (!(Number.isInteger(this.threshold) && this.threshold >= 1)) throw new RangeError('CircuitBreaker: failureThreshold >= 1');
    if (!(this.openMs >= 0)) throw new RangeError('CircuitBreaker: openMs >= 0');
  }

  get state(): BreakerState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.openMs ? 'half-open' : 'open';
  }

  /** Milliseconds until an attempt is allowed (0 when it is). */
  waitMs(): number {
    const state = this.state;
    if (state === 'closed') return 0;
    if (state === 'open') return this.openMs - (this.now() - (this.openedAt as number));
    return this.probing ? this.openMs : 0;
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
    this.openedAt = undefined;
    this.probing = false;
  }

  recordFailure(): void {
    if (this.probing || this.state === 'half-open') {
      this.probing = false;
      this.openedAt = this.now();
      return;
    }
    this.failures++;
    if (this.failures >= this.threshold) this.openedAt = this.now();
  }
}
