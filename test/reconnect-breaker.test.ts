/**
 * The reconnect policy against real sockets, on an injected clock and sleep so that minutes of cool-down take
 * no time: the circuit breaker in front of a closed port, terminal errors that must not be retried, and a
 * close() that cuts a backoff short.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { generateToken, ephemeralIdentity } from '@fedwarden/coordinator';
import { FederatedClient, type ReconnectOptions } from '@fedwarden/client';
import { FedwardenError } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { startLinkProxy, type LinkProxy } from './support/link-proxy.ts';

let fed: TestFederation | undefined;
let proxy: LinkProxy | undefined;
let coordinatorRun: Promise<unknown> | undefined;

afterEach(async () => {
  await proxy?.close();
  await fed?.stop();
  await coordinatorRun;
  proxy = undefined;
  fed = undefined;
  coordinatorRun = undefined;
});

/** A loopback port with nothing listening on it (connections are refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A fake clock and a sleep that advances it at once (after letting pending I/O run), recording each wait. */
function fakeTime(onSleep: (ms: number, index: number) => Promise<void> | void = () => undefined) {
  let now = 0;
  const sleeps: number[] = [];
  const options: ReconnectOptions = {
    now: () => now,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
      await onSleep(ms, sleeps.length - 1);
      await new Promise((r) => setImmediate(r));
    },
  };
  return { options, sleeps };
}

function journal(client: FederatedClient): string[] {
  const log: string[] = [];
  client.on('reconnecting', (attempt, delay) => log.push(`reconnecting ${attempt} after ${delay}`));
  client.on('circuitOpen', (retryIn) => log.push(`circuitOpen ${retryIn}`));
  client.on('circuitHalfOpen', () => log.push('circuitHalfOpen'));
  client.on('circuitClosed', () => log.push('circuitClosed'));
  client.on('connected', () => log.push('connected'));
  client.on('reconnected', () => log.push('reconnected'));
  return log;
}

describe('circuit breaker against a closed port', () => {
  it('opens once attempts have failed for openAfterMs, holds them for a random period, and a half-open probe closes it when the coordinator is back', async () => {
    const port = await closedPort();
    const identity = ephemeralIdentity();
    const tokens = [generateToken()];
    // random() = 0.5: each open period is the middle of [openMs/2, openMs).
    const openMs = 60_000;
    const period = 45_000;
    // The coordinator comes back during the second open period.
    const time = fakeTime(async (_ms, index) => {
      if (index !== 6) return;
      fed = await startFederation(1, { port, rounds: { count: 1, minParticipants: 1 } }, { tokens, identity });
      coordinatorRun = fed.coordinator.run();
    });
    const client = new FederatedClient({
      url: `ws://127.0.0.1:${port}`,
      fingerprint: identity.fingerprint,
      token: tokens[0]!,
      model: new FakeModel(new Float32Array([1, -1])),
      data: fakeData(4),
      reconnect: { ...time.options, baseMs: 100, maxDelayMs: 1000, openAfterMs: 250, failureThreshold: 3, openMs },
    });
    const log = journal(client);
    const summary = await client.run();

    expect(log).toEqual([
      // Refused at once: the outage is young, so the ceiling stays at baseMs (the jitter draws its middle).
      'reconnecting 2 after 50',
      'reconnecting 3 after 50',
      'reconnecting 4 after 50',
      'reconnecting 5 after 50',
      'reconnecting 6 after 50',
      `circuitOpen ${period}`, // attempt 6 refused 250 ms after the first: failing for openAfterMs opens the breaker
      `reconnecting 7 after ${period}`, // nothing is tried until the open period is over
      'circuitHalfOpen', // one probe: still refused
      `circuitOpen ${period}`,
      `reconnecting 8 after ${period}`,
      'circuitHalfOpen', // the coordinator is back: the probe gets through
      'circuitClosed',
      'connected',
    ]);
    expect(time.sleeps).toEqual([50, 50, 50, 50, 50, period, period]);
    expect(summary.lastRound).toBe(1);
  });
});

describe('terminal errors', () => {
  async function attempt(options: { token?: string; fingerprint?: string }) {
    fed = await startFederation(1, { rounds: { count: 1, minParticipants: 1 } });
    proxy = await startLinkProxy(fed.coordinator.port);
    const time = fakeTime();
    const client = new FederatedClient({
      url: proxy.url,
      fingerprint: options.fingerprint ?? fed.fingerprint,
      token: options.token ?? fed.tokens[0]!,
      model: new FakeModel(new Float32Array(2)),
      data: fakeData(3),
      reconnect: { ...time.options, failureThreshold: 1 },
    });
    const log = journal(client);
    const error = await client.run().then(
      () => undefined,
      (e: unknown) => e,
    );
    return { error, log, sleeps: time.sleeps, connections: proxy.accepted };
  }

  it('a bad token is not retried', async () => {
    const { error, log, sleeps, connections } = await attempt({ token: 'not-a-real-token' });
    expect(error).toBeInstanceOf(FedwardenError);
    expect((error as FedwardenError).code).toBe('AUTH_FAILED');
    expect(connections).toBe(1);
    expect(sleeps).toEqual([]);
    expect(log).toEqual([]);
  });

  it('a coordinator key that does not match the pin is not retried', async () => {
    const { error, connections, sleeps } = await attempt({ fingerprint: ephemeralIdentity().fingerprint });
    expect((error as FedwardenError).code).toBe('FINGERPRINT_MISMATCH');
    expect(connections).toBe(1);
    expect(sleeps).toEqual([]);
  });
});

describe('options', () => {
  it('refuses bad reconnect or heartbeat options when the client is made, with BAD_CONFIG', () => {
    const base = { url: 'ws://127.0.0.1:1', fingerprint: 'ab'.repeat(32), token: 't', model: new FakeModel(new Float32Array(1)), data: fakeData(1) };
    for (const bad of [{ reconnect: { baseMs: -1 } }, { reconnect: { maxAttempts: 0 } }, { heartbeatTimeoutMs: -5 }, { heartbeatTimeoutMs: Number.NaN }]) {
      expect(() => new FederatedClient({ ...base, ...bad })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    }
    expect(() => new FederatedClient({ ...base, reconnect: false, heartbeatTimeoutMs: 0 })).not.toThrow();
  });
});

describe('close()', () => {
  /** A client of a coordinator that is not there (nothing listens on `port`). */
  const clientOf = (port: number, reconnect: ReconnectOptions | false) =>
    new FederatedClient({
      url: `ws://127.0.0.1:${port}`,
      fingerprint: ephemeralIdentity().fingerprint,
      token: 'unused',
      model: new FakeModel(new Float32Array(2)),
      data: fakeData(3),
      reconnect,
    });

  it('cuts a reconnect backoff short and ends run() with GOING_AWAY', async () => {
    const port = await closedPort();
    let sleeping: (() => void) | undefined;
    // A sleep that never ends by itself: only close() can end the wait.
    const client = clientOf(port, { sleep: () => new Promise<void>((r) => (sleeping = r)) });
    client.on('reconnecting', () => setImmediate(() => client.close()));
    const error = await client.run().catch((e: unknown) => e);
    expect((error as FedwardenError).code).toBe('GOING_AWAY');
    expect(sleeping).toBeDefined();
  });

  it('never reconnects when reconnect is false', async () => {
    const port = await closedPort();
    const client = clientOf(port, false);
    const log = journal(client);
    const error = await client.run().catch((e: unknown) => e);
    expect((error as FedwardenError).code).toBe('GOING_AWAY');
    expect(log).toEqual([]);
  });
});
