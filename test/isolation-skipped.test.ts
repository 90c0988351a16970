/**
 * The round record says which rounds the isolation forest scored: `isolationSkipped` carries the reason for
 * the rounds it did not (too little accepted history), and is absent from the rounds it scored, so that alert
 * rates can count scored unit-rounds only. A restarted coordinator rebuilds the forest's history from storage.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient } from '@fedwarden/client';
import { SqliteStore } from '@fedwarden/coordinator';
import { ML_DSA_SEED_BYTES } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { fakeClients, startFederation, type TestFederation } from './support/federation.ts';

let fed: TestFederation | undefined;
let dir: string | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
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

  it("are not skipped after a restart: the forest's history comes back from the stored records", async () => {
    const n = 10;
    dir = mkdtempSync(join(tmpdir(), 'fedwarden-isolation-'));
    const path = join(dir, 'fedwarden.db');
    const steps = Array.from({ length: n }, (_, i) => Float32Array.from([0.1 * (i + 1), -0.2 + 0.03 * i, 0.3]));
    // Each participant presents the identity key it registered in the first run.
    const identities = steps.map(() => randomBytes(ML_DSA_SEED_BYTES));
    const play = async (federation: TestFederation) => {
      const clients = steps.map(
        (step, i) =>
          new FederatedClient({
            url: federation.url,
            fingerprint: federation.fingerprint,
            token: federation.tokens[i] as string,
            identity: identities[i],
            model: new FakeModel(step),
            data: fakeData(10 + i),
            reconnect: false,
          }),
      );
      const runs = clients.map((c) => c.run());
      const records = await federation.coordinator.run();
      await Promise.all(runs);
      return records;
    };
    const first = await startFederation(n, { rounds: { count: 2, minParticipants: n, deadlineMs: 10_000 } }, {}, { store: SqliteStore.open(path) });
    fed = first;
    const before = await play(first);
    expect(before.map((r) => r.isolationSkipped)).toEqual(['history has 0 rows, needs 20', 'history has 10 rows, needs 20']);
    await first.stop();

    const again = await startFederation(n, { rounds: { count: 3, minParticipants: n, deadlineMs: 10_000 } }, { tokens: first.tokens, identity: first.coordinator.identity }, { store: SqliteStore.open(path) });
    fed = again;
    const after = await play(again);
    // Round 3 is scored against rounds 1 and 2's 20 rows, from storage; a cold forest would say 'history has 0 rows'.
    const third = after.at(-1);
    expect(third?.round).toBe(3);
    expect(third?.outcome).toBe('completed');
    expect(third?.isolationSkipped).toBeUndefined();
  });
});
