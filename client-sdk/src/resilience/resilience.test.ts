import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';
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

  it('rejects bad input', () => {
    expect(() => backoffDelay(-1, 0.5)).toThrow(/attempt/);
    expect(() => backoffDelay(1, 1)).toThrow(/\[0, 1\)/);
    expect(() => backoffDelay(1, 0.5, { baseMs: 10, maxMs: 5 })).toThrow(/baseMs/);
  });
});

describe('CircuitBreaker', () => {
  function setup() {
    let t = 0;
    const breaker = new CircuitBreaker(() => t, { failureThreshold: 3, openMs: 1000 });
    return { breaker, advance: (ms: number) => (t += ms) };
  }

  it('opens after consecutive failures and refuses attempts while open', () => {
    const { breaker, advance } = setup();
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe('closed');
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    advance(400);
    expect(breaker.waitMs()).toBe(600);
  });

  it('half-opens after openMs with a single probe; success closes, failure reopens', () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.recordFailure();
    advance(1000);
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false); // one probe at a time
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    advance(1000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.recordSuccess();
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('a success resets the failure count', () => {
    const { breaker } = setup();
    breaker.recordFailure();
    breaker.recordFailure();
    breaker.recordSuccess();
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe('closed');
  });
});
