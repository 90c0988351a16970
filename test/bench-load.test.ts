/**
 * bench:load end to end at small scale: the real coordinator process, participant processes and IPC, with
 * ~20 participants and one round. Asserts that the rounds complete, that the coordinator-side frame count
 * matches the protocol's frames per participant, and that the memory figures are consistent with their
 * samples. No timing thresholds: speed is what the bench prints, not what a test on a shared machine checks.
 */
import { describe, expect, it } from 'vitest';
import { LOAD_DEFAULTS, runLoadBench, type LoadResult } from '../scripts/src/load/run-load.ts';

function expectConsistentMemory(result: LoadResult, clients: number): void {
  const m = result.memory;
  expect(m.gc).toBe(true); // the coordinator process runs with --expose-gc
  expect([m.baseline.connected, m.idle.connected]).toEqual([0, clients]);
  expect(m.half.connected).toBeGreaterThan(0);
  expect(m.half.connected).toBeLessThan(clients);
  const kb = (bytes: number) => bytes / 1024;
  expect(m.perIdleConnection.connections).toBe(clients);
  expect(m.perIdleConnection.rssKB).toBeCloseTo(kb(m.idle.rss - m.baseline.rss) / clients, 6);
  const heapExternal = (s: typeof m.idle) => s.heapUsed + s.external;
  expect(m.perIdleConnection.heapExternalKB).toBeCloseTo(kb(heapExternal(m.idle) - heapExternal(m.baseline)) / clients, 6);
  // Connected sockets hold live objects; and no sane coordinator needs 10 MB of heap for one idle socket.
  expect(m.perIdleConnection.heapExternalKB).toBeGreaterThan(0);
  expect(m.perIdleConnection.heapExternalKB).toBeLessThan(10 * 1024);
  expect(m.peakRss).toBeGreaterThanOrEqual(m.baseline.rss * 0.5);
  expect(result.criterion.basis).toBe('rss');
  expect(result.criterion.met).toBe(result.criterion.rssKB <= result.criterion.limitKB);
}

describe('bench:load', () => {
  it('runs a trusted-mode round with 20 participants over two processes and reports sane figures', async () => {
    const clients = 20;
    const result = await runLoadBench({ ...LOAD_DEFAULTS, clients, rounds: 1, processes: 2, trainMinMs: 5, trainMaxMs: 30, params: 256 });

    expect(result.rounds).toHaveLength(1);
    const [round] = result.rounds;
    expect(round).toMatchObject({ round: 1, outcome: 'completed', selected: clients, reported: clients, trained: clients });
    expect(result.summary.roundsCompleted).toBe(1);
    expect([result.summary.disconnects, result.summary.reconnectAttempts]).toEqual([0, 0]);
    // Trusted mode, per participant: roundStart, update, updateAck, roundEnd — all counted by the coordinator.
    expect(round!.frames).toBe(4 * clients);
    // The run also sends each participant `finished`.
    expect(result.summary.frames).toBe(5 * clients);
    expect(round!.slowestNominalMs).toBeGreaterThanOrEqual(5);
    expect(round!.slowestNominalMs).toBeLessThanOrEqual(30);
    // The measured training includes the nominal wait (less timer granularity: libuv counts whole, cached
    // milliseconds, so a timer may fire up to ~2 ms early by a precise clock); the round contains it.
    const timerSlackMs = 3;
    expect(round!.slowestTrainMs).toBeGreaterThanOrEqual(round!.slowestNominalMs - timerSlackMs);
    expect(round!.roundMs).toBeGreaterThanOrEqual(round!.slowestNominalMs - timerSlackMs);
    expect(round!.overheadMs).toBeCloseTo(round!.roundMs - round!.slowestTrainMs, 6);
    // The coordinator's own stage timings split the round: collection holds the training, both fit in the round.
    expect(round!.collectionMs).not.toBeNull();
    expect(round!.aggregationMs).not.toBeNull();
    expect(round!.collectionMs!).toBeGreaterThanOrEqual(round!.slowestNominalMs - timerSlackMs);
    expect(round!.collectionMs! + round!.aggregationMs!).toBeLessThanOrEqual(round!.roundMs + 2);
    expect(result.handshake.waveMs).toHaveLength(2);
    expect(result.handshake.totalMs).toBeGreaterThan(0);
    expectConsistentMemory(result, clients);
  });

  it('runs a secure-aggregation round in groups of 5', async () => {
    const clients = 10;
    const result = await runLoadBench({
      ...LOAD_DEFAULTS,
      clients,
      rounds: 1,
      processes: 1,
      trainMinMs: 5,
      trainMaxMs: 20,
      params: 256,
      privacy: 'secagg',
      groupSize: 5,
    });
    const [round] = result.rounds;
    expect(round).toMatchObject({ outcome: 'completed', selected: clients, reported: clients, trained: clients });
    // Per member: roundStart, then keys, encaps, shares, masked, survivors (the consistency round), unmask each as
    // a request and a reply, then roundEnd.
    expect(round!.frames).toBe(13 * clients);
    expectConsistentMemory(result, clients);
  });

  it('refuses options it cannot run, naming them', async () => {
    await expect(runLoadBench({ ...LOAD_DEFAULTS, clients: 0 })).rejects.toThrow(/clients/);
    await expect(runLoadBench({ ...LOAD_DEFAULTS, clients: 3, privacy: 'secagg', groupSize: 5 })).rejects.toThrow(/secagg needs at least 5/);
  });
});
