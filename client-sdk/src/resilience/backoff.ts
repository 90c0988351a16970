/**
 * Reconnect delays: exponential backoff with full jitter (Brooker, "Exponential Backoff and Jitter", AWS
 * Architecture Blog, 2015): delay = random(0, ceiling), ceiling = min(maxDelay, base · 2^attempt), so that many
 * participants cut off by one coordinator restart come back spread out rather than in one wave.
 *
 * Bounded by the outage: the ceiling is also at most `outageFraction` of the time the participant has been
 * cut off (never below `base`). Plain exponential backoff with full jitter draws a ceiling of about twice the
 * outage so far, so after an outage of T a participant could wait up to 2T more; with the bound its next attempt
 * comes at most outageFraction · T after the coordinator is back (T/2 by default), while the attempt rate
 * still falls as the outage goes on (one attempt per ~maxDelay/2 once the cap is reached). Pure: the random
 * draw and the elapsed time are passed in.
 */

export interface BackoffOptions {
  /** Delay scale of the first retry, and the smallest ceiling, ms. Default 500. */
  readonly baseMs?: number;
  /** Largest delay, ms. Default 30,000. */
  readonly maxMs?: number;
  /** The ceiling is at most this fraction of the outage so far (0 < f; Infinity: no bound). Default 0.5. */
  readonly outageFraction?: number;
}

export const BACKOFF_DEFAULTS = { baseMs: 500, maxMs: 30_000, outageFraction: 0.5 } as const;

/**
 * The largest delay before retry number `attempt` (0-based), `outageMs` into an outage (Infinity: no outage
 * bound, plain exponential backoff).
 */
export function backoffCeiling(attempt: number, options: BackoffOptions = {}, outageMs = Infinity): number {
  const base = options.baseMs ?? BACKOFF_DEFAULTS.baseMs;
  const max = options.maxMs ?? BACKOFF_DEFAULTS.maxMs;
  const fraction = options.outageFraction ?? BACKOFF_DEFAULTS.outageFraction;
  if (!(Number.isInteger(attempt) && attempt >= 0)) throw new RangeError(`backoffDelay: attempt ${attempt}`);
  if (!(base > 0 && max >= base)) throw new RangeError(`backoffDelay: need 0 < baseMs <= maxMs`);
  if (!(fraction > 0)) throw new RangeError(`backoffDelay: outageFraction ${fraction} must be > 0`);
  if (!(outageMs >= 0)) throw new RangeError(`backoffDelay: outageMs ${outageMs} must be >= 0`);
  // 2^attempt overflows to Infinity for large attempts; min() keeps the ceiling at max.
  const outageBound = fraction === Infinity || outageMs === Infinity ? Infinity : fraction * outageMs;
  return Math.min(max, base * 2 ** attempt, Math.max(base, outageBound));
}

/**
 * The delay before retry number `attempt` (0-based), given a uniform draw `u` in [0, 1) and, optionally, how
 * long the outage has lasted so far (ms).
 */
export function backoffDelay(attempt: number, u: number, options: BackoffOptions = {}, outageMs = Infinity): number {
  const ceiling = backoffCeiling(attempt, options, outageMs);
  if (!(u >= 0 && u < 1)) throw new RangeError(`backoffDelay: u ${u} not in [0, 1)`);
  return Math.floor(u * ceiling);
}
