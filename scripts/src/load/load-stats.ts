/**
 * bench:load's arithmetic, apart from the processes that measure: memory per connection from two samples,
 * and each round's overhead and frame rate from the coordinator's round report and the participants'
 * training times. Pure functions over plain numbers.
 *
 * Round overhead = the coordinator's round time − the slowest selected participant's training time: what
 * the round costs beyond waiting for the slowest trainer (sending the global, collecting, aggregating). The
 * coordinator's stage timings split it: collection − slowest training is the network and participant-side
 * part, aggregation the coordinator's review of the updates.
 */
import type { ClientRoundStats, FrameCount, MemorySample, RoundReport } from './ipc.ts';

export const KB = 1024;

/** Memory per connection between two samples, KiB, by both measures. */
export interface PerConnection {
  readonly connections: number;
  readonly rssKB: number;
  readonly heapExternalKB: number;
}

export function perConnection(from: MemorySample, to: MemorySample): PerConnection | null {
  const connections = to.connected - from.connected;
  if (connections <= 0) return null;
  return {
    connections,
    rssKB: (to.rss - from.rss) / connections / KB,
    heapExternalKB: (to.heapUsed + to.external - (from.heapUsed + from.external)) / connections / KB,
  };
}

export interface RoundRow {
  readonly round: number;
  readonly outcome: string;
  readonly selected: number;
  readonly reported: number;
  readonly trained: number;
  readonly roundMs: number;
  readonly slowestTrainMs: number;
  readonly slowestNominalMs: number;
  readonly overheadMs: number;
  /** The coordinator's own stage timings (null where it does not report them), ms. */
  readonly collectionMs: number | null;
  readonly aggregationMs: number | null;
  readonly frames: number;
  readonly framesPerSecond: number;
  readonly rssMB: number;
}

/** Merge the coordinator's report of a round with the participants' training statistics of that round. */
export function roundRow(report: RoundReport, clientStats: readonly ClientRoundStats[]): RoundRow {
  const mine = clientStats.filter((s) => s.round === report.round);
  const slowestTrainMs = Math.max(0, ...mine.map((s) => s.maxTrainMs));
  const frames = totalFrames(report.frames);
  return {
    round: report.round,
    outcome: report.outcome,
    selected: report.selected,
    reported: report.reported,
    trained: mine.reduce((sum, s) => sum + s.trained, 0),
    roundMs: report.durationMs,
    slowestTrainMs,
    slowestNominalMs: Math.max(0, ...mine.map((s) => s.maxNominalMs)),
    overheadMs: report.durationMs - slowestTrainMs,
    collectionMs: report.collectionMs,
    aggregationMs: report.aggregationMs,
    frames,
    framesPerSecond: rate(frames, report.windowMs),
    rssMB: report.memory.rss / KB / KB,
  };
}

export function totalFrames(f: FrameCount): number {
  return f.sent + f.received;
}

/** Events per second over `ms` milliseconds (0 for an empty interval). */
export function rate(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : 0;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}
