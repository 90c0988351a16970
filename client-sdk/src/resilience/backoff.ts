/**
 * Reconnect delays: exponential backoff with full jitter (Brooker, "Exponential Backoff and Jitter", AWS
 * Architecture Blog, 2015): delay = random(0, min(maxDelay, base · 2^attempt)). Full jitter spreads the
 * reconnects of many participants after a coordinator restart instead of synchronising them; the cap bounds
 * how long a participant waits. Pure: the random source is injected.
 */

export interface BackoffOptions {
  /** Delay scale of the first retry, ms. Default 500. */
  readonly baseMs?: number;
  /** Largest delay, ms. Default 30,000. */
  readonly maxMs?: number;
}

export const BACKOFF_DEFAULTS = { baseMs: 500, maxMs: 30_000 } as const;

/** The delay before retry number `attempt` (0-based), given a uniform draw `u` in [0, 1). */
export function backoffDelay(attempt: number, u: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? BACKOFF_DEFAULTS.baseMs;
  const max = options.maxMs ?? BACKOFF_DEFAULTS.maxMs;
  if (!(Number.isInteger(attempt) && attempt >= 0)) throw new RangeError(`backoffDelay: attempt ${attempt}`);
  if (!(base > 0 && max >= base)) throw new RangeError(`backoffDelay: need 0 < baseMs <= maxMs`);
  if (!(u >= 0 && u < 1)) throw new RangeError(`backoffDelay: u ${u} not in [0, 1)`);
  // 2^attempt overflows to Infinity for large attempts; min() keeps the ceiling at max.
  const ceiling = Math.min(max, base * 2 ** attempt);
  return Math.floor(u * ceiling);
}
