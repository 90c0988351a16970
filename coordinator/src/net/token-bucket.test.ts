/** TokenBucket against a hand-driven clock: burst, sustained rate, capacity cap, clock steps back, bad options. */
import { describe, expect, it } from 'vitest';
import { FedwardenError } from '@fedwarden/shared';
import { TokenBucket } from './token-bucket.ts';

function manualClock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function takeWhileAllowed(bucket: TokenBucket, max = 10_000): number {
  let n = 0;
  while (n < max && bucket.take()) n++;
  return n;
}

describe('TokenBucket', () => {
  it('allows exactly `burst` messages back to back, then refuses', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5 }, clock.now);
    expect(takeWhileAllowed(bucket)).toBe(5);
    expect(bucket.take()).toBe(false);
  });

  it('refills at the sustained rate, one token per 1/rate seconds', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5 }, clock.now);
    takeWhileAllowed(bucket);
    clock.advance(99);
    expect(bucket.take()).toBe(false); // 0.99 of a token
    clock.advance(1);
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    clock.advance(350);
    expect(takeWhileAllowed(bucket)).toBe(3); // 3.5 tokens accrued
    clock.advance(50);
    expect(bucket.take()).toBe(true); // the half token carried over
  });

  it('sustains the rate over a long run: 20 msg/s for 10 s admits 200 plus the burst', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 20, burst: 4 }, clock.now);
    let admitted = 0;
    for (let t = 0; t < 10_000; t += 5) {
      // A peer trying every 5 ms (200 msg/s), ten times the allowed rate.
      if (bucket.take()) admitted++;
      clock.advance(5);
    }
    expect(admitted).toBe(4 + 200 - 1); // the last refill lands after the loop's final attempt
  });

  it('never holds more than `burst` tokens after a long quiet period', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 100, burst: 3 }, clock.now);
    clock.advance(60_000);
    expect(bucket.available).toBe(3);
    expect(takeWhileAllowed(bucket)).toBe(3);
  });

  it('a clock stepping backwards refills nothing and does not break later refills', () => {
    const clock = manualClock(10_000);
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 2 }, clock.now);
    takeWhileAllowed(bucket);
    clock.advance(-5_000);
    expect(bucket.take()).toBe(false);
    clock.advance(5_000 + 100); // back to where it was, plus one token's worth
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
  });

  it('refuses options that would make the limit meaningless', () => {
    for (const options of [
      { ratePerSecond: 0, burst: 1 },
      { ratePerSecond: -1, burst: 1 },
      { ratePerSecond: Number.NaN, burst: 1 },
      { ratePerSecond: Number.POSITIVE_INFINITY, burst: 1 },
      { ratePerSecond: 1, burst: 0 },
      { ratePerSecond: 1, burst: 1.5 },
    ]) {
      expect(() => new TokenBucket(options)).toThrow(FedwardenError);
    }
  });
});
