/**
 * Lost links over real loopback sockets: a coordinator restarted on the same port is reconnected to with
 * backoff, and a black-holed link (nothing forwarded, nothing closed) is found dead by both heartbeats.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient } from '@fedwarden/client';
import type { FedwardenError } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { startLinkProxy, type LinkProxy } from './support/link-proxy.ts';
import { until } from './support/until.ts';

const feds: TestFederation[] = [];
let proxy: LinkProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(feds.splice(0).map((f) => f.stop()));
});

const bounded = (ms = 10_000) => ({ signal: AbortSignal.timeout(ms) });

describe('reconnect after a coordinator restart', () => {
  it('reconnects to a new coordinator on the same port with backoff and completes the run', async () => {
    const first = await startFederation(1, { rounds: { count: 3, minParticipants: 1, deadlineMs: 10_000 } });
    feds.push(first);
    const maxDelayMs = 200;
    const client = new FederatedClient({
      url: first.url,
      fingerprint: first.fingerprint,
      token: first.tokens[0]!,
      model: new FakeModel(new Float32Array([0.5, -0.25, 0.125])),
      data: fakeData(8),
      reconnect: { baseMs: 20, maxDelayMs, maxAttempts: Infinity, failureThreshold: 1000 },
    });
    const lost: FedwardenError[] = [];
    const attempts: Array<[number, number]> = [];
    let reconnected = 0;
    client.on('disconnected', (e) => lost.push(e));
    client.on('reconnecting', (attempt, delayMs) => attempts.push([attempt, delayMs]));
    client.on('reconnected', () => reconnected++);
    // The operator stops the coordinator while round 2 is under way.
    let stopping: Promise<void> | undefined;
    client.on('stage', (round) => {
      if (round === 2 && !stopping) stopping = first.stop();
    });
    const running = client.run();
    const firstRecords = await first.coordinator.run();
    await stopping;
    feds.splice(feds.indexOf(first), 1);
    expect(firstRecords.map((r) => r.outcome)).toEqual(['completed', 'aborted']);

    // Nothing listens now: the client keeps trying, with growing, jittered, bounded delays.
    await until(() => attempts.length >= 3, 'failed reconnect attempts');
    const second = await startFederation(
      1,
      { port: first.coordinator.port, rounds: { count: 2, minParticipants: 1, deadlineMs: 10_000 } },
      { tokens: first.tokens, identity: first.coordinator.identity },
    );
    feds.push(second);
    const [records, summary] = await Promise.all([second.coordinator.run(), running]);

    expect(lost.map((e) => e.code)).toEqual(['GOING_AWAY']);
    expect(reconnected).toBe(1);
    expect(attempts.map(([a]) => a)).toEqual(attempts.map((_, i) => i + 1));
    for (const [, delay] of attempts) {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(maxDelayMs);
    }
    expect(records.map((r) => r.outcome)).toEqual(['completed', 'completed']);
    expect(records.every((r) => r.reported.includes('p0'))).toBe(true);
    expect(summary.lastRound).toBe(2);
    expect(summary.global).toEqual(second.coordinator.globalAdapter());
  });
});

describe('heartbeats on a black-holed link', () => {
  it('the coordinator ping and the client heartbeat both find the link dead; the client reconnects', async () => {
    const fed = await startFederation(2, {
      rounds: { count: 1, minParticipants: 2, deadlineMs: 10_000 },
      // The coordinator drops a peer whose pong is not back by the next ping; at 100 ms a stall of this
      // process on a loaded machine can drop a healthy link (seen in reconnect-resume). It still notices first.
      limits: { heartbeatIntervalMs: 300 },
    });
    feds.push(fed);
    proxy = await startLinkProxy(fed.coordinator.port);
    const running = fed.coordinator.run(); // waits for two participants: the link is idle but for pings
    const heartbeatTimeoutMs = 2_000;
    const c0 = new FederatedClient({
      url: proxy.url,
      fingerprint: fed.fingerprint,
      token: fed.tokens[0]!,
      model: new FakeModel(new Float32Array([1, 2])),
      data: fakeData(5),
      heartbeatTimeoutMs,
      reconnect: { baseMs: 20, maxDelayMs: 50 },
    });
    const missed: number[] = [];
    const lost: FedwardenError[] = [];
    c0.on('heartbeatMissed', (silentMs) => missed.push(silentMs));
    c0.on('disconnected', (e) => lost.push(e));
    const joined: string[] = [];
    const left: string[] = [];
    fed.coordinator.on('participantJoined', (id) => joined.push(id));
    fed.coordinator.on('participantLeft', (id) => left.push(id));

    const r0 = c0.run();
    await once(c0, 'connected', bounded());
    // Pings keep an idle link alive: well past the client's timeout, nothing is declared dead.
    await new Promise((r) => setTimeout(r, 2 * heartbeatTimeoutMs));
    expect(missed).toEqual([]);
    expect(left).toEqual([]);

    proxy.blackHole();
    await until(() => left.includes('p0'), 'the coordinator to drop p0');
    expect(missed).toEqual([]); // the coordinator, pinging every 300 ms, notices first
    await once(c0, 'reconnected', bounded());
    expect(missed).toHaveLength(1);
    expect(missed[0]).toBeGreaterThanOrEqual(heartbeatTimeoutMs);
    expect(lost.map((e) => e.code)).toEqual(['TIMEOUT']);
    await until(() => joined.filter((id) => id === 'p0').length === 2, 'p0 to rejoin');

    const c1 = new FederatedClient({
      url: fed.url,
      fingerprint: fed.fingerprint,
      token: fed.tokens[1]!,
      model: new FakeModel(new Float32Array([3, 4])),
      data: fakeData(5),
    });
    const [records, s0] = await Promise.all([running, r0, c1.run()]);
    expect(records[0]!.outcome).toBe('completed');
    expect([...records[0]!.reported].sort()).toEqual(['p0', 'p1']);
    expect(s0.lastRound).toBe(1);
    expect(proxy.accepted).toBe(2);
  });
});
