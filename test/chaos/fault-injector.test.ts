/**
 * The fault injector against a stand-in for a FederatedClient (an emitter of the same events): it cuts at the
 * planned moment, once per round and coordinator life, falls back to the round's end, and kills the coordinator
 * once, only through a participant that is not being cut.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FederatedClient, FederatedClientEvents } from '@fedwarden/client';
import type { ChaosPlan } from './chaos-plan.ts';
import { FaultInjector } from './fault-injector.ts';

const plan: ChaosPlan = {
  seed: 1,
  mode: 'secagg',
  disconnects: [
    [
      { participant: 0, moment: { kind: 'train', step: 2 } },
      { participant: 1, moment: { kind: 'upload', delayMs: 10 } },
      { participant: 2, moment: { kind: 'stage', stage: 'masked' } },
    ],
    [{ participant: 0, moment: { kind: 'stage', stage: 'unmask' } }],
    [],
  ],
  kill: { round: 2, moment: { kind: 'stage', stage: 'unmask' } },
};

const progress = { epoch: 0, batch: 0, loss: 1 };
const result = { meanLoss: 1, numSamples: 3, trainMs: 1 };

function setUp() {
  const cuts: number[] = [];
  let kills = 0;
  const injector = new FaultInjector(plan, { cut: (p) => cuts.push(p), kill: () => kills++ });
  const clients = [0, 1, 2, 3].map((i) => {
    const emitter = new EventEmitter<FederatedClientEvents>();
    injector.attach(emitter as unknown as FederatedClient, i);
    return emitter;
  });
  return { injector, clients, cuts, kills: () => kills };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('FaultInjector', () => {
  it('cuts each participant at its planned moment, once per round', () => {
    vi.useFakeTimers();
    const { injector, clients, cuts } = setUp();
    const [c0, c1, c2] = clients as [EventEmitter<FederatedClientEvents>, EventEmitter<FederatedClientEvents>, EventEmitter<FederatedClientEvents>];
    for (const c of clients) c.emit('roundStart', 1);
    c0.emit('progress', 1, progress);
    c0.emit('progress', 1, progress);
    expect(cuts).toEqual([]);
    c0.emit('progress', 1, progress); // the third batch: step 2
    expect(cuts).toEqual([0]);
    c0.emit('roundStart', 1); // back in the round after its reconnect, trains again: not cut twice
    for (let i = 0; i < 4; i++) c0.emit('progress', 1, progress);
    c1.emit('uploaded', 1, result);
    expect(cuts).toEqual([0]);
    vi.advanceTimersByTime(10);
    expect(cuts).toEqual([0, 1]);
    c2.emit('stage', 1, 'shares');
    c2.emit('stage', 1, 'masked');
    expect(cuts).toEqual([0, 1, 2]);
    for (const c of clients) c.emit('roundEnd', 1, 'completed', '');
    expect(cuts).toEqual([0, 1, 2]);
    expect(injector.cuts.map((c) => [c.participant, c.round, c.life, c.late])).toEqual([
      [0, 1, 1, false],
      [1, 1, 1, false],
      [2, 1, 1, false],
    ]);
  });

  it('cuts a participant whose moment never came when its round ends', () => {
    const { injector, clients, cuts } = setUp();
    clients[2]!.emit('roundStart', 1);
    clients[2]!.emit('stage', 1, 'shares'); // its group gave up before 'masked'
    clients[2]!.emit('roundEnd', 1, 'completed', '');
    expect(cuts).toEqual([2]);
    expect(injector.cuts[0]).toMatchObject({ participant: 2, at: 'round end', late: true });
  });

  it('kills once, through a participant not being cut, and only before the restart; the rerun round is cut again', () => {
    const { injector, clients, cuts, kills } = setUp();
    clients[0]!.emit('stage', 2, 'unmask'); // p0 is cut in round 2: its answer may be lost, so it never kills
    expect([cuts, kills()]).toEqual([[0], 0]);
    clients[3]!.emit('stage', 1, 'unmask'); // not the kill round
    expect(kills()).toBe(0);
    clients[3]!.emit('stage', 2, 'unmask');
    clients[1]!.emit('stage', 2, 'unmask');
    expect(kills()).toBe(1);
    expect(injector.kill).toEqual({ round: 2, participant: 3, at: 'secagg stage unmask' });

    injector.restarted();
    clients[0]!.emit('stage', 2, 'unmask'); // round 2 runs again: p0 is cut again
    clients[3]!.emit('stage', 2, 'unmask');
    expect([cuts, kills()]).toEqual([[0, 0], 1]);
    expect(injector.cuts.map((c) => [c.participant, c.round, c.life])).toEqual([
      [0, 2, 1],
      [0, 2, 2],
    ]);
  });

  it('treats a kept update sent again as an upload, and dispose() cancels a pending cut', () => {
    vi.useFakeTimers();
    const { injector, clients, cuts } = setUp();
    clients[1]!.emit('uploadRetried', 1);
    injector.dispose();
    vi.advanceTimersByTime(100);
    expect(cuts).toEqual([]);
    expect(injector.cuts).toHaveLength(1);
  });
});
