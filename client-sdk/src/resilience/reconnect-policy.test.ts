import { describe, expect, it } from 'vitest';
import { ERROR_CODE_LIST, FedwardenError, type ErrorCode } from '@fedwarden/shared';
import type { BreakerState } from './circuit-breaker.ts';
import { ReconnectPolicy, isRetriable, type ReconnectOptions } from './reconnect-policy.ts';

const err = (code: ErrorCode) => new FedwardenError(code, 'test');

function setup(options: ReconnectOptions = {}) {
  let t = 0;
  const transitions: Array<[BreakerState, number]> = [];
  const policy = new ReconnectPolicy(
    { baseMs: 100, maxDelayMs: 1000, random: () => 0.5, now: () => t, ...options },
    (state, retryIn) => transitions.push([state, retryIn]),
  );
  return { policy, transitions, advance: (ms: number) => (t += ms) };
}

describe('ReconnectPolicy', () => {
  it('retries only transient failures', () => {
    const retriable = ERROR_CODE_LIST.filter((code) => isRetriable(err(code)));
    expect(retriable.sort()).toEqual(['FULL', 'GOING_AWAY', 'RATE_LIMITED', 'TIMEOUT']);
    for (const code of ['AUTH_FAILED', 'FINGERPRINT_MISMATCH', 'MANIFEST_MISMATCH', 'IDENTITY_MISMATCH', 'SUPERSEDED', 'BAD_CONFIG', 'UNEXPECTED_MESSAGE', 'INTERNAL'] as const) {
      const { policy, transitions } = setup({ failureThreshold: 1 });
      expect(policy.attemptFailed(err(code))).toEqual({ retry: false, why: 'terminal' });
      expect(policy.sessionLost(err(code))).toEqual({ retry: false, why: 'terminal' });
      expect(transitions).toEqual([]); // a terminal failure says nothing about the coordinator's health
    }
  });

  it('backs off exponentially with full jitter, capped at maxDelayMs', () => {
    const { policy, advance } = setup({ failureThreshold: 100, maxAttempts: Infinity });
    policy.connected();
    advance(30_000); // a stable session
    // random() = 0.5 draws the middle of [0, min(1000, 100·2^n)).
    expect(policy.sessionLost(err('GOING_AWAY'))).toEqual({ retry: true, attempt: 1, delayMs: 50 });
    const delays = Array.from({ length: 7 }, () => {
      const d = policy.attemptFailed(err('GOING_AWAY'));
      if (!d.retry) throw new Error('gave up');
      return [d.attempt, d.delayMs];
    });
    expect(delays).toEqual([
      [2, 100],
      [3, 200],
      [4, 400],
      [5, 500],
      [6, 500],
      [7, 500],
      [8, 500],
    ]);
  });

  it('draws the jitter from the injected random source', () => {
    const draws = [0, 0.999];
    const { policy, advance } = setup({ random: () => draws.shift() as number });
    advance(30_000);
    expect(policy.sessionLost(err('TIMEOUT'))).toMatchObject({ delayMs: 0 });
    expect(policy.attemptFailed(err('TIMEOUT'))).toMatchObject({ delayMs: 199 });
  });

  it('backs off from a coordinator that keeps dropping fresh sessions (flapping), and forgets once one is stable', () => {
    const { policy, advance } = setup({ stableMs: 5_000 });
    const lostAfter = (ms: number) => {
      policy.connected();
      advance(ms);
      const d = policy.sessionLost(err('RATE_LIMITED'));
      return d.retry ? d.delayMs : -1;
    };
    expect([lostAfter(10), lostAfter(10), lostAfter(10), lostAfter(10)]).toEqual([100, 200, 400, 500]);
    expect(lostAfter(5_000)).toBe(50);
    expect(lostAfter(10)).toBe(100);
  });

  it('gives up after maxAttempts consecutive failed attempts; a session resets the count', () => {
    const { policy } = setup({ maxAttempts: 3, failureThreshold: 100 });
    expect(policy.attemptFailed(err('GOING_AWAY')).retry).toBe(true);
    expect(policy.attemptFailed(err('GOING_AWAY')).retry).toBe(true);
    policy.connected();
    expect(policy.failedAttempts).toBe(0);
    expect(policy.attemptFailed(err('FULL')).retry).toBe(true);
    expect(policy.attemptFailed(err('FULL')).retry).toBe(true);
    expect(policy.attemptFailed(err('FULL'))).toEqual({ retry: false, why: 'attempts exhausted' });
  });

  it('opens the breaker after N failures, holds attempts for the cool-down, then lets one probe through', () => {
    const { policy, transitions, advance } = setup({ failureThreshold: 2, openMs: 10_000, maxAttempts: Infinity });
    expect(policy.beforeAttempt()).toBe(0);
    policy.attemptFailed(err('GOING_AWAY'));
    expect(transitions).toEqual([]);
    const second = policy.attemptFailed(err('GOING_AWAY'));
    expect(transitions).toEqual([['open', 10_000]]);
    // The next attempt waits out the cool-down, however short the backoff.
    expect(second).toEqual({ retry: true, attempt: 3, delayMs: 10_000 });
    advance(4_000);
    expect(policy.beforeAttempt()).toBe(6_000);
    advance(6_000);
    expect(policy.beforeAttempt()).toBe(0); // the probe
    expect(transitions.at(-1)).toEqual(['half-open', 0]);
    expect(policy.beforeAttempt()).toBeGreaterThan(0); // one probe at a time

    policy.attemptFailed(err('GOING_AWAY')); // the probe failed: open again for a full cool-down
    expect(transitions.at(-1)).toEqual(['open', 10_000]);
    advance(10_000);
    expect(policy.beforeAttempt()).toBe(0);
    policy.connected();
    expect(transitions.map(([s]) => s)).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
    expect(policy.breakerState).toBe('closed');
    expect(policy.beforeAttempt()).toBe(0);
  });

  it('refuses bad options with BAD_CONFIG', () => {
    for (const options of [{ baseMs: 0 }, { baseMs: 10, maxDelayMs: 5 }, { maxAttempts: 0 }, { maxAttempts: 1.5 }, { failureThreshold: 0 }, { openMs: -1 }, { stableMs: -1 }]) {
      expect(() => new ReconnectPolicy(options)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    }
  });
});
