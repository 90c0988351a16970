/** SecaggStageClock: stage boundaries read off the coordinator's sent messages, per group, with a manual clock. */
import { describe, expect, it } from 'vitest';
import type { Message } from '@fedwarden/shared';
import { SecaggStageClock, type SecaggStage } from './secagg-stage-clock.ts';

function roundStart(round: number, group?: number): Message {
  const base = { kind: 'roundStart', round, plan: { epochs: 1, batchSize: 1, learningRate: 0.1 }, deadlineMs: 1000, global: new Float32Array(2) } as const;
  if (group === undefined) return base;
  return { ...base, secagg: { group, index: 1, members: 3, neighbours: [2, 3], threshold: 2, clip: 1, bits: 16, peers: [] } };
}
const peerKeys = (round: number): Message => ({ kind: 'saPeerKeys', round, keys: [] });
const peerEncaps = (round: number): Message => ({ kind: 'saPeerEncaps', round, cipherTexts: [], shareCipherTexts: [], attestations: [] });
const peerShares = (round: number): Message => ({ kind: 'saPeerShares', round, weight: 1, shares: [], commitments: [], seedCommitments: [], attestations: [] });
const survivors = (round: number): Message => ({ kind: 'saSurvivors', round, survivors: [1, 2, 3] });
const unmask = (round: number): Message => ({ kind: 'saUnmask', round, survivors: [], dropped: [], signatures: [] });
const roundEnd = (round: number): Message => ({ kind: 'roundEnd', round, outcome: 'completed', reason: '' });

function setup() {
  let now = 0;
  const seen: Array<[SecaggStage, number]> = [];
  const clock = new SecaggStageClock((stage, seconds) => seen.push([stage, seconds]), () => now);
  return { clock, seen, at: (ms: number) => (now = ms) };
}

describe('SecaggStageClock', () => {
  it('times each stage of a group from its opening message to the next, and the last one to roundEnd', () => {
    const { clock, seen, at } = setup();
    for (const p of ['a', 'b', 'c']) clock.sent(p, roundStart(1, 1));
    at(5_000);
    for (const p of ['a', 'b', 'c']) clock.sent(p, peerKeys(1));
    at(5_200);
    clock.sent('a', peerEncaps(1));
    at(5_250);
    clock.sent('b', peerEncaps(1)); // same burst: no new boundary
    at(5_500);
    clock.sent('a', peerShares(1));
    at(6_500);
    clock.sent('a', survivors(1));
    at(6_520);
    clock.sent('a', unmask(1));
    at(6_600);
    for (const p of ['a', 'b', 'c']) clock.sent(p, roundEnd(1));
    expect(seen).toEqual([
      ['keys', 5],
      ['encaps', 0.2],
      ['shares', 0.3],
      ['masked', 1],
      ['survivors', 0.02],
      ['unmask', 0.08],
    ]);
    expect(clock.openGroups).toBe(0);
  });

  it('keeps parallel groups apart, and a group that aborts early reports only the stages it reached', () => {
    const { clock, seen, at } = setup();
    clock.sent('a', roundStart(2, 1));
    clock.sent('b', roundStart(2, 2));
    at(1_000);
    clock.sent('a', peerKeys(2));
    at(3_000);
    clock.sent('b', peerKeys(2));
    at(4_000);
    clock.sent('b', roundEnd(2)); // group 1 never got past encaps: its open stage ends with the round
    expect(seen).toEqual([
      ['keys', 1],
      ['keys', 3],
      ['encaps', 3],
      ['encaps', 1],
    ]);
  });

  it('ignores trusted rounds, messages for other rounds and stages going backwards', () => {
    const { clock, seen, at } = setup();
    clock.sent('a', roundStart(1));
    clock.sent('a', { kind: 'updateAck', round: 1 });
    expect(clock.openGroups).toBe(0);
    clock.sent('a', roundStart(3, 1));
    at(100);
    clock.sent('a', peerKeys(2)); // an older round's relay
    clock.sent('x', peerKeys(3)); // not a member
    expect(seen).toEqual([]);
    clock.sent('a', peerEncaps(3));
    at(200);
    clock.sent('a', peerKeys(3)); // backwards
    expect(seen).toEqual([['keys', 0.1]]);
  });

  it('forgets a round whose roundEnd reached nobody once the next round starts', () => {
    const { clock, seen } = setup();
    clock.sent('a', roundStart(1, 1));
    clock.sent('b', roundStart(1, 2));
    expect(clock.openGroups).toBe(2);
    clock.sent('c', roundStart(2, 1));
    expect(clock.openGroups).toBe(1);
    clock.sent('a', peerKeys(1));
    expect(seen).toEqual([]);
  });
});
