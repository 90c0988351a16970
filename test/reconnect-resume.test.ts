/**
 * Session resume over real loopback sockets: a participant whose link dies during a round reconnects and,
 * where the stage allows, finishes that round without retraining; the coordinator counts its update once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient, type FederatedClientOptions, type LabeledData, type TrainProgress, type TrainResult } from '@fedwarden/client';
import type { FedwardenError } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { startLinkProxy, type LinkProxy } from './support/link-proxy.ts';

let fed: TestFederation | undefined;
let proxy: LinkProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await fed?.stop();
  proxy = undefined;
  fed = undefined;
});

const DIM = 6;

/*
 * Heartbeat timings with room for a loaded machine. Coordinator and clients share this process, so one
 * synchronous stretch (secure-aggregation crypto while other jobs hold the CPU) delays pings and pongs alike.
 * The coordinator terminates a participant whose pong is not back by its next ping: at a 100 ms interval, one
 * such stretch under two CPU hogs terminated all five healthy links at once, and p0 reconnected twice. Only
 * the black hole should end a link here; the client still finds it by its own heartbeat (3 pings missed).
 */
const HEARTBEAT_INTERVAL_MS = 1_000;
const HEARTBEAT_TIMEOUT_MS = 3_000;

/** A FakeModel that trains only once `gate` resolves: holds a round open without guessing at timings. */
class GatedModel extends FakeModel {
  constructor(
    step: Float32Array,
    private readonly gate: Promise<unknown>,
  ) {
    super(step);
  }

  override async *train(data: LabeledData): AsyncGenerator<TrainProgress, TrainResult, void> {
    await this.gate;
    return yield* super.train(data);
  }
}

function step(seed: number): Float32Array {
  return Float32Array.from({ length: DIM }, (_, i) => (seed + 1) * 0.01 * (i + 1) * (i % 2 === 0 ? 1 : -1));
}

/** Record every resilience event a client emits, in order. */
function journal(client: FederatedClient) {
  const log: string[] = [];
  const errors: FedwardenError[] = [];
  client.on('heartbeatMissed', () => log.push('heartbeatMissed'));
  client.on('disconnected', (e) => {
    errors.push(e);
    log.push(`disconnected:${e.code}`);
  });
  client.on('reconnecting', (attempt) => log.push(`reconnecting:${attempt}`));
  client.on('reconnected', () => log.push('reconnected'));
  client.on('uploaded', (round) => log.push(`uploaded:${round}`));
  client.on('uploadRetried', (round) => log.push(`uploadRetried:${round}`));
  client.on('acknowledged', (round) => log.push(`acknowledged:${round}`));
  return { log, errors };
}

/**
 * Two participants in trusted mode; p0 goes through a proxy whose link fails (`direction`) as p0 starts
 * training, and p1 trains only after p0's update is acknowledged, so the round is still collecting when p0
 * comes back.
 */
async function roundWithBrokenLink(direction: 'both' | 'down') {
  fed = await startFederation(2, {
    rounds: { count: 1, minParticipants: 2, deadlineMs: 20_000 },
    limits: { heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS },
  });
  proxy = await startLinkProxy(fed.coordinator.port);
  const common = { fingerprint: fed.fingerprint, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, reconnect: { baseMs: 20, maxDelayMs: 100 } } as const;
  const model0 = new FakeModel(step(0));
  const c0 = new FederatedClient({ ...common, url: proxy.url, token: fed.tokens[0]!, model: model0, data: fakeData(10) } satisfies FederatedClientOptions);
  const p0Acknowledged = new Promise((resolve) => c0.once('acknowledged', resolve));
  const model1 = new GatedModel(step(1), p0Acknowledged);
  const c1 = new FederatedClient({ ...common, url: fed.url, token: fed.tokens[1]!, model: model1, data: fakeData(30) });
  const events = journal(c0);
  let broken = false;
  c0.on('stage', (_round, stage) => {
    if (stage === 'train' && !broken) {
      broken = true;
      proxy!.blackHole(direction);
    }
  });
  const [records, s0, s1] = await Promise.all([fed.coordinator.run(), c0.run(), c1.run()]);
  const expected = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) expected[i] = (10 * step(0)[i]! + 30 * step(1)[i]!) / 40;
  return { record: records[0]!, s0, s1, model0, events, expected, global: fed.coordinator.globalAdapter()! };
}

describe('session resume (trusted mode)', () => {
  it('re-uploads an update lost with the link once, without retraining, and the round counts it once', async () => {
    const { record, s0, s1, model0, events, expected, global } = await roundWithBrokenLink('both');
    expect(events.log).toContain('heartbeatMissed');
    expect(events.errors.map((e) => e.code)).toEqual(['TIMEOUT']);
    expect(events.log.filter((e) => e === 'reconnected')).toHaveLength(1);
    // The first upload vanished into the black hole; the kept update went again exactly once.
    expect(events.log.filter((e) => e.startsWith('uploaded'))).toEqual(['uploaded:1']);
    expect(events.log.filter((e) => e.startsWith('uploadRetried'))).toEqual(['uploadRetried:1']);
    expect(events.log.indexOf('uploadRetried:1')).toBeGreaterThan(events.log.indexOf('reconnected'));
    expect(events.log.at(-1)).toBe('acknowledged:1');
    expect(model0.trainCalls).toBe(1);
    expect(s0.roundsTrained).toBe(1);

    expect(record.outcome).toBe('completed');
    expect([...record.reported].sort()).toEqual(['p0', 'p1']);
    expect(record.units).toBe(2);
    expect(record.samples).toBe(40);
    for (let i = 0; i < DIM; i++) expect(global[i]).toBeCloseTo(expected[i]!, 6);
    expect(s0.global).toEqual(global);
    expect(s1.lastRound).toBe(1);
  });

  it('acknowledges again, without a second upload, an update that arrived before the link died', async () => {
    const { record, model0, events, expected, global } = await roundWithBrokenLink('down');
    expect(events.log).toContain('heartbeatMissed');
    expect(events.log.filter((e) => e === 'reconnected')).toHaveLength(1);
    // The update reached the coordinator; only its acknowledgement was lost, and it comes after the reconnect.
    expect(events.log.filter((e) => e.startsWith('uploadRetried'))).toEqual([]);
    expect(events.log.filter((e) => e.startsWith('acknowledged'))).toEqual(['acknowledged:1']);
    expect(events.log.indexOf('acknowledged:1')).toBeGreaterThan(events.log.indexOf('reconnected'));
    expect(model0.trainCalls).toBe(1);
    expect(record.outcome).toBe('completed');
    expect([...record.reported].sort()).toEqual(['p0', 'p1']);
    for (let i = 0; i < DIM; i++) expect(global[i]).toBeCloseTo(expected[i]!, 6);
  });
});

describe('session resume (secure aggregation)', () => {
  it('does not take a member back into the round it left; it joins the next round', async () => {
    const n = 5;
    fed = await startFederation(n, {
      privacy: 'secagg',
      secagg: { groupSize: n, stageTimeoutMs: 10_000 },
      rounds: { count: 2, minParticipants: n, quorum: 0.1, deadlineMs: 20_000 },
      limits: { heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS },
    });
    proxy = await startLinkProxy(fed.coordinator.port);
    const models = Array.from({ length: n }, (_, i) => new FakeModel(step(i)));
    const clients = models.map(
      (model, i) =>
        new FederatedClient({
          url: i === 0 ? proxy!.url : fed!.url,
          fingerprint: fed!.fingerprint,
          token: fed!.tokens[i]!,
          model,
          data: fakeData(10 + i),
          heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
          reconnect: { baseMs: 20, maxDelayMs: 100 },
        }),
    );
    const events = journal(clients[0]!);
    let broken = false;
    clients[0]!.on('stage', (round, stage) => {
      if (round === 1 && stage === 'shares' && !broken) {
        broken = true;
        proxy!.blackHole();
      }
    });
    const [records, ...summaries] = await Promise.all([fed.coordinator.run(), ...clients.map((c) => c.run())]);
    const [first, second] = records;
    expect(events.log).toContain('heartbeatMissed');
    expect(events.errors.map((e) => e.code)).toEqual(['TIMEOUT']); // the black hole, found by the heartbeat
    expect(events.log.filter((e) => e === 'reconnected')).toHaveLength(1);
    expect(events.log.filter((e) => e.startsWith('uploadRetried'))).toEqual([]);
    expect(first!.reported).not.toContain('p0');
    expect(first!.outcome).toBe('completed');
    expect([...first!.reported].sort()).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect(second!.outcome).toBe('completed');
    expect([...second!.reported].sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    expect(models[0]!.trainCalls).toBe(2);
    expect(summaries.every((s) => s.lastRound === 2)).toBe(true);
  });
});
