/**
 * Lock-out resistance over real loopback sockets (issue 13, item 8): a slowloris attacker that keeps stalled
 * sockets open — silent TCP, upgrade requests whose headers never end, WebSocket handshakes never answered —
 * from one address or from many (127.0.0.2… act as separate hosts), reopening each as soon as it is closed,
 * while enrolled participants join and complete a round. Admission (coordinator/src/net/admission.ts) keeps a
 * per-address quota, a share of maxConnections for authenticated participants, and lets a newcomer displace a
 * socket that has stalled; sockets that never finish their upgrade are answered 408 and closed. Behind a trusted
 * reverse proxy (a small forwarding proxy here), the per-address quota applies to the client X-Forwarded-For names.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient, type ClientSummary } from '@fedwarden/client';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { Slowloris } from './support/slowloris.ts';
import { within } from './support/within.ts';

let fed: TestFederation | undefined;
let attacker: Slowloris | undefined;
let proxy: Server | undefined;
afterEach(async () => {
  attacker?.stop();
  attacker = undefined;
  if (proxy) await new Promise((resolve) => proxy!.close(resolve));
  proxy = undefined;
  await fed?.stop();
  fed = undefined;
});

function participant(f: TestFederation, i: number): FederatedClient {
  return new FederatedClient({ url: f.url, fingerprint: f.fingerprint, token: f.tokens[i]!, model: new FakeModel(Float32Array.of(1, 2, 3, i)), data: fakeData(5) });
}

async function rejections(f: TestFederation): Promise<Map<string, number>> {
  const text = await (await f.operatorFetch('/metrics')).text();
  return new Map([...text.matchAll(/^fedwarden_rejections_total\{code="([A-Z_]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** fedwarden_admission_sockets by stage. */
async function admissionSockets(f: TestFederation): Promise<Record<string, number>> {
  const text = await (await f.operatorFetch('/metrics')).text();
  return Object.fromEntries([...text.matchAll(/^fedwarden_admission_sockets\{stage="([a-z-]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

const NO_SOCKETS = { 'pre-upgrade': 0, unauthenticated: 0, authenticated: 0 };

/**
 * A reverse proxy in the manner of nginx: it reads a request's headers in full before it connects upstream (from
 * `from`), appends the peer's address to X-Forwarded-For ($proxy_add_x_forwarded_for), then relays bytes both ways.
 */
async function forwardingProxy(upstreamPort: number, from: string): Promise<{ server: Server; port: number }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.once('close', () => sockets.delete(client));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const forwarded = lines.filter((l) => /^x-forwarded-for:/i.test(l)).map((l) => l.slice(l.indexOf(':') + 1).trim());
      const request = [...lines.filter((l) => !/^x-forwarded-for:/i.test(l)), `X-Forwarded-For: ${[...forwarded, client.remoteAddress].join(', ')}`].join('\r\n');
      const upstream = connect({ port: upstreamPort, host: '127.0.0.1', localAddress: from });
      sockets.add(upstream);
      upstream.on('error', () => undefined);
      upstream.write(Buffer.concat([Buffer.from(`${request}\r\n\r\n`, 'latin1'), head.subarray(end + 4)]));
      client.pipe(upstream).pipe(client);
      upstream.once('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      client.once('close', () => upstream.destroy());
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as typeof server.close;
  return { server, port: (server.address() as { port: number }).port };
}

describe('a slowloris attacker at the limit', () => {
  it('from many addresses, holding the whole unauthenticated room, does not keep enrolled participants out', async () => {
    // 24 sockets in all, 12 of them kept for authenticated participants; at most 4 unauthenticated per address.
    // The upgrade and handshake timeouts are a minute, so that no stalled socket is freed by a timeout while
    // the participants join: they get in only by displacing the attacker's sockets. (No socket of the attacker's
    // times out, so none is held against its address: only the fair-share rule keeps it from renewing the room.)
    const limits = { maxConnections: 24, reservedShare: 0.5, maxUnauthenticatedPerAddress: 4, displaceAfterMs: 1_000, upgradeTimeoutMs: 60_000, handshakeTimeoutMs: 60_000 };
    fed = await startFederation(3, { rounds: { count: 1, minParticipants: 3, deadlineMs: 30_000 }, limits });
    const run = fed.coordinator.run();
    const first = participant(fed, 0);
    const firstRun = first.run();
    await within(20_000, 'the first participant to join', new Promise((resolve) => first.once('connected', resolve)));

    // Six addresses × 4 stalled sockets: twice the unauthenticated room (12).
    const addresses = Array.from({ length: 6 }, (_, i) => `127.0.0.${i + 2}`);
    // Its budget of opens outlasts the test (asserted below), so that it holds the room all along.
    const maxOpens = 200_000;
    attacker = new Slowloris({ port: fed.coordinator.port, addresses, perAddress: 4, maxOpens });
    attacker.start();
    await expect.poll(() => attacker!.held, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(12);
    // Into its steady state: its sockets old enough to be displaced, its refused half reopening every 20 ms.
    await new Promise((r) => setTimeout(r, 1_500));
    await expect.poll(() => attacker!.held, { timeout: 20_000, interval: 20 }).toBeGreaterThanOrEqual(12);

    // Two more participants join while it holds the room, and the round completes with all three.
    const late = [participant(fed, 1), participant(fed, 2)];
    const summaries: ClientSummary[] = await within(45_000, 'every participant to finish', Promise.all([firstRun, ...late.map((c) => c.run())]));
    const [record] = await within(10_000, 'the round', run);
    expect(record).toMatchObject({ outcome: 'completed' });
    expect([...record!.reported].sort()).toEqual(['p0', 'p1', 'p2']);
    expect(summaries.map((s) => s.lastRound)).toEqual([1, 1, 1]);

    // The attacker was refused or displaced (FULL), and kept trying all along.
    const refused = await rejections(fed);
    expect(refused.get('FULL')).toBeGreaterThan(0);
    expect(attacker.opened).toBeGreaterThan(24);
    expect(attacker.opened).toBeLessThan(maxOpens);
    expect(attacker.held).toBeGreaterThanOrEqual(8); // still holding most of the room at the end

    // Once everyone is gone, no socket is left counted at any stage.
    attacker.stop();
    await expect.poll(() => admissionSockets(fed!), { timeout: 10_000, interval: 100 }).toEqual(NO_SOCKETS);
  });

  it('from one address, gets no more than its quota (RATE_LIMITED beyond it, answered in HTTP with the code)', async () => {
    // Displacing takes a minute here, so that every socket beyond the quota is refused.
    fed = await startFederation(2, { rounds: { count: 1, minParticipants: 2, deadlineMs: 30_000 }, limits: { maxConnections: 40, maxUnauthenticatedPerAddress: 4, displaceAfterMs: 60_000 } });
    const run = fed.coordinator.run();
    const maxOpens = 50_000;
    attacker = new Slowloris({ port: fed.coordinator.port, addresses: ['127.0.0.2'], perAddress: 30, kinds: ['silent', 'partial-upgrade'], maxOpens, reopenDelayMs: 100 });
    attacker.start();
    await expect.poll(() => attacker!.answers.get('HTTP/1.1 429 Too Many Requests') ?? 0, { timeout: 20_000 }).toBeGreaterThanOrEqual(20);
    // What it holds (its view lags the coordinator's answers by a moment) settles at its quota.
    await expect.poll(() => attacker!.held, { timeout: 20_000, interval: 20 }).toBeLessThanOrEqual(4);

    const clients = [participant(fed, 0), participant(fed, 1)];
    await within(60_000, 'both participants to finish', Promise.all(clients.map((c) => c.run())));
    expect((await within(10_000, 'the round', run)).map((r) => r.outcome)).toEqual(['completed']);
    expect((await rejections(fed)).get('RATE_LIMITED')).toBeGreaterThanOrEqual(20);
    expect(attacker.opened).toBeLessThan(maxOpens);
    attacker.stop();
    await expect.poll(() => admissionSockets(fed!), { timeout: 10_000, interval: 100 }).toEqual(NO_SOCKETS);
  });

  it('behind a trusted proxy, is held to its own quota by X-Forwarded-For, which it cannot forge, while participants join', async () => {
    // The proxy connects from 127.0.0.9, the only trusted address. Displacing takes a minute here.
    fed = await startFederation(2, {
      rounds: { count: 1, minParticipants: 2, deadlineMs: 30_000 },
      limits: { maxConnections: 40, maxUnauthenticatedPerAddress: 2, displaceAfterMs: 60_000, trustedProxies: ['127.0.0.9'] },
    });
    const run = fed.coordinator.run();
    const front = await forwardingProxy(fed.coordinator.port, '127.0.0.9');
    proxy = front.server;
    // Stalled WebSocket handshakes from 127.0.0.2 through the proxy, each claiming another client in its own
    // X-Forwarded-For (the proxy appends the real one).
    attacker = new Slowloris({
      port: front.port,
      addresses: ['127.0.0.2'],
      perAddress: 10,
      kinds: ['stalled-handshake'],
      maxOpens: 50_000,
      reopenDelayMs: 100,
      headers: { 'X-Forwarded-For': '192.0.2.1' },
    });
    attacker.start();
    // Beyond 2, its sockets are closed with RATE_LIMITED (4011) once re-keyed at upgrade.
    await expect.poll(() => attacker!.answers.get('close 4011') ?? 0, { timeout: 20_000 }).toBeGreaterThanOrEqual(16);
    await expect.poll(() => attacker!.held, { timeout: 20_000, interval: 20 }).toBeLessThanOrEqual(2);

    // Participants come through the same proxy from 127.0.0.1: another client, with a quota of its own.
    const viaProxy = { ...fed, url: `ws://127.0.0.1:${front.port}` };
    const clients = [participant(viaProxy, 0), participant(viaProxy, 1)];
    await within(60_000, 'both participants to finish', Promise.all(clients.map((c) => c.run())));
    expect((await within(10_000, 'the round', run)).map((r) => r.outcome)).toEqual(['completed']);
    expect(attacker.opened).toBeLessThan(50_000);
    attacker.stop();
    await expect.poll(() => admissionSockets(fed!), { timeout: 10_000, interval: 100 }).toEqual(NO_SOCKETS);
  });
});

describe('sockets that never finish their upgrade', () => {
  it('are answered 408 TIMEOUT and closed after upgradeTimeoutMs, a header dribble notwithstanding', async () => {
    fed = await startFederation(1, { limits: { upgradeTimeoutMs: 1_000 } });
    const port = fed.coordinator.port;
    const answer = (dribble: boolean) =>
      new Promise<{ text: string; ms: number }>((resolve) => {
        const t0 = performance.now();
        const socket = connect(port, '127.0.0.1');
        let text = '';
        let timer: NodeJS.Timeout | undefined;
        socket.on('error', () => undefined);
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        socket.once('close', () => {
          clearInterval(timer);
          resolve({ text, ms: performance.now() - t0 });
        });
        if (dribble) {
          socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
          timer = setInterval(() => socket.write('X-Slow: 1\r\n'), 200);
        }
      });
    const [silent, dribbling] = await within(20_000, 'both sockets to be closed', Promise.all([answer(false), answer(true)]));
    for (const { text, ms } of [silent, dribbling]) {
      expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(text).toMatch(/\r\nx-fedwarden-error: TIMEOUT\r\n/);
      expect(text).toMatch(/\r\n\r\nTIMEOUT: no WebSocket upgrade within 1000 ms\n$/);
      expect(ms).toBeGreaterThanOrEqual(900); // not before its time (the upper bound is the test's timeout)
    }
    expect((await rejections(fed)).get('TIMEOUT')).toBe(2);
  });
});
