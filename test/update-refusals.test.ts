/**
 * Trusted mode refuses, with UPDATE_REFUSED, every update it will not use, over real sockets: a second update
 * that differs from the accepted one closes its sender (4012) and the first one stands; an update for a round
 * that no longer collects gets an error reply and the link stays up, so a straggler is not punished and takes
 * part in the next round. An identical re-send is acknowledged again and counted once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient } from '@fedwarden/client';
import { ERROR_CODES, codeFromCloseReason, type FedwardenError } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { RawPeer } from './support/raw-peer.ts';

let fed: TestFederation | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
});

const DIM = 4;
const manifest = new FakeModel(new Float32Array(DIM)).manifest;
const update = (round: number, delta: Float32Array) => ({ kind: 'update', round, numSamples: 10, meanLoss: 1, trainMs: 1, delta }) as const;

/** A FakeModel whose first training outlasts the round's deadline and whose later ones are quick. */
class SlowFirstModel extends FakeModel {
  constructor(step: Float32Array, private readonly firstDelayMs: number) {
    super(step);
  }

  override async *train(data: Parameters<FakeModel['train']>[0]) {
    if (this.trainCalls === 0) await new Promise((r) => setTimeout(r, this.firstDelayMs));
    return yield* super.train(data);
  }
}

describe('trusted mode refuses updates it does not use', () => {
  it('acknowledges an identical re-send, closes a different second update with UPDATE_REFUSED, and uses the first', async () => {
    fed = await startFederation(2, { rounds: { count: 1, minParticipants: 2, deadlineMs: 10_000 } });
    const federation = fed;
    const run = federation.coordinator.run();
    // Two hand-driven participants, so that the round still collects while the first one misbehaves.
    const [peer, other] = await Promise.all([RawPeer.connect(federation.url), RawPeer.connect(federation.url)]);
    await peer.join(federation.fingerprint, federation.tokens[0]!, manifest);
    await other.join(federation.fingerprint, federation.tokens[1]!, manifest);
    const [start] = await Promise.all([peer.next('roundStart'), other.next('roundStart')]);
    const round = start!.round;

    const first = Float32Array.of(3, -1, 0, 2);
    peer.sendSealed(update(round, first));
    peer.sendSealed(update(round, first.slice())); // an idempotent retry
    expect(await peer.next('updateAck')).toEqual({ kind: 'updateAck', round });
    expect(await peer.next('updateAck')).toEqual({ kind: 'updateAck', round });
    peer.sendSealed(update(round, Float32Array.of(100, 100, 100, 100)));
    const close = await peer.closed;
    expect(close.code).toBe(ERROR_CODES.UPDATE_REFUSED.close);
    expect(codeFromCloseReason(close.reason)).toBe('UPDATE_REFUSED');
    expect(close.reason).toMatch(/different second update/);

    other.sendSealed(update(round, Float32Array.of(1, 1, 1, 1)));
    const record = (await run)[0]!;
    expect(record.outcome).toBe('completed');
    expect([...record.reported].sort()).toEqual(['p0', 'p1']);
    expect(record.units).toBe(2);
    // FedAvg of the first update and the other participant's (10 samples each); the refused one is nowhere.
    expect(Array.from(federation.coordinator.globalAdapter()!)).toEqual([2, 0, 0.5, 1.5]);
  });

  it('answers an update for a round that no longer collects with UPDATE_REFUSED and keeps the link', async () => {
    fed = await startFederation(1, { rounds: { count: 1, minParticipants: 1, deadlineMs: 10_000 } });
    const federation = fed;
    const run = federation.coordinator.run();
    const peer = await RawPeer.connect(federation.url);
    await peer.join(federation.fingerprint, federation.tokens[0]!, manifest);
    const start = await peer.next('roundStart');
    peer.sendSealed(update(start!.round, Float32Array.of(1, 2, 3, 4)));
    await peer.next('roundEnd');
    await run; // the last round is over: no round collects now

    peer.sendSealed(update(start!.round, Float32Array.of(1, 2, 3, 4)));
    const refusal = await peer.next('error');
    expect(refusal).toEqual({ kind: 'error', code: 'UPDATE_REFUSED', message: `round ${start!.round}: no round is collecting updates` });
    // Still connected: the coordinator answers again on the same link.
    peer.sendSealed(update(start!.round - 1, Float32Array.of(1, 2, 3, 4)));
    expect((await peer.next('error'))?.code).toBe('UPDATE_REFUSED');
    expect(peer.ws.readyState).toBe(peer.ws.OPEN);
  });

  it('refuses a straggler whose update crossed the deadline without closing it; it contributes to the next round', async () => {
    const deadlineMs = 2_000;
    fed = await startFederation(2, { rounds: { count: 3, minParticipants: 2, deadlineMs } });
    const federation = fed;
    const client = (i: number, model: FakeModel) =>
      new FederatedClient({ url: federation.url, fingerprint: federation.fingerprint, token: federation.tokens[i]!, model, data: fakeData(10), reconnect: false });
    const straggler = client(0, new SlowFirstModel(Float32Array.of(1, 1, 1, 1), 1.4 * deadlineMs));
    const prompt = client(1, new FakeModel(Float32Array.of(1, 1, 1, 1)));
    const refused: Array<[number | undefined, FedwardenError]> = [];
    const disconnects: FedwardenError[] = [];
    straggler.on('updateRefused', (round, err) => refused.push([round, err]));
    straggler.on('disconnected', (err) => disconnects.push(err));

    const [records, summary] = await Promise.all([federation.coordinator.run(), straggler.run(), prompt.run()]);
    expect(records.map((r) => r.outcome)).toEqual(['completed', 'completed', 'completed']);
    expect(records[0]!.reported).toEqual(['p1']);
    expect(records[1]!.dropped).toEqual([]);
    expect(records[2]!.dropped).toEqual([]);
    expect(refused.map(([round, err]) => [round, err.code])).toEqual([[1, 'UPDATE_REFUSED']]);
    expect(disconnects).toEqual([]);
    expect(summary.roundsTrained).toBe(3);
  });
});
