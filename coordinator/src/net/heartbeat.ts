/**
 * The coordinator's heartbeat: every `intervalMs` each connection is pinged, and one that did not pong the
 * previous ping is terminated (ParticipantConnection.ping). A missed pong only counts when this process could
 * have heard it: a coordinator whose event loop was held (a long aggregation, a participant trained in the same
 * process by the simulation, a machine with more runnable threads than cores) leaves pongs unread in the socket
 * buffers, and the timer that fires after the stall runs before the reads do. Judging then would terminate every
 * healthy connection at once, and a round whose selected participants all drop settles with no contributor
 * ("quorum not met: 0 of N").
 *
 * So a tick is a verdict only when the longest event-loop stall since the previous tick (the tick's own lateness,
 * or the largest delay perf_hooks measured) stayed under half the interval; otherwise it only pings again and the
 * next tick judges, after a fair interval. The verdict itself runs after one turn of the event loop
 * (setImmediate runs after the poll phase), so pongs that arrived during a shorter stall are read first.
 * A dead peer is still found, one interval later while this process stalls, never missed.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Whether a tick may terminate peers that missed a pong: the loop stalled for less than half the interval. */
export function heartbeatVerdictFair(intervalMs: number, stalledMs: number): boolean {
  return stalledMs < intervalMs / 2;
}

export class CoordinatorHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private histogram: IntervalHistogram | undefined;
  private lastTick = 0;

  /** `tick(judge)`: ping every connection; with judge false, terminate none. */
  constructor(
    private readonly intervalMs: number,
    private readonly tick: (judge: boolean, stalledMs: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(): void {
    if (this.timer) return;
    this.histogram = monitorEventLoopDelay({ resolution: 20 });
    this.histogram.enable();
    this.lastTick = this.now();
    this.timer = setInterval(() => this.onTimer(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.histogram?.disable();
    this.histogram = undefined;
  }

  private onTimer(): void {
    // Let reads that queued up during a stall (pongs among them) be handled before any verdict.
    this.immediate ??= setImmediate(() => {
      this.immediate = undefined;
      if (!this.timer) return;
      const now = this.now();
      const late = now - this.lastTick - this.intervalMs;
      this.lastTick = now;
      const histogram = this.histogram;
      const measured = histogram && histogram.count > 0 ? histogram.max / 1e6 : 0;
      histogram?.reset();
      const stalledMs = Math.max(0, late, measured);
      this.tick(heartbeatVerdictFair(this.intervalMs, stalledMs), stalledMs);
    });
  }
}
