/**
 * One hostile member in a secure group, over real sockets and real crypto (6 members, complete graph, t = 4):
 * whatever it corrupts — an unmask share, its sealed shares, a complaint — the round ends with the exact sum of
 * the honest contributors (and of its own input, where it stays in) or aborts cleanly, and the round record
 * names it, and only it, with negative reputation evidence. The coordinator keeps running throughout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient, type RoundStage } from '@fedwarden/client';
import { createRng, type IndexedBytes, type Message } from '@fedwarden/shared';
import type { BlameKind } from '@fedwarden/coordinator';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { startHostileMember, type HostileHand } from './support/hostile-member.ts';

let fed: TestFederation | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
});

const N = 6;
const DIM = 200;
const HOSTILE = 5; // participant p5

function steps(): Float32Array[] {
  const rng = createRng(17);
  return Array.from({ length: N }, () => Float32Array.from({ length: DIM }, () => rng.next() - 0.5));
}

function weightedMean(all: Float32Array[], samples: number[], who: number[]): Float32Array {
  const out = new Float32Array(DIM);
  const total = who.reduce((s, i) => s + (samples[i] as number), 0);
  for (const i of who) for (let d = 0; d < DIM; d++) out[d] = (out[d] as number) + ((samples[i] as number) / total) * (all[i] as Float32Array)[d]!;
  return out;
}

const flip = (b: Uint8Array): Uint8Array => b.map((x) => x ^ 0x5a);
const mapEntries = (list: readonly IndexedBytes[], f: (e: IndexedBytes, k: number, all: readonly IndexedBytes[]) => Uint8Array): IndexedBytes[] =>
  list.map((e, k, all) => ({ index: e.index, bytes: f(e, k, all) }));

/** One round: five honest FederatedClients (participant `vanish[0]` closes at stage `vanish[1]`) and the hostile p5. */
async function round(hand: HostileHand, vanish?: [number, RoundStage]) {
  fed = await startFederation(N, {
    privacy: 'secagg',
    secagg: { groupSize: N, stageTimeoutMs: 5_000 },
    rounds: { count: 1, minParticipants: N, quorum: 0.1, deadlineMs: 10_000 },
  });
  const all = steps();
  const samples = all.map((_, i) => 10 + 5 * i);
  const honest = all.map((step, i) => {
    if (i === HOSTILE) return Promise.resolve('hostile');
    const client = new FederatedClient({ url: fed!.url, fingerprint: fed!.fingerprint, token: fed!.tokens[i]!, model: new FakeModel(step), data: fakeData(samples[i]!), reconnect: false });
    if (vanish?.[0] === i) client.on('stage', (_r, stage) => stage === vanish[1] && client.close());
    return client.run().catch(() => 'vanished');
  });
  const manifest = new FakeModel(all[HOSTILE]!).manifest;
  const hostile = await startHostileMember(fed.url, fed.fingerprint, fed.tokens[HOSTILE]!, manifest, all[HOSTILE]!, samples[HOSTILE]!, hand);
  const [records] = await Promise.all([fed.coordinator.run(), ...honest, hostile.done]);
  const record = records[0]!;
  return { record, global: fed.coordinator.globalAdapter()!, all, samples, hostileEnds: hostile.ends, reputation: (id: string) => fed!.coordinator.reputationOf(id) };
}

const who = (ids: readonly string[]): number[] => ids.map((id) => Number(id.slice(1))).sort((a, b) => a - b);

function expectBlamedOnly(record: { blamed?: readonly { participant: string; kind: BlameKind }[] }, kind: BlameKind): void {
  expect(record.blamed?.length).toBeGreaterThan(0);
  for (const b of record.blamed ?? []) expect(b).toMatchObject({ participant: `p${HOSTILE}`, kind });
}

function expectExact(global: Float32Array, expected: Float32Array): void {
  for (let d = 0; d < DIM; d++) expect(global[d]).toBeCloseTo(expected[d]!, 6);
}

describe('a hostile member in a secure group, over sockets', () => {
  it('corrupts one unmask share while a secret has exactly t shares: the round aborts cleanly, the culprit named', async () => {
    // p0 vanishes at unmask, so every other survivor's self-mask seed has exactly t = 4 shares left (held by the
    // other four survivors): corrupting p1's leaves it 3. (Group order follows the grouping key: p1 is found by id.)
    const hand: HostileHand = (stage, msg, place) => {
      if (stage !== 'unmask' || msg.kind !== 'saUnmaskReply') return msg;
      const p1 = place.peers.find((p) => p.participantId === 'p1')!.index;
      return { ...msg, selfShares: mapEntries(msg.selfShares, (e) => (e.index === p1 ? flip(e.bytes) : e.bytes)) };
    };
    const { record, global, reputation } = await round(hand, [0, 'unmask']);
    expect(record.outcome).toBe('aborted');
    expect(record.reason).toMatch(/good shares, threshold is 4/);
    expectBlamedOnly(record, 'unmask-share-off-commitment');
    expect(Array.from(global)).toEqual(new Array(DIM).fill(0)); // no wrong sum applied
    expect(reputation(`p${HOSTILE}`)).toBeLessThan(reputation('p1'));
  });

  it('corrupts one unmask share with more than t shares: the exact sum of all six, the culprit named', async () => {
    const hand: HostileHand = (stage, msg) =>
      stage === 'unmask' && msg.kind === 'saUnmaskReply' ? { ...msg, selfShares: mapEntries(msg.selfShares, (e, k) => (k === 0 ? flip(e.bytes) : e.bytes)) } : msg;
    const { record, global, all, samples } = await round(hand);
    expect(record.outcome).toBe('completed');
    expect(who(record.reported)).toEqual([0, 1, 2, 3, 4, 5]); // its masked input was sound: it stays in
    expectBlamedOnly(record, 'unmask-share-off-commitment');
    expectExact(global, weightedMean(all, samples, [0, 1, 2, 3, 4, 5]));
  });

  it('swaps its sealed shares between recipients: blamed and dropped, the exact sum of the five others', async () => {
    const hand: HostileHand = (stage, msg) =>
      stage === 'shares' && msg.kind === 'saShares' ? { ...msg, shares: mapEntries(msg.shares, (_e, k, list) => list[(k + 1) % list.length]!.bytes) } : msg;
    const { record, global, all, samples, reputation } = await round(hand);
    expect(record.outcome).toBe('completed');
    expect(who(record.reported)).toEqual([0, 1, 2, 3, 4]);
    expectBlamedOnly(record, 'unopenable-shares');
    expect(who((record.blamed ?? []).map((b) => b.accuser!))).toEqual([0, 1, 2, 3, 4]);
    expectExact(global, weightedMean(all, samples, [0, 1, 2, 3, 4]));
    expect(reputation(`p${HOSTILE}`)).toBeLessThan(reputation('p1'));
  });

  it('sends garbage in the share for one neighbour: the culprit is blamed, the neighbour stays in', async () => {
    const hand: HostileHand = (stage, msg, place) =>
      stage === 'shares' && msg.kind === 'saShares'
        ? { ...msg, shares: mapEntries(msg.shares, (e) => (e.index === place.neighbours[0] ? e.bytes.map((_, k) => (k * 37) & 0xff) : e.bytes)) }
        : msg;
    const { record, global, all, samples } = await round(hand);
    expect(record.outcome).toBe('completed');
    expect(who(record.reported)).toEqual([0, 1, 2, 3, 4]);
    expectBlamedOnly(record, 'unopenable-shares');
    expect(record.blamed).toHaveLength(1);
    expectExact(global, weightedMean(all, samples, [0, 1, 2, 3, 4]));
  });

  it('complains falsely about a neighbour: the complainer is blamed, the neighbour stays in', async () => {
    const hand: HostileHand = (stage, msg, place) =>
      stage === 'masked' && msg.kind === 'saMasked' ? { ...msg, complaints: [{ index: place.neighbours[0]!, bytes: new Uint8Array(32).fill(7) }] } : msg;
    const { record, global, all, samples } = await round(hand);
    expect(record.outcome).toBe('completed');
    expect(who(record.reported)).toEqual([0, 1, 2, 3, 4]);
    expectBlamedOnly(record, 'false-complaint');
    expectExact(global, weightedMean(all, samples, [0, 1, 2, 3, 4]));
  });

  it('sends a malformed message at a stage: the coordinator closes it and the others finish exactly', async () => {
    const hand: HostileHand = (stage, msg): Message => (stage === 'encaps' && msg.kind === 'saEncaps' ? { ...msg, shareCipherTexts: msg.shareCipherTexts.slice(1) } : msg);
    const { record, global, all, samples } = await round(hand);
    expect(record.outcome).toBe('completed');
    expect(who(record.reported)).toEqual([0, 1, 2, 3, 4]);
    expectExact(global, weightedMean(all, samples, [0, 1, 2, 3, 4]));
  });
});

describe('a hostile member over many rounds, a different behaviour each round', () => {
  it('every round ends with the exact sum of its contributors or a clean abort; only the hostile member is ever blamed', async () => {
    // Rounds where its own input stays in the sum come first, while every member's reputation is still equal
    // (weights are samples × reputation); the replay last, since the coordinator closes it for that.
    const plan = ['honest', 'withhold-unmask', 'unmask-corrupt', 'garbage-one', 'swap', 'commitment-flip', 'false-complaint', 'withhold-shares', 'replay'] as const;
    let previousKeys: Message | undefined;
    const hand: HostileHand = (stage, msg, place) => {
      const behaviour = plan[msg.kind === 'error' ? 0 : (msg as { round: number }).round - 1];
      const first = place.neighbours[0]!;
      switch (`${behaviour}/${stage}`) {
        case 'withhold-unmask/unmask':
        case 'withhold-shares/shares':
          return null;
        case 'unmask-corrupt/unmask':
          return msg.kind === 'saUnmaskReply' ? { ...msg, selfShares: mapEntries(msg.selfShares, (e, k) => (k === 0 ? flip(e.bytes) : e.bytes)) } : msg;
        case 'garbage-one/shares':
          return msg.kind === 'saShares' ? { ...msg, shares: mapEntries(msg.shares, (e) => (e.index === first ? flip(e.bytes) : e.bytes)) } : msg;
        case 'swap/shares':
          return msg.kind === 'saShares' ? { ...msg, shares: mapEntries(msg.shares, (_e, k, list) => list[(k + 1) % list.length]!.bytes) } : msg;
        case 'commitment-flip/shares':
          return msg.kind === 'saShares' ? { ...msg, commitments: mapEntries(msg.commitments, (e) => (e.index === first ? flip(e.bytes) : e.bytes)) } : msg;
        case 'false-complaint/masked':
          return msg.kind === 'saMasked' ? { ...msg, complaints: [{ index: first, bytes: new Uint8Array(32).fill(9) }] } : msg;
        case 'replay/keys':
          return previousKeys ?? msg;
        default:
          if (stage === 'keys') previousKeys = msg;
          return msg;
      }
    };
    fed = await startFederation(N, {
      privacy: 'secagg',
      secagg: { groupSize: N - 1, stageTimeoutMs: 5_000 },
      rounds: { count: plan.length, minParticipants: N - 1, quorum: 0.1, deadlineMs: 10_000 },
      // Blame lowers its score but does not exclude it, so that every behaviour gets its round.
      reputation: { cooldownRounds: 0 },
    });
    const all = steps();
    const samples = all.map((_, i) => 10 + 5 * i);
    const honest = all.map((step, i) =>
      i === HOSTILE
        ? Promise.resolve('hostile')
        : new FederatedClient({ url: fed!.url, fingerprint: fed!.fingerprint, token: fed!.tokens[i]!, model: new FakeModel(step), data: fakeData(samples[i]!), reconnect: false }).run(),
    );
    const hostile = await startHostileMember(fed.url, fed.fingerprint, fed.tokens[HOSTILE]!, new FakeModel(all[HOSTILE]!).manifest, all[HOSTILE]!, samples[HOSTILE]!, hand);
    const globals: Float32Array[] = [new Float32Array(DIM)];
    fed.coordinator.on('round', () => globals.push(fed!.coordinator.globalAdapter()!.slice()));
    const [records] = await Promise.all([fed.coordinator.run(), ...honest, hostile.done]);

    expect(records).toHaveLength(plan.length);
    const blamedRounds: number[] = [];
    records.forEach((record, r) => {
      const step = Float32Array.from(globals[r + 1]!, (v, d) => v - globals[r]![d]!);
      for (const b of record.blamed ?? []) expect(b.participant).toBe(`p${HOSTILE}`);
      if ((record.blamed ?? []).length > 0) blamedRounds.push(record.round);
      if (record.outcome === 'aborted') {
        expect(Array.from(step)).toEqual(new Array(DIM).fill(0));
        return;
      }
      const reported = who(record.reported);
      for (let i = 0; i < N; i++) if (i !== HOSTILE) expect(reported).toContain(i); // no honest member excluded
      expectExact(step, weightedMean(all, samples, reported));
    });
    // Every round that misbehaved in a way the protocol can attribute named the hostile member.
    expect(blamedRounds).toEqual([3, 4, 5, 6, 7]);
    expect(records.every((r) => r.outcome === 'completed')).toBe(true);
  });
});
