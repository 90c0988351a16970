import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay } from './backoff.ts';
import { CircuitBreaker } from './circuit-breaker.ts';

describe('backoffDelay (full jitter)', () => {
  it('draws from [0, min(max, base·2^attempt))', () => {
    const o = { baseMs: 100, maxMs: 1000 };
    expect(backoffDelay(0, 0.5, o)).toBe(50); // ceiling 100
    expect(backoffDelay(3, 0.5, o)).toBe(400); // ceiling 800
    expect(backoffDelay(4, 0.5, o)).toBe(500); // ceiling capped at 1000
    expect(backoffDelay(10_000, 0.999, o)).toBe(999); // no overflow past the cap
    expect(backoffDelay(5, 0, o)).toBe(0);
  });

  it('bounds the ceiling by outageFraction of the outage so far, never below base', () => {
    const o = { baseMs: 100, maxMs: 10_000, outageFraction: 0.5 };
    expect(backoffCeiling(10, o)).toBe(10_000); // no outage given: plain exponential, capped
    expect(backoffCeiling(10, o, 0)).toBe(100);
    expect(backoffCeiling(10, o, 3_000)).toBe(1_500);
    expect(backoffCeiling(2, o, 3_000)).toBe(400); // the exponential is lower
    expect(backoffCeiling(10, o, 1e9)).toBe(10_000);
    expect(backoffCeiling(3, { ...o, outageFraction: Infinity }, 0)).toBe(800);
    expect(backoffDelay(10, 0.5, o, 3_000)).toBe(750);
  });

  it('rejects bad input', () => {
    expect(() => backoffDelay(-1, 0.5)).toThrow(/attempt/);
    expect(() => backoffDelay(1, 1)).toThrow(/\[0, 1\)/);
    expect(() => backoffDelay(1, 0.5, { baseMs: 10, maxMs: 5 })).toThrow(/baseMs/);
    expect(() => backoffDelay(1, 0.5, { outageFraction: 0 })).toThrow(/outageFraction/);
    expect(() => backoffDelay(1, 0.5, {}, -1)).toThrow(/outageMs/);
  });
});

describe('CircuitBreaker (opens on time)', () => {
  function setup(u = 0.5) {
    let t = 0;
    const breaker = new CircuitBreaker(() => t, { openAfterMs: 5_000, failureThreshold: 3, openMs: 1000 }, () => u);
    return { breaker, advance: (ms: number) => (t += ms) };
  }

  it('stays closed through any number of failures until they have gone on for openAfterMs', () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 50; i++) {
      breaker.recordFailure();
      advance(100);
    }
    expect(breaker.state).toBe('closed'); // 50 failures over 4.9 s
    advance(100);
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    advance(400);
    expect(breaker.waitMs()).toBe(350); // a 750 ms period: [500, 1000) at u = 0.5
  });

  it('half-opens after its random period with a single probe; success closes, failure reopens', () => {
    const { breaker, advance } = setup(0);
    breaker.recordFailure();
    advance(5_000);
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    advance(500); // u = 0: the shortest period, openMs/2
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false); // one probe at a time
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    advance(500);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.recordSuccess();
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('a success resets the clock and the count', () => {
    const { breaker, advance } = setup();
    breaker.recordFailure();
    advance(4_000);
    breaker.recordSuccess();
    breaker.recordFailure();
    advance(4_000);
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe('closed'); // 4 s since the first failure after the success
  });

  it('refuses bad options', () => {
    expect(() => new CircuitBreaker(() => 0, { openAfterMs: -1 })).toThrow(RangeError);
    expect(() => new CircuitBreaker(() => 0, { failureThreshold: 0 })).toThrow(RangeError);
    expect(() => new CircuitBreaker(() => 0, { openMs: Infinity })).toThrow(RangeError);
  });
});
