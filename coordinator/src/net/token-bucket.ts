/**
 * Token bucket (the classic traffic-shaping rate limiter, as in RFC 2697's committed burst): a bucket of
 * `burst` tokens refills at `ratePerSecond`; each message takes one token, and a message that finds the bucket
 * empty is over the limit. A peer may send `burst` messages back to back and `ratePerSecond` sustained.
 *
 * Pure: time comes from the injected clock (milliseconds, monotonic), so tests drive it by hand. One bucket per
 * connection; it holds two numbers, so a flood costs the coordinator no memory.
 */
import { FedwardenError } from '@fedwarden/shared';

export type Clock = () => number;

export interface TokenBucketOptions {
  /** Sustained messages per second. */
  readonly ratePerSecond: number;
  /** Bucket capacity: messages allowed back to back after a quiet period. */
  readonly burst: number;
}

export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;

  constructor(options: TokenBucketOptions, clock: Clock = () => performance.now()) {
    const { ratePerSecond, burst } = options;
    if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) {
      throw new FedwardenError('BAD_CONFIG', `TokenBucket: ratePerSecond must be finite and > 0, got ${ratePerSecond}`);
    }
    if (!(Number.isSafeInteger(burst) && burst >= 1)) {
      throw new FedwardenError('BAD_CONFIG', `TokenBucket: burst must be an integer >= 1, got ${burst}`);
    }
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#clock = clock;
    this.#tokens = burst;
    this.#last = clock();
  }

  /** Take one token if there is one; false means the caller is over its rate. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Whole tokens available now (for tests and diagnostics). */
  get available(): number {
    this.#refill();
    return Math.floor(this.#tokens);
  }

  #refill(): void {
    const now = this.#clock();
    // A clock that steps backwards refills nothing rather than draining the bucket.
    const elapsedMs = Math.max(0, now - this.#last);
    this.#last = Math.max(this.#last, now);
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsedMs * this.#rate) / 1000);
  }
}
