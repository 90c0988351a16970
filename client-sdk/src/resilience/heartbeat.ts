/**
 * The participant's dead-link detector. The coordinator pings every participant on a fixed interval
 * (`limits.heartbeatIntervalMs`, 15 s by default) and terminates one that misses a pong; this is the other
 * side: a link over which nothing at all (no frame, no ping) has arrived for `timeoutMs` is dead, even if TCP
 * never said so (a NAT that forgot the flow, a peer that lost power, a black-holing middlebox).
 *
 * `timeoutMs` must exceed the coordinator's ping interval with room to spare; the default (45 s) allows two
 * missed pings at the default interval.
 *
 * A long synchronous stretch on this side (a training step holding the event loop) delays the timer and the
 * socket reads alike: when the timer fires late, pending reads are given one turn of the event loop
 * (setImmediate runs after the poll phase) before the link is declared dead, so a busy participant does not
 * mistake its own stall for the coordinator's silence.
 */

export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 45_000;

export class HeartbeatWatchdog {
  private last: number;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private stopped = false;

  /** `onDead(silentMs)` is called at most once, when nothing arrived for `timeoutMs`. */
  constructor(
    private readonly timeoutMs: number,
    private readonly onDead: (silentMs: number) => void,
    /** Monotonic: a wall-clock step must not fake or hide a silence. */
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) throw new RangeError(`HeartbeatWatchdog: timeoutMs ${timeoutMs}`);
    this.last = now();
    this.arm(timeoutMs);
  }

  /** Something arrived from the coordinator. */
  touch(): void {
    this.last = this.now();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.check(true), ms);
    this.timer.unref();
  }

  private check(fromTimer: boolean): void {
    if (this.stopped) return;
    const silent = Math.max(0, this.now() - this.last);
    if (silent < this.timeoutMs) {
      this.arm(this.timeoutMs - silent);
      return;
    }
    if (fromTimer) {
      // Let reads that queued up while this process was busy be processed first.
      this.immediate = setImmediate(() => this.check(false));
      return;
    }
    this.stop();
    this.onDead(silent);
  }
}
