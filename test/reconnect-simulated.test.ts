/**
 * Simulated participants (scripts/src/simulated-participant.ts) under coordinator restarts: with reconnect in
 * their client options they come back by themselves to a coordinator stopped and started again on the same
 * port, and a participant that can never get in reports why instead of retrying forever.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FedwardenError } from '@fedwarden/shared';
import { SimulatedParticipant } from '../scripts/src/simulated-participant.ts';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';

const feds: TestFederation[] = [];
const participants: SimulatedParticipant[] = [];

afterEach(async () => {
  participants.splice(0).forEach((p) => p.stop());
  await Promise.all(feds.splice(0).map((f) => f.stop()));
});

const reconnect = { baseMs: 20, maxDelayMs: 100, maxAttempts: Infinity, failureThreshold: 1000 } as const;

describe('simulated participants and a restarted coordinator', () => {
  it('reconnect by themselves and finish the run on the new coordinator', async () => {
    const n = 3;
    const rounds = { minParticipants: n, deadlineMs: 10_000 };
    const first = await startFederation(n, { rounds: { ...rounds, count: 3 } });
    feds.push(first);
    const sims = first.tokens.map(
      (token, i) =>
        new SimulatedParticipant(
          { url: first.url, fingerprint: first.fingerprint, token, model: new FakeModel(new Float32Array([i, 1, -i])), data: fakeData(5 + i), reconnect },
          'trusted',
          0,
          i,
        ),
    );
    participants.push(...sims);
    let stopping: Promise<void> | undefined;
    first.coordinator.on('round', (record) => {
      if (record.round === 1) stopping ??= first.stop();
    });
    sims.forEach((p) => p.start());
    const firstRecords = await first.coordinator.run();
    await stopping;
    feds.splice(feds.indexOf(first), 1);
    expect(firstRecords.map((r) => r.round)).toEqual([1]);

    const second = await startFederation(
      n,
      { port: first.coordinator.port, rounds: { ...rounds, count: 2 } },
      { tokens: first.tokens, identity: first.coordinator.identity },
    );
    feds.push(second);
    const [records] = await Promise.all([second.coordinator.run(), ...sims.map((p) => p.finished())]);
    expect(records.map((r) => r.outcome)).toEqual(['completed', 'completed']);
    expect(records.every((r) => r.reported.length === n)).toBe(true);
    expect(sims.map((p) => p.reconnects)).toEqual([1, 1, 1]);
    expect(sims.map((p) => p.vanished)).toEqual([0, 0, 0]);
  });

  it('a participant that can never get in makes finished() reject instead of retrying forever', async () => {
    const fed = await startFederation(1, { rounds: { count: 1, minParticipants: 1 } });
    feds.push(fed);
    const sim = new SimulatedParticipant(
      { url: fed.url, fingerprint: fed.fingerprint, token: 'wrong', model: new FakeModel(new Float32Array(2)), data: fakeData(3), reconnect },
      'trusted',
      0,
      1,
    );
    participants.push(sim);
    sim.start();
    const error = await sim.finished().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FedwardenError);
    expect((error as FedwardenError).code).toBe('AUTH_FAILED');
  });
});
