/**
 * /metrics, /healthz and /readyz over HTTP on the operator listener (with the operator token), after short real
 * federations: the counters match what happened (rounds, refusals by code, bytes, stage timings, dropouts), the
 * exposition is Prometheus text with its content type, and /readyz turns 503 as soon as stop() begins. The
 * operator listener's own tests (auth, the participants' port): operator-listener.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient } from '@fedwarden/client';
import type { RoundRecord } from '@fedwarden/coordinator';
import { createRng } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, whileStopping, type TestFederation } from './support/federation.ts';
import { RawPeer } from './support/raw-peer.ts';

let fed: TestFederation | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
});

/** A request to the operator listener with the operator token. */
function operator(path: string, init?: RequestInit): Promise<Response> {
  return fed!.operatorFetch(path, init);
}

/** Prometheus text format → sample name with labels (as written) → value. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

async function scrape(): Promise<{ contentType: string; samples: Map<string, number>; text: string }> {
  const res = await operator('/metrics');
  expect(res.status).toBe(200);
  const text = await res.text();
  return { contentType: res.headers.get('content-type') ?? '', samples: parseExposition(text), text };
}

function sample(samples: Map<string, number>, name: string): number {
  const value = samples.get(name);
  if (value === undefined) throw new Error(`metric sample ${name} missing`);
  return value;
}

function distinctSteps(n: number, dim: number): Float32Array[] {
  const rng = createRng(3);
  return Array.from({ length: n }, () => Float32Array.from({ length: dim }, () => rng.next() - 0.5));
}

describe('/metrics', () => {
  it('counts rounds, refusals by code, bytes and stage timings of a trusted federation', async () => {
    fed = await startFederation(3, { rounds: { count: 2, minParticipants: 2, quorum: 0.5, deadlineMs: 10_000 } });
    const federation = fed;
    const records: RoundRecord[] = [];
    federation.coordinator.on('round', (r) => records.push(r));

    // A refused frame before the federation starts: a text frame (UNSUPPORTED).
    const hostile = await RawPeer.connect(federation.url);
    hostile.ws.send('hello?');
    await hostile.closed;

    // p2 drops out in round 1 (it joins, then leaves once the round has started), so round 1 has a dropout.
    const dropper = await RawPeer.connect(federation.url);
    await dropper.join(federation.fingerprint, federation.tokens[2]!, new FakeModel(new Float32Array(8)).manifest);
    const steps = distinctSteps(2, 8);
    const clients = steps.map(
      (step, i) => new FederatedClient({ url: federation.url, fingerprint: federation.fingerprint, token: federation.tokens[i]!, model: new FakeModel(step), data: fakeData(5) }),
    );
    const dropped = dropper.next('roundStart').then(() => dropper.ws.close());
    await Promise.all([federation.coordinator.run(), ...clients.map((c) => c.run()), dropped]);

    // The process CPU counter counts from the first coordinator of this process, so it holds at least the CPU
    // time spent since this federation started; the kernel accounts CPU time in ticks, so a short federation may
    // not have advanced it. Spend a measured amount (bounded in wall time) that the counter must include.
    const cpuBefore = process.cpuUsage().user;
    const spinUntil = Date.now() + 2_000;
    while (process.cpuUsage().user - cpuBefore < 20_000 && Date.now() < spinUntil) Math.sqrt(Math.random());
    const cpuSpent = (process.cpuUsage().user - cpuBefore) / 1e6;

    const { contentType, samples, text } = await scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toMatch(/^# HELP fedwarden_rounds_total /m);

    const outcomes = (o: string) => records.filter((r) => r.outcome === o).length;
    expect(sample(samples, 'fedwarden_rounds_total{outcome="completed"}')).toBe(outcomes('completed'));
    expect(sample(samples, 'fedwarden_rounds_total{outcome="aborted"}')).toBe(outcomes('aborted'));
    expect(outcomes('completed')).toBeGreaterThan(0);
    expect(sample(samples, 'fedwarden_last_round')).toBe(records.at(-1)!.round);
    expect(sample(samples, 'fedwarden_dropouts_total')).toBe(records.reduce((s, r) => s + r.dropped.length, 0));
    expect(records[0]!.dropped).toEqual(['p2']);
    expect(sample(samples, 'fedwarden_update_bytes_total')).toBe(records.reduce((s, r) => s + r.uploadBytes, 0));
    expect(sample(samples, 'fedwarden_participants_joined_total')).toBe(3);
    // Everyone who joined has left or is still connected (finished participants leave on their own).
    expect(sample(samples, 'fedwarden_participants_left_total')).toBe(3 - sample(samples, 'fedwarden_participants_connected'));

    // The refused text frame, by its stable code; codes that did not occur are exported as 0.
    expect(sample(samples, 'fedwarden_rejections_total{code="UNSUPPORTED"}')).toBe(1);
    expect(sample(samples, 'fedwarden_rejections_total{code="RATE_LIMITED"}')).toBe(0);
    expect(sample(samples, 'fedwarden_connections_closed_total{close_code="1003"}')).toBe(1);

    // Wire bytes both ways: at least every update frame in, and a serverHello per connection out.
    expect(sample(samples, 'fedwarden_received_bytes_total')).toBeGreaterThan(sample(samples, 'fedwarden_update_bytes_total'));
    expect(sample(samples, 'fedwarden_sent_bytes_total')).toBeGreaterThan(4 * 1218);

    for (const stage of ['round', 'collection']) {
      expect(sample(samples, `fedwarden_stage_duration_seconds_count{stage="${stage}"}`), stage).toBe(records.length);
    }
    expect(sample(samples, 'fedwarden_stage_duration_seconds_count{stage="aggregation"}')).toBe(outcomes('completed'));
    const roundSeconds = records.reduce((s, r) => s + r.durationMs / 1000, 0);
    expect(sample(samples, 'fedwarden_stage_duration_seconds_sum{stage="round"}')).toBeCloseTo(roundSeconds, 6);

    const alerts = new Map<string, number>();
    for (const a of records.flatMap((r) => r.alerts)) {
      const key = `fedwarden_alerts_total{detector="${a.detector}",severity="${a.severity}"}`;
      alerts.set(key, (alerts.get(key) ?? 0) + 1);
    }
    for (const [key, n] of alerts) expect(sample(samples, key), key).toBe(n);
    // The built-in detectors' series exist from the start; those without an alert are 0.
    const others = [...samples].filter(([k]) => k.startsWith('fedwarden_alerts_total') && !alerts.has(k));
    expect(others.length).toBeGreaterThanOrEqual(6 - alerts.size);
    for (const [key, n] of others) expect(n, key).toBe(0);

    // Process metrics come along, once, under prom-client's standard names.
    expect(cpuSpent).toBeGreaterThan(0);
    expect(sample(samples, 'process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(cpuSpent);
    expect(text.match(/^# TYPE process_cpu_user_seconds_total /gm)).toHaveLength(1);
  });

  it('times every secure-aggregation stage of every group', async () => {
    const n = 3;
    fed = await startFederation(n, {
      privacy: 'secagg',
      secagg: { groupSize: n, stageTimeoutMs: 5_000 },
      rounds: { count: 1, minParticipants: n, quorum: 0.5, deadlineMs: 10_000 },
    });
    const federation = fed;
    const clients = distinctSteps(n, 16).map(
      (step, i) => new FederatedClient({ url: federation.url, fingerprint: federation.fingerprint, token: federation.tokens[i]!, model: new FakeModel(step), data: fakeData(5) }),
    );
    const [records] = await Promise.all([federation.coordinator.run(), ...clients.map((c) => c.run())]);
    expect(records[0]!.outcome).toBe('completed');
    const { samples } = await scrape();
    for (const stage of ['keys', 'encaps', 'shares', 'masked', 'unmask']) {
      expect(sample(samples, `fedwarden_stage_duration_seconds_count{stage="secagg_${stage}"}`), stage).toBe(1);
    }
    expect(sample(samples, 'fedwarden_secagg_protocol_seconds_total')).toBeCloseTo(records[0]!.protocolMs / 1000, 6);
    expect(sample(samples, 'fedwarden_update_bytes_total')).toBe(records[0]!.uploadBytes);
    expect(records[0]!.uploadBytes).toBeGreaterThan(0);
  });
});

describe('/healthz and /readyz', () => {
  it('answers healthz and readyz while serving, 405 for other methods, and leaves other paths alone', async () => {
    fed = await startFederation(1);
    const health = await operator('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await operator('/readyz?probe=1');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    const head = await operator('/metrics', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await operator('/metrics', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await operator('/metrics/extra')).status).toBe(404);
  });

  it('turns /readyz to 503 with a reason as soon as stop() begins, while /healthz still answers', async () => {
    fed = await startFederation(1);
    await whileStopping(fed, async () => {
      const ready = await operator('/readyz');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'not ready', reason: 'shutting down' });
      expect((await operator('/healthz')).status).toBe(200);
    });
    fed = undefined;
  });
});
