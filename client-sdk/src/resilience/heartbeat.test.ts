import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeartbeatWatchdog } from './heartbeat.ts';

describe('HeartbeatWatchdog', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stays quiet while something keeps arriving, and reports a silent link once', () => {
    const dead: number[] = [];
    const watchdog = new HeartbeatWatchdog(1000, (silent) => dead.push(silent));
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(600);
      watchdog.touch();
    }
    expect(dead).toEqual([]);
    vi.advanceTimersByTime(999);
    expect(dead).toEqual([]);
    vi.advanceTimersByTime(1);
    vi.runAllTicks();
    vi.advanceTimersToNextTimer(); // the setImmediate re-check
    expect(dead).toHaveLength(1);
    expect(dead[0]).toBeGreaterThanOrEqual(1000);
    vi.advanceTimersByTime(10_000);
    expect(dead).toHaveLength(1);
  });

  it('does not report after stop()', () => {
    const onDead = vi.fn();
    const watchdog = new HeartbeatWatchdog(500, onDead);
    watchdog.stop();
    vi.advanceTimersByTime(5_000);
    expect(onDead).not.toHaveBeenCalled();
  });

  it('gives reads that queued during a stall one turn before declaring the link dead', () => {
    const onDead = vi.fn();
    const watchdog = new HeartbeatWatchdog(1000, onDead);
    vi.advanceTimersByTime(1000); // the timer fires; the re-check is queued behind pending I/O
    watchdog.touch(); // a ping read in that turn
    vi.advanceTimersToNextTimer();
    expect(onDead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1000);
    vi.advanceTimersToNextTimer();
    expect(onDead).toHaveBeenCalledTimes(1);
  });

  it('refuses a non-positive timeout', () => {
    expect(() => new HeartbeatWatchdog(0, () => undefined)).toThrow(RangeError);
  });
});
