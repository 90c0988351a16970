/**
 * The operator listener over real loopback sockets: its own port, /healthz open, everything else behind the
 * operator bearer token (401 + WWW-Authenticate otherwise, unknown paths included), nothing operational left on
 * the participants' port, routes mounted behind the same token (a long-lived stream outlives the request timeout
 * and ends at stop()), a stalled request cut off, request targets that are not origin-form refused, a slowloris
 * held to its per-address share, and the listener's config (unset token, disabled, port in use).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator, ephemeralIdentity, generateOperatorToken, generateToken, hashToken, parseConfig, type OperatorRoute } from '@fedwarden/coordinator';
import { createLogger, silentLogger } from '@fedwarden/shared';
import { startFederation, whileStopping, type TestFederation } from './support/federation.ts';
import { within } from './support/within.ts';

let fed: TestFederation | undefined;
let blocker: Server | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
  await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
  blocker = undefined;
});

function operatorUrl(path: string): string {
  return `http://127.0.0.1:${fed!.coordinator.operatorPort}${path}`;
}

function participantsUrl(path: string): string {
  return `http://127.0.0.1:${fed!.coordinator.port}${path}`;
}

function withAuth(value: string): RequestInit {
  return { headers: { authorization: value } };
}

describe('operator listener: authentication', () => {
  it('listens on a port of its own and answers /healthz to anyone', async () => {
    fed = await startFederation(1);
    expect(fed.coordinator.operatorPort).toBeGreaterThan(0);
    expect(fed.coordinator.operatorPort).not.toBe(fed.coordinator.port);
    const health = await fetch(operatorUrl('/healthz'));
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('refuses /metrics and /readyz without a token, with a wrong one or a participant token: 401 with a Bearer challenge', async () => {
    fed = await startFederation(1);
    for (const path of ['/metrics', '/readyz']) {
      const none = await fetch(operatorUrl(path));
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="fedwarden operator"');
      expect(await none.text()).not.toMatch(/fedwarden_/);
      for (const bad of [`Bearer ${generateOperatorToken()}`, `Bearer ${fed.tokens[0]}`, `Basic ${Buffer.from(`x:${fed.operatorToken}`).toString('base64')}`, 'Bearer', `Bearer ${'x'.repeat(600)}`]) {
        const res = await fetch(operatorUrl(path), withAuth(bad));
        expect(res.status, `${path} with ${bad.slice(0, 12)}…`).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="fedwarden operator", error="invalid_token"');
      }
    }
    // A token in the query string is not a credential (it would end up in proxy and access logs).
    expect((await fetch(operatorUrl(`/metrics?access_token=${fed.operatorToken}`))).status).toBe(401);
    // Unknown paths look the same as known ones to a client without the token.
    expect((await fetch(operatorUrl('/no-such-path'))).status).toBe(401);

    const scrape = await fetch(operatorUrl('/metrics'), withAuth(`Bearer ${fed.operatorToken}`));
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toMatch(/^fedwarden_build_info\{/m);
    // The scheme is case-insensitive (RFC 7235).
    const ready = await fetch(operatorUrl('/readyz'), withAuth(`bearer ${fed.operatorToken}`));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    expect((await fed.operatorFetch('/no-such-path')).status).toBe(404);
    // Refusals are counted (never one series per client).
    const after = await (await fed.operatorFetch('/metrics')).text();
    expect(Number(/^fedwarden_operator_unauthorized_requests_total (\d+)$/m.exec(after)?.[1])).toBe(14);
  });

  it('answers a POST without a token with 401 and closes the connection instead of reading the body', async () => {
    fed = await startFederation(1);
    const res = await fetch(operatorUrl('/metrics'), { method: 'POST', body: 'x'.repeat(10_000) });
    expect(res.status).toBe(401);
    expect(res.headers.get('connection')).toBe('close');
  });
});

/** One request written as is (fetch would normalise the target), read until the server closes the connection. */
function rawRequest(port: number, head: string, localAddress = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.write(`${head}\r\nHost: coordinator\r\nConnection: close\r\n\r\n`);
  });
}

describe('operator listener: request targets', () => {
  it('answers only origin-form targets: //metrics, dot segments, absolute-form and OPTIONS * get 400 (or 401), never data', async () => {
    fed = await startFederation(1);
    const port = fed.coordinator.operatorPort;
    const auth = `Authorization: Bearer ${fed.operatorToken}`;
    const hostile = [
      'GET //metrics HTTP/1.1',
      'GET //x/metrics HTTP/1.1', // a URL parser reads host "x", path "/metrics"
      'GET /x/%2e%2e/metrics HTTP/1.1',
      'GET /x/%2E./metrics HTTP/1.1',
      'GET /x/../metrics HTTP/1.1',
      'GET /api/./state HTTP/1.1',
      `GET http://127.0.0.1:${port}/metrics HTTP/1.1`,
      'OPTIONS * HTTP/1.1',
    ];
    for (const line of hostile) {
      const [withToken, without] = await Promise.all([rawRequest(port, `${line}\r\n${auth}`), rawRequest(port, line)]);
      expect(withToken, line).toMatch(/^HTTP\/1\.1 400 /);
      expect(without, line).toMatch(/^HTTP\/1\.1 40[01] /);
      for (const answer of [withToken, without]) expect(answer, line).not.toMatch(/fedwarden_|"status"|"snapshot"|"rounds"/);
    }
    // The same routes, spelt plainly, still answer; a query is not part of the path.
    expect(await rawRequest(port, `GET /metrics?x=1 HTTP/1.1\r\n${auth}`)).toMatch(/^HTTP\/1\.1 200 [\s\S]*fedwarden_build_info/);
  });
});

describe('operator listener: slow clients', () => {
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });

  it('holds a slowloris to its per-address share: an authenticated /metrics from another address still succeeds', async () => {
    const token = generateOperatorToken();
    fed = await startFederation(1, { operator: { port: 0, tokenSha256: hashToken(token), maxConnections: 8, maxConnectionsPerAddress: 4 } });
    const port = fed.coordinator.operatorPort;
    // Twelve sockets from 127.0.0.1, each trickling headers and never the blank line: without a per-address
    // share they would take all eight slots.
    const closedAtOnce: boolean[] = [];
    await Promise.all(
      Array.from({ length: 12 }, () => {
        const socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' });
        sockets.push(socket);
        socket.on('error', () => undefined);
        return new Promise<void>((resolve) => {
          socket.on('connect', () => {
            socket.write('GET /metrics HTTP/1.1\r\nHost: coordinator\r\n');
            const timer = setTimeout(() => {
              closedAtOnce.push(false);
              resolve();
            }, 500);
            socket.once('close', () => {
              clearTimeout(timer);
              closedAtOnce.push(true);
              resolve();
            });
          });
        });
      }),
    );
    expect(closedAtOnce.filter((c) => !c)).toHaveLength(4);

    const scrape = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/metrics', localAddress: '127.0.0.2', headers: { authorization: `Bearer ${token}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(scrape.status).toBe(200);
    expect(scrape.body).toMatch(/^fedwarden_build_info\{/m);
    // And once the slow sockets go, their address may connect again.
    for (const s of sockets.splice(0)) s.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await rawRequest(port, `GET /healthz HTTP/1.1`)).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe("the participants' port", () => {
  it('no longer serves /metrics; /healthz and a reason-less /readyz remain for a load balancer', async () => {
    fed = await startFederation(1);
    for (const path of ['/metrics', '/metrics?x=1', '/', '/api/status']) {
      const res = await fetch(participantsUrl(path), withAuth(`Bearer ${fed.operatorToken}`));
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toMatch(/fedwarden_/);
    }
    const health = await fetch(participantsUrl('/healthz'));
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(participantsUrl('/readyz'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('says "not ready" without the reason once stop() begins', async () => {
    fed = await startFederation(1);
    await whileStopping(fed, async () => {
      const ready = await fetch(participantsUrl('/readyz'));
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'not ready' });
    });
    fed = undefined;
  });
});

describe('operator routes', () => {
  /** A route that opens a server-sent-events stream and keeps it open, as the dashboard's live updates do. */
  const stream: OperatorRoute = (req, res) => {
    if (req.url !== '/events') return false;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write('data: hello\n\n');
    return true;
  };
  const broken: OperatorRoute = (req) => {
    if (req.url !== '/broken') return false;
    throw new Error('route bug');
  };

  it('mounts routes behind the token; a long-lived response outlives the request timeout and ends at stop()', async () => {
    // The federation's own operator block, with a short request timeout (and so its own token).
    const token = generateOperatorToken();
    fed = await startFederation(
      1,
      { operator: { port: 0, tokenSha256: hashToken(token), requestTimeoutMs: 200 } },
      {},
      { operatorRoutes: [stream, broken] },
    );
    const port = fed.coordinator.operatorPort;
    expect((await fetch(operatorUrl('/events'))).status).toBe(401);
    expect((await fetch(operatorUrl('/broken'), withAuth(`Bearer ${token}`))).status).toBe(500);

    let received = '';
    let ended = false;
    const done = new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/events', headers: { authorization: `Bearer ${token}` } }, (res) => {
        expect(res.statusCode).toBe(200);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (received += chunk));
        res.on('close', () => {
          ended = true;
          resolve();
        });
      });
      req.on('error', reject);
      req.end();
    });
    // Well past requestTimeoutMs (and Node's check interval): only receiving a request is timed, never the response.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(received).toBe('data: hello\n\n');
    expect(ended).toBe(false);
    const stopped = fed.stop();
    fed = undefined;
    await within(10_000, 'the stream to end at stop()', done);
    await stopped;
  });

  it('cuts off a client that never finishes its request', async () => {
    fed = await startFederation(1, { operator: { port: 0, requestTimeoutMs: 200 } });
    const socket = connect(fed.coordinator.operatorPort, '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('GET /metrics HTTP/1.1\r\nHost: coordinator\r\n'); // and never the blank line
    await within(10_000, 'the stalled request to be closed', closed);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe('operator listener: configuration', () => {
  const base = () => {
    const tokens = [generateToken()];
    return { port: 0, logLevel: 'silent' as const, participants: tokens.map((t, i) => ({ id: `p${i}`, tokenSha256: hashToken(t) })), rounds: { minParticipants: 1 } };
  };

  it('without a token it answers only /healthz and warns at start, naming the command that mints one', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger('info', { component: 'coordinator' }, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    const coordinator = new Coordinator(parseConfig({ ...base(), operator: { port: 0 } }), ephemeralIdentity(), log);
    try {
      await coordinator.listen();
      const url = (path: string) => `http://127.0.0.1:${coordinator.operatorPort}${path}`;
      expect((await fetch(url('/healthz'))).status).toBe(200);
      expect((await fetch(url('/metrics'), withAuth(`Bearer ${generateOperatorToken()}`))).status).toBe(401);
      expect(lines.find((l) => l.msg === 'operator listening')).toMatchObject({ host: '127.0.0.1', port: coordinator.operatorPort, auth: 'no token configured' });
      expect(lines.some((l) => l.level === 'warn' && String(l.msg).includes('fedwarden token --operator'))).toBe(true);
    } finally {
      await coordinator.stop();
    }
  });

  it('can be disabled', async () => {
    const coordinator = new Coordinator(parseConfig({ ...base(), operator: { enabled: false } }), ephemeralIdentity(), silentLogger);
    try {
      const port = await coordinator.listen();
      expect(port).toBeGreaterThan(0);
      expect(coordinator.operatorPort).toBe(0);
    } finally {
      await coordinator.stop();
    }
  });

  it('fails to listen with BAD_CONFIG naming operator.port when the port is taken, and leaves no listener behind', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    const coordinator = new Coordinator(parseConfig({ ...base(), operator: { port: taken } }), ephemeralIdentity(), silentLogger);
    try {
      await expect(coordinator.listen()).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringContaining('operator.port') as unknown });
      expect(coordinator.readiness()).toEqual({ ready: false, reason: 'not listening' });
    } finally {
      await coordinator.stop();
    }
  });

  it('refuses a config that puts the operator listener on the participants\' port', () => {
    expect(() => parseConfig({ port: 9000, operator: { port: 9000 } })).toThrow(/operator\.port 9000 is the participants' port/);
    expect(parseConfig({ port: 9000, operator: { enabled: false, port: 9000 } }).operator.enabled).toBe(false);
    expect(parseConfig({}).operator).toEqual({ enabled: true, host: '127.0.0.1', port: 8788, maxConnections: 64, maxConnectionsPerAddress: 16, requestTimeoutMs: 5_000 });
  });
});
