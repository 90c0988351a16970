/**
 * A coordinator whose event loop stalls must not take its own stall for its participants' silence. Over real
 * loopback sockets in one process (as `pnpm simulate` runs, where every participant trains on the coordinator's
 * event loop), the loop is held for longer than the heartbeat interval again and again, one turn apart: each
 * time the coordinator's ping is answered in that turn, but the pong is read only after the next (late) tick.
 * Before heartbeat.ts, that tick found every pong missing and terminated every healthy connection; a round whose
 * selected participants were all dropped so settled with none ("quorum not met: 0 of N contributed").
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient } from '@fedwarden/client';
import type { FedwardenError } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';

const feds: TestFederation[] = [];
afterEach(async () => {
  await Promise.all(feds.splice(0).map((f) => f.stop()));
});

const INTERVAL_MS = 200;

/** Hold this process's event loop for `ms`, as a synchronous training step does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('coordinator heartbeat under event-loop stalls', () => {
  it('keeps healthy links through stalls longer than the interval, and the round completes with everyone', async () => {
    const fed = await startFederation(2, {
      rounds: { count: 1, minParticipants: 2, deadlineMs: 20_000 },
      limits: { heartbeatIntervalMs: INTERVAL_MS },
    });
    feds.push(fed);
    const left: string[] = [];
    fed.coordinator.on('participantLeft', (id) => left.push(id));
    const running = fed.coordinator.run(); // waits for two participants: p0's link idles but for pings
    const lost: FedwardenError[] = [];
    const client = (i: number, weights: number[]) => {
      const c = new FederatedClient({
        url: fed.url,
        fingerprint: fed.fingerprint,
        token: fed.tokens[i]!,
        model: new FakeModel(new Float32Array(weights)),
        data: fakeData(5),
        reconnect: false,
      });
      c.on('disconnected', (e) => lost.push(e));
      return c;
    };
    const c0 = client(0, [1, 2]);
    const r0 = c0.run();
    r0.catch(() => undefined); // awaited below; a failed expectation first must not leave it unhandled
    const connected = new Promise<void>((resolve) => c0.once('connected', () => resolve()));
    await connected;
    // Stalls of 1.5 intervals, each followed by one turn of the loop (poll: pings read and answered).
    for (let i = 0; i < 8; i++) {
      busy(1.5 * INTERVAL_MS);
      await turn();
    }
    // Then a calm stretch of a few intervals, in which a dead link would be judged.
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    expect(left).toEqual([]);
    expect(lost).toEqual([]);

    const c1 = client(1, [3, 4]);
    const [records] = await Promise.all([running, r0, c1.run()]);
    expect(records[0]!.outcome).toBe('completed');
    expect([...records[0]!.reported].sort()).toEqual(['p0', 'p1']);
  }, 30_000);
});
