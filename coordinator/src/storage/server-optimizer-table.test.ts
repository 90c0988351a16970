import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { initialServerOptimizerState, serverOptimizerStep, type ServerOptimizerState } from '../aggregation/server-optimizer.ts';
import { SqliteStore } from './store.ts';
import { CONFIG, PARTICIPANTS, globalAfter, record, storeWithRounds, tempDbPaths } from './test-support.ts';

const path = tempDbPaths();
const SETTINGS = { kind: 'fedadam', learningRate: 0.1, momentum: 0.9, beta2: 0.99, tau: 1e-3 } as const;

/** The fedadam state after `steps` steps on the test manifest's 4 values. */
function stateAfter(steps: number): ServerOptimizerState {
  let state = initialServerOptimizerState('fedadam', 4, SETTINGS.tau);
  for (let i = 1; i <= steps; i++) state = serverOptimizerStep(SETTINGS, state, globalAfter(i - 1), Float32Array.of(i, -i, 0.5, 0)).state;
  return state;
}

describe('server optimizer state in storage', () => {
  it("is written with each completed round's checkpoint and comes back on resume, the latest only", () => {
    const p = path();
    const store = storeWithRounds(p, 0);
    for (let r = 1; r <= 3; r++) store.finishRound(store.beginRound(r, CONFIG, ['p0']), record(r), globalAfter(r), { serverOptimizer: stateAfter(r) });
    store.close();
    const again = SqliteStore.open(p);
    const resumed = again.resume(PARTICIPANTS);
    expect(resumed.checkpointRound).toBe(3);
    expect(resumed.serverOptimizer?.round).toBe(3);
    expect(resumed.serverOptimizer?.state).toEqual(stateAfter(3));
    again.close();
  });

  it('keeps the previous state through an aborted round, and stores none for a federation without one', () => {
    const p = path();
    const store = storeWithRounds(p, 0);
    store.finishRound(store.beginRound(1, CONFIG, ['p0']), record(1), globalAfter(1), { serverOptimizer: stateAfter(1) });
    store.finishRound(store.beginRound(2, CONFIG, ['p0']), record(2, 'aborted'), undefined);
    store.close();
    const again = SqliteStore.open(p);
    expect(again.resume(PARTICIPANTS).serverOptimizer?.round).toBe(1);
    again.close();

    const q = path();
    storeWithRounds(q, 2).close();
    const plain = SqliteStore.open(q);
    expect(plain.resume(PARTICIPANTS).serverOptimizer).toBeUndefined();
    plain.close();
  });

  it('refuses moments whose bytes changed (STORAGE_CORRUPT)', () => {
    const p = path();
    const store = storeWithRounds(p, 0);
    store.finishRound(store.beginRound(1, CONFIG, ['p0']), record(1), globalAfter(1), { serverOptimizer: stateAfter(1) });
    store.close();
    const raw = new Database(p);
    const { m } = raw.prepare('SELECT m FROM server_optimizer').get() as { m: Buffer };
    m[0] = (m[0] as number) ^ 1;
    raw.prepare('UPDATE server_optimizer SET m = ?').run(m);
    raw.close();
    const again = SqliteStore.open(p);
    expect(() => again.resume(PARTICIPANTS)).toThrow(expect.objectContaining({ code: 'STORAGE_CORRUPT', message: expect.stringMatching(/server optimizer state of round 1 is corrupt: content hash/) }));
    again.close();
  });
});
