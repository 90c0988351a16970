/**
 * The round record says which rounds the isolation forest scored: `isolationSkipped` carries the reason for
 * the rounds it did not (too little accepted history), and is absent from the rounds it scored, so that alert
 * rates can count scored unit-rounds only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fakeClients, startFederation, type TestFederation } from './support/federation.ts';

let fed: TestFederation | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
});

describe('round records and the isolation forest', () => {
  it('carry the skip reason until the history holds 20 rows, and nothing once the forest scores', async () => {
    const n = 10;
    fed = await startFederation(n, { rounds: { count: 3, minParticipants: n, deadlineMs: 10_000 } });
    const steps = Array.from({ length: n }, (_, i) => Float32Array.from([0.1 * (i + 1), -0.2 + 0.03 * i, 0.3]));
    const clients = fakeClients(fed, steps, (i) => 10 + i);
    const runs = clients.map((c) => c.run());
    const records = await fed.coordinator.run();
    await Promise.all(runs);
    expect(records.map((r) => r.outcome)).toEqual(['completed', 'completed', 'completed']);
    // FedAvg keeps all 10 units a round: 0, then 10 rows of history, then 20.
    expect(records.map((r) => r.isolationSkipped)).toEqual(['history has 0 rows, needs 20', 'history has 10 rows, needs 20', undefined]);
    expect('isolationSkipped' in (records[2] as object)).toBe(false);
  });
});
