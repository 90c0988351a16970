/**
 * A graceful stop mid-round says what happened: the round is recorded as interrupted, the detectors do not read
 * the shutdown as every participant dropping out (no critical "100 % dropped out" alert), and nobody is said to
 * have missed the end of a federation that did not end. Real loopback sockets and crypto, the fake model.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient } from '@fedwarden/client';
import { Coordinator, ephemeralIdentity, generateToken, hashToken, parseConfig, type RoundRecord } from '@fedwarden/coordinator';
import { createLogger } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { within } from './support/within.ts';

const DIM = 16;

let coordinator: Coordinator | undefined;
afterEach(async () => {
  await coordinator?.stop();
  coordinator = undefined;
});

describe('graceful stop mid-round', () => {
  it('records the round as interrupted and raises no dropout alert', async () => {
    const tokens = [generateToken(), generateToken(), generateToken()];
    const config = parseConfig({
      port: 0,
      operator: { enabled: false },
      participants: tokens.map((t, i) => ({ id: `p${i}`, tokenSha256: hashToken(t) })),
      rounds: { count: 3, minParticipants: 3, deadlineMs: 10_000 },
      aggregation: { strategy: 'fedavg' },
    });
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger('debug', { component: 'coordinator' }, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    coordinator = new Coordinator(config, ephemeralIdentity(), log);
    const port = await coordinator.listen();
    const records: RoundRecord[] = [];
    coordinator.on('round', (r) => records.push(r));
    const running = coordinator.run();

    // p0 uploads at once; p1 and p2 are still training when the coordinator is stopped.
    const clients = tokens.map(
      (token, i) =>
        new FederatedClient({
          url: `ws://127.0.0.1:${port}`,
          fingerprint: coordinator!.identity.fingerprint,
          token,
          model: new FakeModel(new Float32Array(DIM).fill(0.01), i === 0 ? 0 : 1_500),
          data: fakeData(10),
          reconnect: false,
        }),
    );
    const stopped = new Promise<void>((resolve) => clients[0]!.once('uploaded', () => void coordinator!.stop().then(resolve)));
    const ended = Promise.all(clients.map((c) => c.run().then(() => 'finished', (e: { code: string }) => e.code)));
    await within(20_000, 'coordinator to stop', stopped);
    expect(await within(10_000, 'participants to be closed', ended)).toEqual(['GOING_AWAY', 'GOING_AWAY', 'GOING_AWAY']);
    await running;

    expect(records).toHaveLength(1);
    const [record] = records as [RoundRecord];
    expect(record).toMatchObject({ round: 1, outcome: 'aborted', reason: 'coordinator stopping', alerts: [] });

    expect(lines.filter((l) => l.msg === 'alert')).toEqual([]);
    expect(lines.some((l) => l.detector !== undefined || /dropped out/.test(String(l.message ?? '')))).toBe(false);
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'round interrupted by shutdown', round: 1 }));
    // The federation did not end: nobody failed to confirm an end that never came.
    expect(await within(1_000, 'finishHeard', coordinator!.finishHeard(60_000))).toEqual([]);
  });
});
