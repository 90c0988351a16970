import { describe, expect, it } from 'vitest';
import { ERROR_CODE_LIST, FedwardenError, createRng, type ErrorCode } from '@fedwarden/shared';
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

  it('without the outage bound, backs off exponentially with full jitter, capped at maxDelayMs', () => {
    const { policy, advance } = setup({ failureThreshold: 100, outageFraction: Infinity });
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

  it('never draws from a ceiling above outageFraction of the outage so far (nor below baseMs)', () => {
    const { policy, advance } = setup({ baseMs: 100, maxDelayMs: 60_000, outageFraction: 0.5, openAfterMs: Infinity, random: () => 0.99999 });
    policy.connected();
    advance(60_000);
    policy.sessionLost(err('GOING_AWAY')); // the outage begins
    const ceilings: Array<[number, number]> = [];
    for (const outageMs of [0, 100, 400, 1_000, 10_000, 200_000]) {
      advance(outageMs - ceilings.reduce((sum, [at]) => Math.max(sum, at), 0));
      const d = policy.attemptFailed(err('GOING_AWAY'));
      if (!d.retry) throw new Error('gave up');
      ceilings.push([outageMs, d.delayMs + 1]); // random() = 0.99999 draws just under the ceiling
    }
    expect(ceilings).toEqual([
      [0, 100], // baseMs: the floor
      [100, 100], // 2^2·100 = 400, but half of 100 ms is below the floor
      [400, 200], // half the outage, not 2^3·100 = 800
      [1_000, 500],
      [10_000, 3_200], // 2^5·100: the exponential is the lower bound here
      [200_000, 6_400], // 2^6·100 (maxDelayMs 60 s and the outage bound 100 s are both higher)
    ]);
  });

  it('draws the jitter from the injected random source', () => {
    const draws = [0, 0.999];
    const { policy, advance } = setup({ random: () => draws.shift() as number });
    advance(30_000);
    expect(policy.sessionLost(err('TIMEOUT'))).toMatchObject({ delayMs: 0 });
    advance(1_000); // one second into the outage: the ceiling is min(2·100, 1000/2)
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

  it('gives up after maxAttempts consecutive failed attempts (default: never); a session resets the count', () => {
    const { policy } = setup({ maxAttempts: 3, failureThreshold: 100 });
    expect(policy.attemptFailed(err('GOING_AWAY')).retry).toBe(true);
    expect(policy.attemptFailed(err('GOING_AWAY')).retry).toBe(true);
    policy.connected();
    expect(policy.failedAttempts).toBe(0);
    expect(policy.attemptFailed(err('FULL')).retry).toBe(true);
    expect(policy.attemptFailed(err('FULL')).retry).toBe(true);
    expect(policy.attemptFailed(err('FULL'))).toEqual({ retry: false, why: 'attempts exhausted' });

    const forever = setup({}).policy;
    for (let i = 0; i < 1_000; i++) expect(forever.attemptFailed(err('GOING_AWAY')).retry).toBe(true);
  });

  it('opens the breaker on time, not on a count: quick failures keep it closed until openAfterMs has passed', () => {
    const { policy, transitions, advance } = setup({ openAfterMs: 10_000, failureThreshold: 3, openMs: 10_000, random: () => 0.5 });
    expect(policy.beforeAttempt()).toBe(0);
    for (let i = 0; i < 100; i++) {
      policy.attemptFailed(err('GOING_AWAY')); // a hundred refusals within 9.9 s
      advance(99);
    }
    expect(transitions).toEqual([]);
    expect(policy.breakerState).toBe('closed');
    advance(100); // 10 s since the first failure
    const opening = policy.attemptFailed(err('GOING_AWAY'));
    // random() = 0.5: the open period is drawn from [5 s, 10 s): 7.5 s, and the next attempt waits it out.
    expect(transitions).toEqual([['open', 7_500]]);
    expect(opening).toMatchObject({ retry: true, delayMs: 7_500 });
    advance(4_000);
    expect(policy.beforeAttempt()).toBe(3_500);
    advance(3_500);
    expect(policy.beforeAttempt()).toBe(0); // the probe
    expect(transitions.at(-1)).toEqual(['half-open', 0]);
    expect(policy.beforeAttempt()).toBeGreaterThan(0); // one probe at a time

    policy.attemptFailed(err('GOING_AWAY')); // the probe failed: open again for a new random period
    expect(transitions.at(-1)).toEqual(['open', 7_500]);
    advance(7_500);
    expect(policy.beforeAttempt()).toBe(0);
    policy.connected();
    expect(transitions.map(([s]) => s)).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
    expect(policy.breakerState).toBe('closed');
    expect(policy.beforeAttempt()).toBe(0);
  });

  it('needs failureThreshold failures as well: one attempt that hangs for minutes does not open the breaker', () => {
    const { policy, transitions, advance } = setup({ openAfterMs: 10_000, failureThreshold: 3 });
    policy.attemptFailed(err('TIMEOUT'));
    advance(60_000);
    policy.attemptFailed(err('TIMEOUT'));
    expect(transitions).toEqual([]);
    policy.attemptFailed(err('TIMEOUT'));
    expect(transitions.map(([s]) => s)).toEqual(['open']);
  });

  it('draws each open period at random from [openMs/2, openMs)', () => {
    for (const [u, period] of [
      [0, 30_000],
      [0.5, 45_000],
      [0.999, 59_970],
    ] as const) {
      const { policy, transitions } = setup({ openAfterMs: 0, failureThreshold: 1, openMs: 60_000, random: () => u });
      policy.attemptFailed(err('GOING_AWAY'));
      expect(transitions).toEqual([['open', period]]);
    }
  });

  it('refuses bad options with BAD_CONFIG', () => {
    for (const options of [{ baseMs: 0 }, { baseMs: 10, maxDelayMs: 5 }, { maxDelayMs: Infinity }, { outageFraction: 0 }, { maxAttempts: 0 }, { maxAttempts: 1.5 }, { failureThreshold: 0 }, { openAfterMs: -1 }, { openMs: -1 }, { stableMs: -1 }]) {
      expect(() => new ReconnectPolicy(options)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    }
  });
});

/**
 * One participant through a coordinator outage of `outageMs`, on a fake clock with the default options: the
 * session is lost, every attempt before the coordinator is back is refused at once, the first one after it
 * succeeds. Returns the attempt times (ms into the outage) and how long after the return the participant
 * was back.
 */
function outage(outageMs: number, seed: number): { attempts: number[]; backAfterMs: number; opened: boolean } {
  let t = 0;
  const rng = createRng(seed);
  let opened = false;
  const policy = new ReconnectPolicy({ now: () => t, random: () => rng.next() }, (state) => (opened ||= state === 'open'));
  policy.connected();
  t += 60_000; // a stable session
  const start = t;
  const attempts: number[] = [];
  let decision = policy.sessionLost(err('GOING_AWAY'));
  for (;;) {
    if (!decision.retry) throw new Error(`gave up: ${decision.why}`);
    t += decision.delayMs;
    for (let wait = policy.beforeAttempt(); wait > 0; wait = policy.beforeAttempt()) t += wait;
    attempts.push(t - start);
    if (t - start >= outageMs) {
      policy.connected();
      return { attempts, backAfterMs: t - start - outageMs, opened };
    }
    decision = policy.attemptFailed(err('GOING_AWAY'));
  }
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;

describe('ReconnectPolicy through outages (fake clock, default options)', () => {
  it('brings 200 participants back within half a 10 s outage of its end, spread out rather than in one wave', () => {
    const runs = Array.from({ length: 200 }, (_, i) => outage(10_000, i + 1));
    const back = runs.map((r) => r.backAfterMs).sort((a, b) => a - b);
    expect(runs.some((r) => r.opened)).toBe(false); // 10 s is no reason to open the breaker
    expect(quantile(back, 1)).toBeLessThanOrEqual(5_000); // outageFraction 0.5 of 10 s
    // Spread over that window: no instant where most come back at once.
    expect(quantile(back, 0.25)).toBeGreaterThan(250);
    expect(quantile(back, 0.75) - quantile(back, 0.25)).toBeGreaterThan(1_000);
    for (let s = 0; s < 5_000; s += 500) expect(back.filter((b) => b >= s && b < s + 500).length).toBeLessThan(100);
    // And without hammering: a handful of attempts a second at first, fewer as the outage goes on.
    const meanAttempts = runs.reduce((sum, r) => sum + r.attempts.length, 0) / runs.length;
    expect(meanAttempts).toBeLessThan(20);
  });

  it('is back within about T/2 for outages of any length, and a coordinator that stays down gets about one attempt a minute', () => {
    for (const outageMs of [2_000, 30_000, 100_000, 600_000, 3_600_000]) {
      const runs = Array.from({ length: 50 }, (_, i) => outage(outageMs, 1000 + i));
      const worst = Math.max(...runs.map((r) => r.backAfterMs));
      // The backoff bounds the wait by max(baseMs, T/2) and maxDelayMs (30 s); the breaker's open period by 60 s.
      expect(worst, `T = ${outageMs} ms`).toBeLessThanOrEqual(Math.min(Math.max(500, outageMs / 2), 60_000));
    }
    const hour = Array.from({ length: 50 }, (_, i) => outage(3_600_000, 2000 + i));
    for (const { attempts, opened } of hour) {
      expect(opened).toBe(true);
      const firstTwoMinutes = attempts.filter((a) => a < 120_000).length;
      expect(firstTwoMinutes).toBeLessThan(45);
      // Once the breaker is open: one probe per [30 s, 60 s), i.e. 60 to 120 an hour.
      const later = attempts.filter((a) => a >= 180_000);
      const perHour = (later.length * 3_600_000) / (3_600_000 - 180_000);
      expect(perHour).toBeGreaterThan(55);
      expect(perHour).toBeLessThan(125);
    }
  });

  it('survives a clock that steps backward: no throw, delays and the breaker as if no time had passed', () => {
    const { policy, advance, transitions } = setup({ failureThreshold: 2, openAfterMs: 5_000, openMs: 10_000 });
    expect(policy.beforeAttempt()).toBe(0); // the outage starts at t = 0
    advance(2_000);
    expect(policy.attemptFailed(err('GOING_AWAY'))).toMatchObject({ retry: true, attempt: 2 });
    advance(-3_600_000); // the wall clock is set back an hour
    const decision = policy.attemptFailed(err('GOING_AWAY'));
    // The outage reads as 0 ms long: the ceiling falls back to baseMs (100), the draw 0.5 of it.
    expect(decision).toEqual({ retry: true, attempt: 3, delayMs: 50 });
    expect(policy.breakerState).toBe('closed'); // failing for "less than 0 ms" does not open it
    advance(3_600_000 + 6_000); // back past 5 s of failures: now it opens
    expect(policy.attemptFailed(err('GOING_AWAY'))).toMatchObject({ retry: true });
    expect(policy.breakerState).toBe('open');
    advance(-60_000); // a step back while open holds it open, with at most its open period to wait
    expect(policy.breakerState).toBe('open');
    expect(policy.beforeAttempt()).toBeLessThanOrEqual(10_000);
    // A session that "ended before it began" is a flap, and sessionLost does not throw either.
    policy.connected();
    advance(-1_000);
    expect(policy.sessionLost(err('GOING_AWAY'))).toMatchObject({ retry: true, attempt: 1 });
    expect(transitions.map(([state]) => state)).toEqual(['open', 'closed']);
  });

  it('measures with a monotonic clock by default, not Date.now', () => {
    const policy = new ReconnectPolicy({ random: () => 0.5 });
    const realNow = Date.now;
    Date.now = () => realNow() - 3_600_000; // a wall-clock step mid-outage
    try {
      policy.beforeAttempt();
      Date.now = () => realNow() - 7_200_000;
      expect(policy.attemptFailed(err('GOING_AWAY'))).toMatchObject({ retry: true, attempt: 2 });
    } finally {
      Date.now = realNow;
    }
  });
});
