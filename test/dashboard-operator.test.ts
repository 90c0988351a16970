/**
 * The dashboard as the coordinator mounts it on its operator listener (real sockets, a real federation of fake
 * models): the page is public (it holds no data), its API needs the operator token, and the event stream follows
 * the federation from the first stage to the last round, then ends when the coordinator stops.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, type DashboardEvent, type DashboardSnapshot } from '@fedwarden/coordinator';
import { eventReader } from '../coordinator/src/operator/dashboard/test-support.ts';
import { fakeClients, startFederation, type TestFederation } from './support/federation.ts';

let fed: TestFederation | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
});

describe('dashboard on the operator listener', () => {
  it('serves the page to anyone and the data only with the operator token', async () => {
    fed = await startFederation(2);
    const base = `http://127.0.0.1:${fed.coordinator.operatorPort}`;
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(await page.text()).toContain('<title>fedwarden dashboard</title>');
    expect((await fetch(`${base}/dashboard/vendor/uPlot.iife.min.js`)).status).toBe(200);
    for (const path of ['/api/state', '/api/events']) {
      const refused = await fetch(base + path);
      expect(refused.status, path).toBe(401);
      expect(refused.headers.get('www-authenticate'), path).toMatch(/^Bearer /);
    }
    const state = await fed.operatorFetch('/api/state');
    expect(state.status).toBe(200);
    const snapshot = (await state.json()) as DashboardSnapshot;
    expect(snapshot.federation).toEqual({ privacy: 'trusted', rounds: 2, strategy: 'fedavg', evaluator: false });
    expect(snapshot.status).toMatchObject({ round: 1, stage: 'waiting', connected: 0, deadline: null });
    expect(snapshot.reputation.map((r) => r.id)).toEqual(['p0', 'p1']);
    expect(snapshot.audit?.seq).toBeGreaterThan(0);
    expect(snapshot.tracked).toEqual([]); // the alerting subsystem's alerts: none has fired yet
  });

  it("shows a secure-aggregation round's groups, their members and outcome", { timeout: 60_000 }, async () => {
    fed = await startFederation(6, { privacy: 'secagg', secagg: { groupSize: 3, stageTimeoutMs: 5_000 }, rounds: { count: 1, minParticipants: 6, deadlineMs: 10_000 } });
    const clients = fakeClients(fed, [0, 1, 2, 3, 4, 5].map((i) => Float32Array.from([0.1 * i, -0.2, 0.3])));
    await Promise.all([fed.coordinator.run(), ...clients.map((c) => c.run())]);
    const snapshot = (await (await fed.operatorFetch('/api/state')).json()) as DashboardSnapshot;
    expect(snapshot.federation.privacy).toBe('secagg');
    const groups = snapshot.rounds[0]!.groups;
    expect(groups.map((g) => [g.id, g.outcome, g.contributors, g.members.length])).toEqual([
      ['group-1', 'kept', 3, 3],
      ['group-2', 'kept', 3, 3],
    ]);
    expect(groups.flatMap((g) => g.members).sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
  });

  it('streams the federation: arrivals, stages with the training deadline, each round, then the end', { timeout: 60_000 }, async () => {
    fed = await startFederation(2);
    const res = await fed.operatorFetch('/api/events');
    expect(res.status).toBe(200);
    const next = eventReader(res.body!);
    expect((await next())?.type).toBe('snapshot');

    const clients = fakeClients(fed, [Float32Array.from([0.1, -0.2, 0.3]), Float32Array.from([0.2, -0.1, 0.3])]);
    const runs = clients.map((c) => c.run());
    const records = await fed.coordinator.run();
    await Promise.all(runs);
    const stopped = fed.stop();

    const events: DashboardEvent[] = [];
    for (let e = await next(); e !== undefined; e = await next()) events.push(e);
    await stopped;
    fed = undefined;

    const rounds = events.flatMap((e) => (e.type === 'round' ? [e.round] : []));
    expect(rounds.map((r) => [r.round, r.outcome, r.selected, r.contributed, r.dropped])).toEqual(records.map((r) => [r.round, 'completed', 2, 2, 0]));
    expect(rounds.every((r) => r.connected === 2)).toBe(true);
    const statuses = events.flatMap((e) => (e.type === 'status' ? [e] : []));
    const stages = statuses.map((e) => `${e.status.round}:${e.status.stage}`);
    // Coalesced, so not every stage has an event of its own; the last word is that the federation finished.
    expect(stages.at(-1)).toBe('2:finished');
    expect(statuses.flatMap((e) => e.presence.filter((p) => p.online).map((p) => p.id)).sort()).toEqual(['p0', 'p1']);
    const training = statuses.find((e) => e.status.stage === 'training');
    if (training) expect(training.status.deadline! - training.status.since).toBe(10_000);
    const lastRound = events.filter((e) => e.type === 'round').at(-1);
    expect(lastRound?.type === 'round' && lastRound.reputation.every((r) => r.participations === 2)).toBe(true);
  });
});
