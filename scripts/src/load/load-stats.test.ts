/** bench:load's arithmetic on hand-computed cases. */
import { describe, expect, it } from 'vitest';
import type { MemorySample, RoundReport } from './ipc.ts';
import { perConnection, rate, roundRow } from './load-stats.ts';

const sample = (connected: number, rss: number, heapUsed: number, external: number): MemorySample => ({
  rss,
  heapTotal: heapUsed,
  heapUsed,
  external,
  arrayBuffers: 0,
  connected,
  afterGc: true,
});

describe('perConnection', () => {
  it('divides the growth between two samples by the connections added, in KiB', () => {
    // 100 connections: RSS +5 MiB → 51.2 KiB each; heap +1 MiB and external +1 MiB → 20.48 KiB each.
    const r = perConnection(sample(0, 50 << 20, 10 << 20, 2 << 20), sample(100, 55 << 20, 11 << 20, 3 << 20));
    expect(r).toEqual({ connections: 100, rssKB: 51.2, heapExternalKB: 20.48 });
  });

  it('has no figure without added connections', () => {
    expect(perConnection(sample(10, 1, 1, 1), sample(10, 2, 2, 2))).toBeNull();
  });
});

describe('roundRow', () => {
  const report: RoundReport = {
    round: 2,
    outcome: 'completed',
    reason: '',
    selected: 4,
    reported: 4,
    durationMs: 500,
    windowMs: 800,
    frames: { sent: 12, received: 4, bytesSent: 0, bytesReceived: 0 },
    collectionMs: 300,
    aggregationMs: 150,
    memory: sample(4, 3 << 20, 0, 0),
  };

  it("subtracts the slowest participant's training (over all processes, this round only) from the round time", () => {
    const row = roundRow(report, [
      { round: 1, trained: 2, maxTrainMs: 450, maxNominalMs: 400 },
      { round: 2, trained: 3, maxTrainMs: 180, maxNominalMs: 170 },
      { round: 2, trained: 1, maxTrainMs: 210, maxNominalMs: 200 },
    ]);
    expect(row).toMatchObject({ round: 2, trained: 4, slowestTrainMs: 210, slowestNominalMs: 200, overheadMs: 290, frames: 16, rssMB: 3 });
    expect(row).toMatchObject({ collectionMs: 300, aggregationMs: 150 });
    // 16 frames over the 800 ms window.
    expect(row.framesPerSecond).toBe(20);
  });
});

describe('rate', () => {
  it('is events per second, and 0 over an empty interval', () => {
    expect(rate(50, 250)).toBe(200);
    expect(rate(5, 0)).toBe(0);
  });
});
