/**
 * SecAgg+ with ML-KEM end to end in memory: one coordinator SecaggGroup and n SecaggClients with real crypto
 * and every message through the wire codec, no sockets. Checks the exact mod-2^32 sum of the survivors'
 * quantized inputs with dropouts at each stage, clean aborts below threshold, that a masked upload looks
 * uniform, what an honest member refuses to reveal, stage order on both sides, and tampered relays.
 */
import { describe, expect, it } from 'vitest';
import {
  ML_KEM768_CIPHERTEXT_BYTES,
  ML_KEM768_PUBLIC_KEY_BYTES,
  SECRET_BYTES,
  createRng,
  encapsRandomness,
  encapsulate,
  openShares,
  pairwiseSecrets,
  shareKey,
  defaultThreshold,
  deriveSeed,
  quantizationBits,
  quantize,
  seededBytes,
  type IndexedBytes,
  type Message,
  type MessageOf,
} from '@fedwarden/shared';
import { SecaggClient } from '@fedwarden/client';
import { SecaggGroup } from '@fedwarden/coordinator';
import { resign } from './support/resign.ts';
import { ByteStream, codeOf, complete, identity, ring, wire } from './support/secagg-harness.ts';

const STAGES = ['keys', 'encaps', 'shares', 'masked', 'survivors', 'unmask'] as const;
type Stage = (typeof STAGES)[number];
const ROUND = 7;
const GROUP = 3;
const CLIP = 1;

interface Scenario {
  readonly n: number;
  readonly graph: number[][];
  readonly t: number;
  readonly dim: number;
  readonly seed: number;
  /** Member → the first stage whose message it never sends. */
  readonly drop?: Readonly<Record<number, Stage>>;
  readonly zeros?: boolean;
  /** Seed of the members' random streams (secrets, shares); default `seed`. */
  readonly streamSeed?: number;
  /** When set, members round from their own seeded streams (`seededBytes`) instead of the random stream. */
  readonly roundingSeed?: number;
  /** A hostile member's hand: rewrites what member `i` sends at `stage` before the coordinator gets it. */
  readonly hostile?: (stage: Stage, i: number, msg: Message) => Message;
}

function updateOf(sc: Scenario, i: number): Float32Array {
  if (sc.zeros) return new Float32Array(sc.dim);
  const rng = createRng(deriveSeed(sc.seed, 1000 + i));
  return Float32Array.from({ length: sc.dim }, () => 3 * rng.next() - 1.5); // some beyond ±clip
}

class Harness {
  readonly group: SecaggGroup;
  readonly clients = new Map<number, SecaggClient>();
  readonly streams = new Map<number, ByteStream>();
  readonly expectedQ = new Map<number, Uint32Array>();
  /** Each member's masked upload, as the coordinator saw it. */
  readonly uploads = new Map<number, Uint32Array>();
  readonly weights = new Map<number, number>();
  readonly bits: number;

  constructor(readonly sc: Scenario) {
    this.bits = quantizationBits(sc.n);
    const memberIds = Array.from({ length: sc.n }, (_, i) => `p${i + 1}`);
    const identityKeys = memberIds.map((_, k) => identity(k + 1).publicKey);
    this.group = new SecaggGroup({ round: ROUND, group: GROUP, memberIds, identityKeys, graph: sc.graph, threshold: sc.t, clip: CLIP, bits: this.bits, dim: sc.dim });
    for (let i = 1; i <= sc.n; i++) {
      const stream = new ByteStream(deriveSeed(sc.streamSeed ?? sc.seed, i));
      this.streams.set(i, stream);
      const setup = wire({ kind: 'roundStart', round: ROUND, plan: { epochs: 1, batchSize: 1, learningRate: 0.1 }, deadlineMs: 1, global: new Float32Array(0), secagg: this.group.setupFor(i) }).secagg!;
      const rounding = sc.roundingSeed === undefined ? undefined : seededBytes(deriveSeed(sc.roundingSeed, i));
      this.clients.set(i, new SecaggClient(ROUND, setup, { identity: identity(i), random: stream.bytes, ...(rounding ? { rounding } : {}) }));
      this.weights.set(i, ((i % 3) + 1) / 3);
    }
  }

  client(i: number): SecaggClient {
    return this.clients.get(i) as SecaggClient;
  }

  /** What member i sends at `stage`, through the hostile hand if any (which signs what it sends), across the codec. */
  out<M extends Message>(stage: Stage, i: number, msg: M): M {
    const sent = this.sc.hostile?.(stage, i, wire(msg)) ?? msg;
    return wire((sent === msg ? msg : resign(sent, identity(i), GROUP, i)) as M);
  }

  sends(i: number, stage: Stage): boolean {
    const d = this.sc.drop?.[i];
    return d === undefined || STAGES.indexOf(stage) < STAGES.indexOf(d);
  }

  keys(): Map<number, MessageOf<'saPeerKeys'>> {
    for (let i = 1; i <= this.sc.n; i++) {
      if (this.sends(i, 'keys')) this.group.acceptKeys(i, this.out('keys', i, this.client(i).keys({ numSamples: 10 * i, meanLoss: 0.5, trainMs: 100 + i })));
    }
    return this.group.relayKeys();
  }

  encaps(relay = this.keys()): Map<number, MessageOf<'saPeerEncaps'>> {
    for (const [i, m] of relay) if (this.sends(i, 'encaps')) this.group.acceptEncaps(i, this.out('encaps', i, this.client(i).encaps(wire(m))));
    return this.group.relayEncaps();
  }

  shares(relay = this.encaps()): Map<number, MessageOf<'saPeerShares'>> {
    for (const [i, m] of relay) if (this.sends(i, 'shares')) this.group.acceptShares(i, this.out('shares', i, this.client(i).shares(wire(m))));
    return this.group.relayShares(this.weights);
  }

  masked(relay = this.shares()): Map<number, MessageOf<'saSurvivors'>> {
    for (const [i, m] of relay) {
      if (!this.sends(i, 'masked')) continue;
      const update = updateOf(this.sc, i);
      // The client's next draws are its rounding randomness (from its own seeded stream when the scenario
      // gives one): quantize the same way for the expected sum.
      const rounding = this.sc.roundingSeed === undefined ? this.streams.get(i)!.fork().bytes : seededBytes(deriveSeed(this.sc.roundingSeed, i));
      this.expectedQ.set(i, quantize(update, m.weight, CLIP, this.bits, rounding).q);
      const upload = this.out('masked', i, this.client(i).masked(wire(m), update));
      this.uploads.set(i, upload.masked);
      this.group.acceptMasked(i, upload);
    }
    return this.group.survivorsRequests();
  }

  survivors(relay = this.masked()): Map<number, MessageOf<'saUnmask'>> {
    for (const [i, m] of relay) if (this.sends(i, 'survivors')) this.group.acceptSurvivorsSigned(i, this.out('survivors', i, this.client(i).survivors(wire(m))));
    return this.group.unmaskRequests();
  }

  unmask(relay = this.survivors()): ReturnType<SecaggGroup['finish']> {
    for (const [i, m] of relay) if (this.sends(i, 'unmask')) this.group.acceptUnmaskReply(i, this.out('unmask', i, this.client(i).unmask(wire(m))));
    return this.group.finish();
  }

  /** Σ of the quantized inputs of `who` (default: everyone who uploaded). */
  expectedSum(who: Iterable<number> = this.expectedQ.keys()): Uint32Array {
    const sum = new Uint32Array(this.sc.dim);
    for (const i of who) {
      const q = this.expectedQ.get(i) as Uint32Array;
      for (let k = 0; k < sum.length; k++) sum[k] = (sum[k] as number) + (q[k] as number);
    }
    return sum;
  }

  /** Σ over survivors of clamp(w·x, ±clip), the value weightedSum estimates. */
  expectedWeighted(survivors: readonly number[]): Float64Array {
    const out = new Float64Array(this.sc.dim);
    for (const i of survivors) {
      const x = updateOf(this.sc, i);
      const w = this.weights.get(i) as number;
      for (let k = 0; k < out.length; k++) out[k] = (out[k] as number) + w * Math.max(-CLIP, Math.min(CLIP, x[k] as number));
    }
    return out;
  }
}

/** Run a whole round; the sum must be exact whenever it succeeds. */
function runRound(sc: Scenario): { h: Harness; result: ReturnType<SecaggGroup['finish']> } {
  const h = new Harness(sc);
  const result = h.unmask();
  if (result.ok) {
    // Everyone who uploaded and was not found at fault in masked is in the sum, exactly.
    const atUnmask = new Set(['unmask-share-off-commitment', 'seed-off-commitment']);
    const droppedAtMasked = new Set(result.blamed.filter((b) => !atUnmask.has(b.kind)).map((b) => b.culprit));
    expect(result.survivors).toEqual([...h.expectedQ.keys()].filter((i) => !droppedAtMasked.has(i)).sort((a, b) => a - b));
    expect(result.sum).toEqual(h.expectedSum(result.survivors));
    const step = (2 * CLIP) / (2 ** h.bits - 1);
    const want = h.expectedWeighted(result.survivors);
    let worst = 0;
    for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs((result.weightedSum[k] as number) - (want[k] as number)));
    expect(worst).toBeLessThan(result.survivors.length * step + 1e-5 * result.survivors.length);
  }
  return { h, result };
}

describe('secure aggregation protocol: exact sums', () => {
  it.each([
    ['complete, n = 5', { n: 5, graph: complete(5), t: defaultThreshold(4) }],
    ['complete, n = 8', { n: 8, graph: complete(8), t: defaultThreshold(7) }],
    ['4-regular, n = 10', { n: 10, graph: ring(10, 4, 11), t: defaultThreshold(4) }],
    ['6-regular, n = 9', { n: 9, graph: ring(9, 6, 12), t: defaultThreshold(6) }],
  ])('no dropout, %s: the sum of every quantized input', (_, g) => {
    const { result } = runRound({ ...g, dim: 257, seed: 1 });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.survivors).toHaveLength(g.n);
  });

  for (const stage of STAGES) {
    it(`one member drops before sending ${stage}: exact sum of the survivors (complete and 4-regular)`, () => {
      const a = runRound({ n: 7, graph: complete(7), t: defaultThreshold(6), dim: 100, seed: 2, drop: { 2: stage } });
      expect(a.result.ok).toBe(true);
      const b = runRound({ n: 10, graph: ring(10, 4, 13), t: defaultThreshold(4), dim: 100, seed: 3, drop: { 6: stage } });
      expect(b.result.ok).toBe(true);
      // A member that sent its masked input but never signed U3 or answered unmask is still in the sum.
      if (a.result.ok) expect(a.result.survivors.includes(2)).toBe(stage === 'survivors' || stage === 'unmask');
      if (b.result.ok) expect(b.result.survivors.includes(6)).toBe(stage === 'survivors' || stage === 'unmask');
    });
  }

  it('dropouts at every stage in one round (complete, n = 12, t = 6)', () => {
    const { result } = runRound({
      n: 12,
      graph: complete(12),
      t: 6,
      dim: 300,
      seed: 4,
      drop: { 1: 'keys', 2: 'encaps', 3: 'shares', 4: 'masked', 5: 'unmask' },
    });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.survivors).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('dropouts at every stage in one round (6-regular, n = 12, t = 4)', () => {
    // t = ⌈2k/3⌉ tolerates k − t = 2 lost neighbours per member: these drops are placed so that none loses more.
    const graph = ring(12, 6, 21);
    const { result } = runRound({ n: 12, graph, t: defaultThreshold(6), dim: 300, seed: 5, drop: { 1: 'keys', 3: 'shares', 7: 'masked', 12: 'unmask' } });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.survivors).toEqual([2, 4, 5, 6, 8, 9, 10, 11, 12]);
  });

  it('a member left with fewer than t neighbours is pruned and the rest still sum exactly', () => {
    // Members 1..7 form a complete graph; member 8 hangs off 1..4. With 1 gone, 8 has 3 < t = 4.
    const graph: number[][] = [[]];
    for (let i = 1; i <= 7; i++) graph.push([1, 2, 3, 4, 5, 6, 7, ...(i <= 4 ? [8] : [])].filter((j) => j !== i));
    graph.push([1, 2, 3, 4]);
    const h = new Harness({ n: 8, graph, t: 4, dim: 64, seed: 6, drop: { 1: 'encaps' } });
    const relay = h.encaps();
    expect([...relay.keys()]).toEqual([2, 3, 4, 5, 6, 7]); // nobody relays to or from 8 any more
    const result = h.unmask(h.survivors(h.masked(h.shares(relay))));
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.survivors).toEqual([2, 3, 4, 5, 6, 7]);
      expect(result.sum).toEqual(h.expectedSum());
    }
  });
});

describe('secure aggregation protocol: seeded rounding', () => {
  it('the sum depends on the rounding stream only: other secrets give other uploads and the same exact sum', () => {
    const sc = { n: 6, graph: complete(6), t: defaultThreshold(5), dim: 129, seed: 4, roundingSeed: 77 };
    const a = runRound({ ...sc, streamSeed: 1 });
    const b = runRound({ ...sc, streamSeed: 2 });
    const c = runRound({ ...sc, streamSeed: 1, roundingSeed: 78 });
    expect(a.result.ok && b.result.ok && c.result.ok).toBe(true);
    if (!(a.result.ok && b.result.ok && c.result.ok)) return;
    expect(b.result.sum).toEqual(a.result.sum);
    expect(c.result.sum).not.toEqual(a.result.sum);
    // The masks differ with the secrets, so the coordinator saw different uploads for the same sum.
    expect(b.h.uploads.get(1)).not.toEqual(a.h.uploads.get(1));
  });
});

describe('secure aggregation protocol: clean aborts below threshold', () => {
  it('too few members reach keys: the group fails at once and every later call falls through', () => {
    const h = new Harness({ n: 5, graph: complete(5), t: 3, dim: 16, seed: 7, drop: { 1: 'keys', 2: 'keys' } });
    // Three left, each with 2 < t neighbours.
    expect(h.keys().size).toBe(0);
    expect(h.group.stage).toBe('failed');
    expect(h.group.relayEncaps().size).toBe(0);
    expect(h.group.relayShares(new Map()).size).toBe(0);
    expect(h.group.unmaskRequests().size).toBe(0);
    const result = h.group.finish();
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/neighbours/);
  });

  it('too many drop before masked: nobody is asked to unmask', () => {
    const h = new Harness({ n: 7, graph: complete(7), t: 4, dim: 16, seed: 8, drop: { 1: 'masked', 2: 'masked', 3: 'masked' } });
    const requests = h.masked();
    expect(requests.size).toBe(0);
    expect(h.group.canStillSucceed()).toBe(false);
    const result = h.group.finish();
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/threshold is 4/);
  });

  it('too many drop during unmask: no partial result', () => {
    const h = new Harness({ n: 7, graph: complete(7), t: 4, dim: 16, seed: 9, drop: { 1: 'masked', 2: 'unmask', 3: 'unmask' } });
    const result = h.unmask();
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/shares, threshold is 4/);
    expect(h.group.stage).toBe('failed');
  });

  it('one fewer unmask dropout succeeds exactly (the boundary)', () => {
    const { result } = runRound({ n: 7, graph: complete(7), t: 4, dim: 16, seed: 9, drop: { 1: 'masked', 2: 'unmask' } });
    expect(result.ok).toBe(true);
  });

  it('canStillSucceed follows the members known to be gone', () => {
    const h = new Harness({ n: 7, graph: complete(7), t: 4, dim: 16, seed: 10 });
    const relay = h.shares();
    for (const [i, m] of relay) if (i > 3) h.group.acceptMasked(i, h.client(i).masked(m, updateOf(h.sc, i)));
    expect(h.group.pending()).toEqual([1, 2, 3]);
    expect(h.group.canStillSucceed()).toBe(true);
    expect(h.group.canStillSucceed([1, 2])).toBe(true); // 5 survivors, 4 partners each
    expect(h.group.canStillSucceed([1, 2, 3])).toBe(false); // 4 survivors, 3 partners each < t
  });

  it('canStillSucceed during unmask counts the replies still possible; abort forgets the group', () => {
    const h = new Harness({ n: 7, graph: complete(7), t: 4, dim: 16, seed: 11, drop: { 1: 'masked' } });
    const requests = h.survivors();
    expect([...requests.keys()]).toEqual([2, 3, 4, 5, 6, 7]);
    h.group.acceptUnmaskReply(7, h.client(7).unmask(requests.get(7)!));
    expect(h.group.pending()).toEqual([2, 3, 4, 5, 6]);
    expect(h.group.canStillSucceed([2])).toBe(true);
    expect(h.group.canStillSucceed([2, 3])).toBe(false); // b_4 would have 3 shares (5, 6, 7)
    expect(h.group.canStillSucceed([7])).toBe(true); // 7 has already answered
    h.group.abort('round cancelled');
    expect(h.group.stage).toBe('failed');
    expect(h.group.canStillSucceed()).toBe(false);
    const result = h.group.finish();
    expect(result).toEqual({ ok: false, reason: 'round cancelled', blamed: [] });
  });
});

describe('secure aggregation protocol: what the coordinator sees', () => {
  it('the masked upload of an all-zero update is indistinguishable from uniform (chi-square)', () => {
    const dim = 1 << 14;
    const h = new Harness({ n: 3, graph: complete(3), t: 2, dim, seed: 12, zeros: true });
    const relay = h.shares();
    const m = relay.get(1)!;
    const masked = h.client(1).masked(m, new Float32Array(dim)).masked;
    const q = quantize(new Float32Array(dim), m.weight, CLIP, h.bits).q;
    const chi = (words: Uint32Array, shift: number, bits: number): number => {
      const bins = 1 << bits;
      const counts = new Float64Array(bins);
      for (const w of words) counts[(w >>> shift) & (bins - 1)]! += 1;
      const expected = words.length / bins;
      return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    };
    // df = 255: mean 255, sd ≈ 22.6; the 0.1 % two-sided interval is about [185, 337].
    const bytes = new Uint8Array(masked.buffer, masked.byteOffset, masked.byteLength);
    const byteCounts = chi(Uint32Array.from(bytes), 0, 8);
    expect(byteCounts).toBeGreaterThan(185);
    expect(byteCounts).toBeLessThan(337);
    const highByte = chi(masked, 24, 8);
    expect(highByte).toBeGreaterThan(185);
    expect(highByte).toBeLessThan(337);
    const highBit = masked.reduce((s, w) => s + (w >>> 31), 0);
    expect(Math.abs(highBit - dim / 2)).toBeLessThan(4 * Math.sqrt(dim / 4)); // 4 sd
    // The same statistic on the unmasked input is enormous: the test can tell.
    expect(chi(q, 24, 8)).toBeGreaterThan(10_000);
  });
});

describe('secure aggregation protocol: an honest member refuses', () => {
  /** A round up to the unmask requests, with member 6 dropped before masked (so there is someone to ask about). */
  function atUnmask(): { h: Harness; request: MessageOf<'saUnmask'>; client: SecaggClient } {
    const h = new Harness({ n: 6, graph: complete(6), t: 3, dim: 16, seed: 13, drop: { 6: 'masked' } });
    const requests = h.survivors();
    const request = requests.get(1)!;
    expect(request.survivors).toEqual([2, 3, 4, 5]);
    expect(request.dropped).toEqual([6]);
    return { h, request, client: h.client(1) };
  }

  function refuses(client: SecaggClient, bad: MessageOf<'saUnmask'>, good: MessageOf<'saUnmask'>): void {
    expect(codeOf(() => client.unmask(bad))).toBe('UNEXPECTED_MESSAGE');
    expect(client.stage).toBe('failed');
    // Having refused, it reveals nothing even to the correct question.
    expect(codeOf(() => client.unmask(good))).toBe('UNEXPECTED_MESSAGE');
  }

  it('both secrets of one member (named survivor and dropped)', () => {
    const { client, request } = atUnmask();
    refuses(client, { ...request, survivors: [...request.survivors, 6] }, request);
  });

  it('both secrets of a survivor (a survivor also listed as dropped)', () => {
    const { client, request } = atUnmask();
    refuses(client, { ...request, dropped: [...request.dropped, 2] }, request);
  });

  it('a non-partner: itself, or an index outside the group', () => {
    for (const extra of [1, 9]) {
      const { client, request } = atUnmask();
      refuses(client, { ...request, survivors: [...request.survivors, extra] }, request);
    }
  });

  it('a partner left out', () => {
    const { client, request } = atUnmask();
    refuses(client, { ...request, dropped: [] }, request);
  });

  it('fewer than t surviving partners', () => {
    const { client, request } = atUnmask();
    refuses(client, { ...request, survivors: [2, 3], dropped: [4, 5, 6] }, request);
  });

  it('a wrong round', () => {
    const { client, request } = atUnmask();
    refuses(client, { ...request, round: ROUND + 1 }, request);
  });

  it('being asked twice: the second time gets nothing, and the first answer had one kind per member', () => {
    const { client, request } = atUnmask();
    const reply = client.unmask(request);
    expect(reply.selfShares.map((e) => e.index)).toEqual([2, 3, 4, 5]);
    expect(reply.masterShares.map((e) => e.index)).toEqual([6]);
    expect(reply.maskSeeds.map((e) => e.index)).toEqual([6]);
    expect(client.stage).toBe('done');
    expect(codeOf(() => client.unmask(request))).toBe('UNEXPECTED_MESSAGE');
    expect(client.stage).toBe('done');
  });

  it('masking with fewer than t partners', () => {
    const h = new Harness({ n: 6, graph: complete(6), t: 3, dim: 16, seed: 14 });
    const m = h.shares().get(1)!;
    expect(codeOf(() => h.client(1).masked({ ...m, shares: m.shares.slice(0, 2) }, new Float32Array(16)))).toBe('UNEXPECTED_MESSAGE');
  });
});

describe('secure aggregation protocol: stage order and input checks', () => {
  it('client: each stage only after its predecessor; done and failed are final', () => {
    const h = new Harness({ n: 4, graph: complete(4), t: 2, dim: 8, seed: 15 });
    const c = h.client(1);
    expect(codeOf(() => c.encaps({ kind: 'saPeerKeys', round: ROUND, keys: [] }))).toBe('UNEXPECTED_MESSAGE');
    expect(c.stage).toBe('failed');
    expect(codeOf(() => c.keys({ numSamples: 1, meanLoss: 0, trainMs: 0 }))).toBe('UNEXPECTED_MESSAGE');

    const c2 = h.client(2);
    c2.keys({ numSamples: 1, meanLoss: 0, trainMs: 0 });
    expect(c2.stage).toBe('encaps');
    expect(codeOf(() => c2.keys({ numSamples: 1, meanLoss: 0, trainMs: 0 }))).toBe('UNEXPECTED_MESSAGE');
    expect(c2.stage).toBe('failed');

    const c3 = h.client(3);
    c3.keys({ numSamples: 1, meanLoss: 0, trainMs: 0 });
    expect(codeOf(() => c3.shares({ kind: 'saPeerEncaps', round: ROUND, cipherTexts: [], shareCipherTexts: [], attestations: [] }))).toBe('UNEXPECTED_MESSAGE');

    const c4 = h.client(4);
    c4.keys({ numSamples: 1, meanLoss: 0, trainMs: 0 });
    c4.dispose();
    expect(c4.stage).toBe('failed');
    expect(codeOf(() => c4.encaps({ kind: 'saPeerKeys', round: ROUND, keys: [] }))).toBe('UNEXPECTED_MESSAGE');
  });

  it('client: relayed keys must be neighbours, not itself, distinct, of the right size and round', () => {
    const h = new Harness({ n: 6, graph: ring(6, 2, 3), t: 2, dim: 8, seed: 16 });
    const relay = h.keys();
    const i = 1;
    const m = relay.get(i)!;
    const nonNeighbour = [2, 3, 4, 5, 6].find((j) => !h.group.setupFor(i).neighbours.includes(j))!;
    const key = m.keys[0]!.bytes;
    const cases: Array<[MessageOf<'saPeerKeys'>, string]> = [
      [{ ...m, round: ROUND - 1 }, 'UNEXPECTED_MESSAGE'],
      [{ ...m, keys: [...m.keys, { index: i, bytes: key }] }, 'UNEXPECTED_MESSAGE'],
      [{ ...m, keys: [...m.keys, { index: nonNeighbour, bytes: key }] }, 'UNEXPECTED_MESSAGE'],
      [{ ...m, keys: [m.keys[0]!, m.keys[0]!] }, 'UNEXPECTED_MESSAGE'],
      [{ ...m, keys: [{ index: m.keys[0]!.index, bytes: key.subarray(1) }] }, 'BAD_FRAME'],
    ];
    for (const [bad, code] of cases) {
      const fresh = new SecaggClient(ROUND, h.group.setupFor(i), { identity: identity(i), random: seededBytes(1) });
      fresh.keys({ numSamples: 1, meanLoss: 0, trainMs: 0 });
      expect(codeOf(() => fresh.encaps(bad))).toBe(code);
      expect(fresh.stage).toBe('failed');
    }
  });

  it('a threshold of at most half the degree is refused on both sides (split-view protection)', () => {
    const identityKeys = [1, 2, 3, 4, 5].map((i) => identity(i).publicKey);
    const params = { round: ROUND, group: GROUP, memberIds: ['a', 'b', 'c', 'd', 'e'], identityKeys, graph: complete(5), threshold: 2, clip: CLIP, bits: 29, dim: 4 };
    expect(codeOf(() => new SecaggGroup(params))).toBe('BAD_CONFIG');
    const peersOf = (neighbours: number[]) => neighbours.map((j) => ({ index: j, participantId: `p${j}`, identityKey: identity(j).publicKey }));
    const setup = { group: GROUP, index: 1, members: 5, neighbours: [2, 3, 4, 5], threshold: 2, clip: CLIP, bits: 29, peers: peersOf([2, 3, 4, 5]) };
    const options = { identity: identity(1) };
    expect(codeOf(() => new SecaggClient(ROUND, setup, options))).toBe('UNEXPECTED_MESSAGE');
    expect(codeOf(() => new SecaggClient(ROUND, { ...setup, threshold: 3 }, options))).toBeUndefined();
    expect(codeOf(() => new SecaggClient(ROUND, { ...setup, neighbours: [1, 2, 3, 4], peers: peersOf([1, 2, 3, 4]) }, options))).toBe('UNEXPECTED_MESSAGE');
    expect(codeOf(() => new SecaggClient(ROUND, { ...setup, neighbours: [3, 2, 4, 5], peers: peersOf([3, 2, 4, 5]), threshold: 3 }, options))).toBe('UNEXPECTED_MESSAGE');
    // Peers must name each neighbour once, with distinct ids and keys.
    expect(codeOf(() => new SecaggClient(ROUND, { ...setup, threshold: 3, peers: peersOf([2, 3, 4]) }, options))).toBe('UNEXPECTED_MESSAGE');
    const sameKey = setup.peers.map((p) => ({ ...p, identityKey: identity(2).publicKey }));
    expect(codeOf(() => new SecaggClient(ROUND, { ...setup, threshold: 3, peers: sameKey }, options))).toBe('UNEXPECTED_MESSAGE');
    const sameId = setup.peers.map((p) => ({ ...p, participantId: 'p2' }));
    expect(codeOf(() => new SecaggClient(ROUND, { ...setup, threshold: 3, peers: sameId }, options))).toBe('UNEXPECTED_MESSAGE');
    // A neighbour whose key the participant does not trust: refused before anything is sent.
    expect(codeOf(() => new SecaggClient(ROUND, { ...setup, threshold: 3 }, { ...options, trustPeer: (p) => p.index !== 4 }))).toBe('UNTRUSTED_PEER');
  });

  it('coordinator: stage order, members, rounds, duplicates and sizes, without corrupting state', () => {
    const h = new Harness({ n: 5, graph: complete(5), t: 3, dim: 8, seed: 17 });
    const g = h.group;
    expect(codeOf(() => g.relayEncaps())).toBe('UNEXPECTED_MESSAGE');
    expect(codeOf(() => g.unmaskRequests())).toBe('UNEXPECTED_MESSAGE');
    expect(codeOf(() => g.finish())).toBe('UNEXPECTED_MESSAGE');
    expect(codeOf(() => g.acceptMasked(1, { kind: 'saMasked', round: ROUND, masked: new Uint32Array(8), complaints: [] }))).toBe('UNEXPECTED_MESSAGE');

    const k1 = h.client(1).keys({ numSamples: 3, meanLoss: 0.25, trainMs: 9 });
    expect(codeOf(() => g.acceptKeys(0, k1))).toBe('UNEXPECTED_MESSAGE');
    expect(codeOf(() => g.acceptKeys(6, k1))).toBe('UNEXPECTED_MESSAGE');
    expect(codeOf(() => g.acceptKeys(1, { ...k1, round: ROUND + 1 }))).toBe('UNEXPECTED_MESSAGE');
    expect(codeOf(() => g.acceptKeys(1, { ...k1, maskPublicKey: k1.maskPublicKey.subarray(1) }))).toBe('BAD_FRAME');
    expect(codeOf(() => g.acceptKeys(1, { ...k1, sharePublicKey: k1.sharePublicKey.subarray(1) }))).toBe('BAD_FRAME');
    expect(codeOf(() => g.acceptKeys(1, { ...k1, numSamples: 0 }))).toBe('BAD_UPDATE');
    g.acceptKeys(1, k1);
    expect(codeOf(() => g.acceptKeys(1, { ...k1, numSamples: 99 }))).toBe('UNEXPECTED_MESSAGE');
    expect(g.metadata(1)).toEqual({ numSamples: 3, meanLoss: 0.25, trainMs: 9 });
    for (let i = 2; i <= 5; i++) g.acceptKeys(i, h.client(i).keys({ numSamples: i, meanLoss: 0, trainMs: 0 }));
    expect(g.pending()).toEqual([]);
    const relay = g.relayKeys();
    expect(g.stage).toBe('encaps');
    expect(codeOf(() => g.relayKeys())).toBe('UNEXPECTED_MESSAGE');
    expect(codeOf(() => g.acceptKeys(1, k1))).toBe('UNEXPECTED_MESSAGE');

    const e2 = h.client(2).encaps(relay.get(2)!);
    expect(e2.cipherTexts.map((c) => c.index)).toEqual([3, 4, 5]);
    // Missing a higher neighbour, addressed to a lower one, or a wrong size: refused, and nothing recorded.
    expect(codeOf(() => g.acceptEncaps(2, { ...e2, cipherTexts: e2.cipherTexts.slice(1) }))).toBe('UNEXPECTED_MESSAGE');
    expect(codeOf(() => g.acceptEncaps(2, { ...e2, cipherTexts: [...e2.cipherTexts, { index: 1, bytes: e2.cipherTexts[0]!.bytes }] }))).toBe('UNEXPECTED_MESSAGE');
    expect(codeOf(() => g.acceptEncaps(2, { ...e2, cipherTexts: [{ index: 3, bytes: new Uint8Array(5) }, ...e2.cipherTexts.slice(1)] }))).toBe('BAD_FRAME');
    expect(g.pending()).toContain(2);
    g.acceptEncaps(2, e2);
    expect(codeOf(() => g.acceptEncaps(2, e2))).toBe('UNEXPECTED_MESSAGE');
    for (const i of [1, 3, 4, 5]) g.acceptEncaps(i, h.client(i).encaps(relay.get(i)!));
    const relay2 = g.relayEncaps();
    for (const [i, m] of relay2) g.acceptShares(i, h.client(i).shares(m));
    const relay3 = g.relayShares(h.weights);
    const m1 = h.client(1).masked(relay3.get(1)!, new Float32Array(8));
    expect(codeOf(() => g.acceptMasked(1, { ...m1, masked: m1.masked.subarray(1) }))).toBe('BAD_UPDATE');
    g.acceptMasked(1, m1);
    expect(codeOf(() => g.acceptUnmaskReply(1, { kind: 'saUnmaskReply', round: ROUND, selfShares: [], masterShares: [], maskSeeds: [] }))).toBe('UNEXPECTED_MESSAGE');
  });

  it('coordinator: relayShares needs a weight in (0, 1] for everyone it relays to', () => {
    const h = new Harness({ n: 4, graph: complete(4), t: 2, dim: 8, seed: 18 });
    const relay = h.encaps();
    for (const [i, m] of relay) h.group.acceptShares(i, h.client(i).shares(m));
    expect(codeOf(() => h.group.relayShares(new Map([[1, 1]])))).toBe('INTERNAL');
    expect(codeOf(() => h.group.relayShares(new Map([1, 2, 3, 4].map((i) => [i, i === 2 ? 0 : 1]))))).toBe('INTERNAL');
    expect(h.group.stage).toBe('shares'); // nothing changed: a correct call still works
    expect(h.group.relayShares(h.weights).size).toBe(4);
  });
});

describe('secure aggregation protocol: hostile members are blamed, never a wrong sum', () => {
  const n = 6;
  const t = defaultThreshold(n - 1); // 4 of 5 partners
  const base = { n, graph: complete(n), t, dim: 24 };

  /** Member `h`'s shares message with the entry for `to` rewritten. */
  function rewriteShares(msg: Message, field: 'shares' | 'commitments', to: (index: number, bytes: Uint8Array, all: readonly IndexedBytes[], k: number) => Uint8Array): Message {
    if (msg.kind !== 'saShares') throw new Error(`expected saShares, got ${msg.kind}`);
    return { ...msg, [field]: msg[field].map((e, k, all) => ({ index: e.index, bytes: to(e.index, e.bytes, all, k) })) };
  }

  const garbage = (len: number, seed: number): Uint8Array => seededBytes(seed)(len);

  it('garbage sealed for one partner: that partner complains, the sender is blamed and dropped, the rest sum exactly', () => {
    const hostile = (stage: Stage, i: number, msg: Message): Message =>
      stage === 'shares' && i === 2 ? rewriteShares(msg, 'shares', (j, b) => (j === 5 ? garbage(b.length, 1) : b)) : msg;
    const { result } = runRound({ ...base, seed: 30, hostile });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.blamed).toEqual([{ culprit: 2, accuser: 5, kind: 'unopenable-shares', detail: expect.any(String) }]);
    expect(result.survivors).toEqual([1, 3, 4, 5, 6]); // the neighbour it targeted is still in
  });

  it('sealed shares swapped between recipients: every recipient complains, only the sender is blamed', () => {
    const hostile = (stage: Stage, i: number, msg: Message): Message =>
      stage === 'shares' && i === 3 ? rewriteShares(msg, 'shares', (_j, _b, all, k) => all[(k + 1) % all.length]!.bytes) : msg;
    const { result } = runRound({ ...base, seed: 31, hostile });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(new Set(result.blamed.map((b) => b.culprit))).toEqual(new Set([3]));
    expect(result.blamed.map((b) => b.accuser).sort()).toEqual([1, 2, 4, 5, 6]);
    expect(result.survivors).toEqual([1, 2, 4, 5, 6]);
  });

  it('a share that opens but differs from its commitment: blamed as shares-off-commitment', () => {
    const hostile = (stage: Stage, i: number, msg: Message): Message =>
      stage === 'shares' && i === 4 ? rewriteShares(msg, 'commitments', (j, b) => (j === 1 ? b.map((x, k) => (k === 40 ? x ^ 1 : x)) : b)) : msg;
    const { result } = runRound({ ...base, seed: 32, hostile });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.blamed.map(({ culprit, accuser, kind }) => ({ culprit, accuser, kind }))).toEqual([{ culprit: 4, accuser: 1, kind: 'shares-off-commitment' }]);
  });

  it('a false complaint (evidence that is not its own) blames the complainer, not the neighbour it names', () => {
    const hostile = (stage: Stage, i: number, msg: Message): Message =>
      stage === 'masked' && i === 2 && msg.kind === 'saMasked' ? { ...msg, complaints: [{ index: 6, bytes: garbage(32, 2) }] } : msg;
    const { result } = runRound({ ...base, seed: 33, hostile });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.blamed.map(({ culprit, accuser, kind }) => ({ culprit, accuser, kind }))).toEqual([{ culprit: 2, accuser: 2, kind: 'false-complaint' }]);
    expect(result.survivors).toEqual([1, 3, 4, 5, 6]);
  });

  it('shares altered in the relay are not signed by their sender: the member refuses without complaining, revealing nothing', () => {
    const h = new Harness({ ...base, seed: 34 });
    const relay = h.shares();
    // Member 1 is shown a corrupted copy of what 2 sent (the coordinator keeps the original). Without
    // signatures it would complain, and its evidence would open 2's shares for it: a malicious relay could
    // collect t such complaints about one member. Now the signature fails first.
    const m = relay.get(1)!;
    const bad = { ...m, shares: m.shares.map((e) => (e.index === 2 ? { index: 2, bytes: e.bytes.map((b, k) => (k === 3 ? b ^ 1 : b)) } : e)) };
    expect(codeOf(() => h.client(1).masked(wire(bad), updateOf(h.sc, 1)))).toBe('BAD_SIGNATURE');
    expect(h.client(1).stage).toBe('failed');
  });

  it('a wrong unmask share with more than t shares: discarded, its sender named, the sum exact', () => {
    for (const which of ['selfShares', 'masterShares'] as const) {
      // Member 6 drops before masked: b_s has 4 = t shares, P_6 has 5. Corrupt a master share (5 > t) here,
      // and a self share with nobody dropped (5 > t).
      const drop = which === 'masterShares' ? { 6: 'masked' as const } : undefined;
      const hostile = (stage: Stage, i: number, msg: Message): Message =>
        stage === 'unmask' && i === 1 && msg.kind === 'saUnmaskReply' ? { ...msg, [which]: msg[which].map((e, k) => (k === 0 ? { index: e.index, bytes: e.bytes.map((b) => b ^ 0x5a) } : e)) } : msg;
      const { result } = runRound({ ...base, seed: 35, ...(drop ? { drop } : {}), hostile });
      expect(result.ok).toBe(true);
      if (result.ok) expect(result.blamed.map(({ culprit, kind }) => ({ culprit, kind }))).toEqual([{ culprit: 1, kind: 'unmask-share-off-commitment' }]);
    }
  });

  it('a wrong unmask share when a secret has exactly t shares: the group fails cleanly, the sender named', () => {
    // Member 6 vanishes at unmask: each other survivor's b has exactly t = 4 shares.
    const hostile = (stage: Stage, i: number, msg: Message): Message =>
      stage === 'unmask' && i === 1 && msg.kind === 'saUnmaskReply' ? { ...msg, selfShares: msg.selfShares.map((e, k) => (k === 0 ? { index: e.index, bytes: e.bytes.map((b) => b ^ 1) } : e)) } : msg;
    const { h, result } = runRound({ ...base, seed: 36, drop: { 6: 'unmask' }, hostile });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toMatch(/3 good shares, threshold is 4.*blamed: 1/);
    expect(result.blamed.map(({ culprit, kind }) => ({ culprit, kind }))).toEqual([{ culprit: 1, kind: 'unmask-share-off-commitment' }]);
    expect(h.group.stage).toBe('failed');
    // Control: the same round with an honest member 1 completes.
    expect(runRound({ ...base, seed: 36, drop: { 6: 'unmask' } }).result.ok).toBe(true);
  });

  it('a secret that does not match its commitment from stage keys: the group fails, its owner named', () => {
    // A dropped member's P is rebuilt only on the fallback path (docs/secagg-dropout-recovery.md): on n = 7 member
    // 6 vanishes at unmask, so its seed with dropped member 3 is missing and P_3 must be rebuilt.
    const cases = [
      { field: 'selfCommitment', sc: base },
      { field: 'masterCommitment', sc: { n: 7, graph: complete(7), t: defaultThreshold(6), dim: 24, drop: { 3: 'masked', 6: 'unmask' } as const } },
    ] as const;
    for (const { field, sc } of cases) {
      const hostile = (stage: Stage, i: number, msg: Message): Message =>
        stage === 'keys' && i === 3 && msg.kind === 'saKeys' ? { ...msg, [field]: msg[field].map((b, k) => (k === 0 ? b ^ 1 : b)) } : msg;
      const { result } = runRound({ ...sc, seed: 37, hostile });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.blamed.map(({ culprit, kind }) => ({ culprit, kind }))).toEqual([{ culprit: 3, kind: 'secret-off-commitment' }]);
    }
    // With every surviving partner's seed, P_3 is never rebuilt: its bad commitment costs nothing.
    const hostile = (stage: Stage, i: number, msg: Message): Message =>
      stage === 'keys' && i === 3 && msg.kind === 'saKeys' ? { ...msg, masterCommitment: msg.masterCommitment.map((b, k) => (k === 0 ? b ^ 1 : b)) } : msg;
    const { result } = runRound({ ...base, seed: 37, drop: { 3: 'masked' }, hostile });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.recovered).toEqual({ bySeeds: [3], byMaster: [] });
  });

  it('a complaint reveals that direction of that pair only: not the complainer’s own shares, not the mask seed', () => {
    let evidence: Uint8Array | undefined;
    const hostile = (stage: Stage, i: number, msg: Message): Message => {
      if (stage === 'shares' && i === 2) return rewriteShares(msg, 'shares', (j, b) => (j === 5 ? garbage(b.length, 3) : b));
      if (stage === 'masked' && i === 5 && msg.kind === 'saMasked') evidence = msg.complaints[0]?.bytes;
      return msg;
    };
    const h = new Harness({ ...base, seed: 38, hostile });
    const keys = h.keys();
    const encaps = new Map<number, MessageOf<'saEncaps'>>();
    for (const [i, m] of keys) {
      encaps.set(i, wire(h.client(i).encaps(wire(m))));
      h.group.acceptEncaps(i, encaps.get(i)!);
    }
    const sealed = new Map<number, MessageOf<'saShares'>>();
    for (const [i, m] of h.group.relayEncaps()) {
      sealed.set(i, h.out('shares', i, h.client(i).shares(wire(m))));
      h.group.acceptShares(i, sealed.get(i)!);
    }
    h.masked(h.group.relayShares(h.weights));
    expect(evidence).toHaveLength(32);
    const pk2 = keys.get(5)!.keys.find((k) => k.index === 2)!.bytes;
    const proven = encapsulate(pk2.subarray(ML_KEM768_PUBLIC_KEY_BYTES, 2 * ML_KEM768_PUBLIC_KEY_BYTES), evidence);
    expect(proven.cipherText).toEqual(encaps.get(5)!.shareCipherTexts.find((c) => c.index === 2)!.bytes);
    // The other direction (5's shares for 2) and the pair's mask seed stay closed under anything derived from it.
    const fromFive = sealed.get(5)!.shares.find((e) => e.index === 2)!.bytes;
    const candidates = [
      shareKey(proven.sharedSecret, ROUND, GROUP, 5, 2),
      shareKey(proven.sharedSecret, ROUND, GROUP, 2, 5),
      pairwiseSecrets(proven.sharedSecret, ROUND, GROUP, 2, 5).maskSeed,
    ];
    for (const key of candidates) expect(codeOf(() => openShares(key, ROUND, GROUP, 5, 2, fromFive))).toBe('DECRYPT_FAILED');
  });

  it('a member left with fewer than t good partners abstains with its complaints: the culprits are named, not the member', () => {
    // Members 2 and 3 seal (and sign) garbage for member 1: it is left with 3 good partners, below t = 4.
    const hostile = (stage: Stage, i: number, msg: Message): Message =>
      stage === 'shares' && (i === 2 || i === 3) ? rewriteShares(msg, 'shares', (j, b) => (j === 1 ? garbage(b.length, i) : b)) : msg;
    const h = new Harness({ ...base, seed: 39, hostile });
    const relay = h.shares();
    const abstain = h.client(1).masked(relay.get(1)!, new Float32Array(24));
    expect(abstain.masked).toHaveLength(0);
    expect(abstain.complaints.map((c) => c.index)).toEqual([2, 3]);
    h.group.acceptMasked(1, wire(abstain));
    expect(h.group.blamed.map(({ culprit, accuser, kind }) => ({ culprit, accuser, kind }))).toEqual([
      { culprit: 2, accuser: 1, kind: 'unopenable-shares' },
      { culprit: 3, accuser: 1, kind: 'unopenable-shares' },
    ]);
    // It holds nothing any more: asked to go on, it refuses.
    expect(codeOf(() => h.client(1).survivors({ kind: 'saSurvivors', round: ROUND, survivors: [1, 4, 5, 6] }))).toBe('UNEXPECTED_MESSAGE');
    expect(h.client(1).stage).toBe('failed');
    // Abstaining with nothing to complain about, or twice, is refused; and so is an empty input without complaints.
    expect(codeOf(() => h.group.acceptMasked(1, wire(abstain)))).toBe('UNEXPECTED_MESSAGE');
    const up4 = h.client(4).masked(relay.get(4)!, new Float32Array(24));
    expect(codeOf(() => h.group.acceptMasked(4, { ...up4, masked: new Uint32Array(0) }))).toBe('UNEXPECTED_MESSAGE');
    expect(codeOf(() => h.group.acceptMasked(4, { ...up4, masked: new Uint32Array(0), complaints: [{ index: 2, bytes: new Uint8Array(32) }] }))).toBe('UNEXPECTED_MESSAGE');
  });

  it('a member refuses when fewer than t partners\' shares are relayed; complaints are checked like any field', () => {
    const h = new Harness({ ...base, seed: 39 });
    const relay = h.shares();
    // The coordinator relays too few partners' shares (every one signed and good): nothing to complain about.
    const m = relay.get(1)!;
    const few = { ...m, shares: m.shares.slice(0, 3), commitments: m.commitments.slice(0, 3), seedCommitments: m.seedCommitments.slice(0, 3), attestations: m.attestations.slice(0, 3) };
    expect(codeOf(() => h.client(1).masked(wire(few), new Float32Array(24)))).toBe('UNEXPECTED_MESSAGE');
    expect(h.client(1).stage).toBe('failed');
    // Coordinator: a complaint about a non-partner, or so many that fewer than t partners remain, is refused.
    const up = h.client(2).masked(relay.get(2)!, new Float32Array(24));
    const ev = { bytes: new Uint8Array(32) };
    expect(codeOf(() => h.group.acceptMasked(2, { ...up, complaints: [{ index: 2, ...ev }] }))).toBe('UNEXPECTED_MESSAGE');
    expect(codeOf(() => h.group.acceptMasked(2, { ...up, complaints: [{ index: 1, ...ev }, { index: 3, ...ev }] }))).toBe('UNEXPECTED_MESSAGE');
    h.group.acceptMasked(2, up);
  });

  it('a public key that fails the ML-KEM input check is refused at stage keys', () => {
    const h = new Harness({ ...base, seed: 40 });
    const k1 = h.client(1).keys({ numSamples: 1, meanLoss: 0, trainMs: 0 });
    expect(codeOf(() => h.group.acceptKeys(1, { ...k1, sharePublicKey: new Uint8Array(ML_KEM768_PUBLIC_KEY_BYTES).fill(0xff) }))).toBe('BAD_FRAME');
    expect(codeOf(() => h.group.acceptKeys(1, { ...k1, selfCommitment: k1.selfCommitment.subarray(1) }))).toBe('BAD_FRAME');
    h.group.acceptKeys(1, k1);
  });
});

describe('secure aggregation protocol: the share channel is independent of the pairwise master', () => {
  it('rebuilding a member’s pairwise master recovers its mask secrets but never opens its sealed shares', () => {
    const seed = 21;
    const h = new Harness({ n: 5, graph: complete(5), t: defaultThreshold(4), dim: 8, seed });
    // Member 1 draws b_1 then P_1 first: replay its stream to learn P_1, as a coordinator would after
    // reconstructing it from t master shares when member 1 is declared dropped.
    const replay = new ByteStream(deriveSeed(seed, 1));
    replay.bytes(SECRET_BYTES);
    const master = replay.bytes(SECRET_BYTES);

    const relayKeys = h.keys();
    const encaps = new Map<number, MessageOf<'saEncaps'>>();
    for (const [i, m] of relayKeys) {
      encaps.set(i, wire(h.client(i).encaps(wire(m))));
      h.group.acceptEncaps(i, encaps.get(i)!);
    }
    const shares = new Map<number, MessageOf<'saShares'>>();
    for (const [i, m] of h.group.relayEncaps()) {
      shares.set(i, wire(h.client(i).shares(wire(m))));
      h.group.acceptShares(i, shares.get(i)!);
    }

    const keysOf2 = relayKeys.get(1)!.keys.find((k) => k.index === 2)!.bytes;
    const m12 = encapsRandomness(master, ROUND, GROUP, 1, 2);
    const recovered = encapsulate(keysOf2.subarray(0, ML_KEM768_PUBLIC_KEY_BYTES), m12);
    // Control: P_1 does reproduce member 1's mask-key exchange with member 2 (the recovery path works)…
    const sent = encaps.get(1)!.cipherTexts.find((c) => c.index === 2)!.bytes;
    expect(recovered.cipherText).toEqual(sent.subarray(0, ML_KEM768_CIPHERTEXT_BYTES));
    // …but nothing derived from it opens the shares member 1 sealed for member 2.
    const sealed = shares.get(1)!.shares.find((s) => s.index === 2)!.bytes;
    const candidates = [
      shareKey(recovered.sharedSecret, ROUND, GROUP, 1, 2),
      shareKey(recovered.sharedSecret, ROUND, GROUP, 2, 1),
      pairwiseSecrets(recovered.sharedSecret, ROUND, GROUP, 1, 2).maskSeed,
    ];
    for (const key of candidates) expect(codeOf(() => openShares(key, ROUND, GROUP, 1, 2, sealed))).toBe('DECRYPT_FAILED');
    // Member 2 itself opens them: the relay is intact.
    const relayShares = h.group.relayShares(h.weights);
    expect(codeOf(() => h.client(2).masked(wire(relayShares.get(2)!), new Float32Array(8)))).toBeUndefined();
  });
});

describe('secure aggregation protocol: dropout recovery by revealed pairwise seeds (docs/secagg-dropout-recovery.md)', () => {
  const n = 7;
  const t = defaultThreshold(n - 1); // 4 of 6 partners
  const base = { n, graph: complete(n), t, dim: 40 };
  const flip = (b: Uint8Array): Uint8Array => b.map((x, k) => (k === 0 ? x ^ 1 : x));
  const blames = (r: { blamed: readonly { culprit: number; kind: string }[] }) => r.blamed.map(({ culprit, kind }) => ({ culprit, kind }));

  it('every dropped member recovered by seeds: exact sum, no P rebuilt (complete and 4-regular, several dropped)', () => {
    const a = runRound({ ...base, seed: 50, drop: { 2: 'masked', 5: 'masked' } });
    expect(a.result.ok).toBe(true);
    if (a.result.ok) expect(a.result.recovered).toEqual({ bySeeds: [2, 5], byMaster: [] });
    const b = runRound({ n: 10, graph: ring(10, 4, 13), t: defaultThreshold(4), dim: 100, seed: 51, drop: { 6: 'masked' } });
    expect(b.result.ok).toBe(true);
    if (b.result.ok) expect(b.result.recovered).toEqual({ bySeeds: [6], byMaster: [] });
  });

  it('each survivor reveals, per partner, a self-mask share or (share of P and seed): the seed only for the dropped', () => {
    const replies: MessageOf<'saUnmaskReply'>[] = [];
    const hostile = (stage: Stage, _i: number, msg: Message): Message => {
      if (stage === 'unmask' && msg.kind === 'saUnmaskReply') replies.push(msg);
      return msg;
    };
    const { result } = runRound({ ...base, seed: 52, drop: { 4: 'masked' }, hostile });
    expect(result.ok).toBe(true);
    expect(replies).toHaveLength(n - 1);
    for (const r of replies) {
      expect(r.maskSeeds.map((e) => e.index)).toEqual([4]);
      expect(r.masterShares.map((e) => e.index)).toEqual([4]);
      expect(r.selfShares.some((e) => e.index === 4)).toBe(false);
      for (const e of r.maskSeeds) expect(e.bytes).toHaveLength(SECRET_BYTES);
    }
  });

  it('a survivor partner of the dropped member vanishes at unmask: that member falls back to P, the sum is exact', () => {
    const { result } = runRound({ ...base, seed: 53, drop: { 7: 'masked', 6: 'unmask' } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.recovered).toEqual({ bySeeds: [], byMaster: [7] });
    expect(result.survivors).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result.blamed).toEqual([]);
    // Only the dropped member whose seeds are incomplete falls back; the other still goes by seeds.
    const graph = ring(12, 6, 21);
    const mixed = runRound({ n: 12, graph, t: defaultThreshold(6), dim: 60, seed: 54, drop: { 3: 'masked', 7: 'masked', 12: 'unmask' } });
    expect(mixed.result.ok).toBe(true);
    if (!mixed.result.ok) return;
    const partnersOf12 = new Set(graph[12]);
    const { bySeeds, byMaster } = mixed.result.recovered;
    expect([...bySeeds, ...byMaster].sort((x, y) => x - y)).toEqual([3, 7]);
    for (const d of [3, 7]) expect(byMaster.includes(d)).toBe(partnersOf12.has(d));
  });

  it('a survivor that reveals a wrong seed is named and that member falls back to P: the sum is exact, never wrong', () => {
    for (const which of ['flipped', 'another pair’s'] as const) {
      const hostile = (stage: Stage, i: number, msg: Message): Message => {
        if (!(stage === 'unmask' && i === 1 && msg.kind === 'saUnmaskReply')) return msg;
        const seeds = msg.maskSeeds;
        const wrong = which === 'flipped' ? seeds.map((e) => ({ index: e.index, bytes: flip(e.bytes) })) : seeds.map((e, k) => ({ index: e.index, bytes: seeds[(k + 1) % seeds.length]!.bytes }));
        return { ...msg, maskSeeds: wrong };
      };
      const { result } = runRound({ ...base, seed: 55, drop: { 6: 'masked', 7: 'masked' }, hostile });
      expect(result.ok).toBe(true);
      if (!result.ok) continue;
      expect(result.recovered).toEqual({ bySeeds: [], byMaster: [6, 7] });
      expect(new Set(blames(result).map((b) => JSON.stringify(b)))).toEqual(new Set([JSON.stringify({ culprit: 1, kind: 'seed-off-commitment' })]));
    }
  });

  it('a wrong seed when no fallback is possible: the group fails cleanly, the liar named', () => {
    // 7 dropped and 6 vanishes at unmask: P_7 would have 5 shares. Member 1 lies about its seed with 7 and, with
    // member 2, about its share of P_7: 3 good shares remain, below t, so neither path can remove 7's masks.
    const hostile = (stage: Stage, i: number, msg: Message): Message => {
      if (!(stage === 'unmask' && msg.kind === 'saUnmaskReply')) return msg;
      if (i === 1) return { ...msg, maskSeeds: msg.maskSeeds.map((e) => ({ index: e.index, bytes: flip(e.bytes) })), masterShares: msg.masterShares.map((e) => ({ index: e.index, bytes: flip(e.bytes) })) };
      if (i === 2) return { ...msg, masterShares: msg.masterShares.map((e) => ({ index: e.index, bytes: flip(e.bytes) })) };
      return msg;
    };
    const { result } = runRound({ ...base, seed: 56, drop: { 7: 'masked', 6: 'unmask' }, hostile });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toMatch(/pairwise master of dropped member 7: 3 good shares, threshold is 4/);
    expect(new Set(result.blamed.map((b) => b.culprit))).toEqual(new Set([1, 2]));
    expect(result.blamed.some((b) => b.culprit === 1 && b.kind === 'seed-off-commitment')).toBe(true);
  });

  it('the two ends committed to different seeds: the fallback derives the true one and names whoever lied', () => {
    // The dropped member 6 committed (and signed) a wrong seed for its pair with 2.
    const lyingDropped = (stage: Stage, i: number, msg: Message): Message =>
      stage === 'shares' && i === 6 && msg.kind === 'saShares' ? { ...msg, seedCommitments: msg.seedCommitments.map((e) => (e.index === 2 ? { index: 2, bytes: flip(e.bytes) } : e)) } : msg;
    const a = runRound({ ...base, seed: 57, drop: { 6: 'masked' }, hostile: lyingDropped });
    expect(a.result.ok).toBe(true);
    if (a.result.ok) {
      expect(a.result.recovered).toEqual({ bySeeds: [], byMaster: [6] });
      expect(blames(a.result)).toEqual([{ culprit: 6, kind: 'seed-off-commitment' }]);
    }
    // A survivor (3) committed a wrong seed for its pair with 6, then reveals the true one.
    const lyingSurvivor = (stage: Stage, i: number, msg: Message): Message =>
      stage === 'shares' && i === 3 && msg.kind === 'saShares' ? { ...msg, seedCommitments: msg.seedCommitments.map((e) => (e.index === 6 ? { index: 6, bytes: flip(e.bytes) } : e)) } : msg;
    const b = runRound({ ...base, seed: 58, drop: { 6: 'masked' }, hostile: lyingSurvivor });
    expect(b.result.ok).toBe(true);
    if (b.result.ok) {
      expect(b.result.recovered).toEqual({ bySeeds: [], byMaster: [6] });
      expect(blames(b.result)).toEqual([{ culprit: 3, kind: 'seed-off-commitment' }]);
    }
    // Nobody drops: the bad commitment is never checked and costs nothing.
    const c = runRound({ ...base, seed: 59, hostile: lyingSurvivor });
    expect(c.result.ok).toBe(true);
    if (c.result.ok) expect(c.result.blamed).toEqual([]);
  });

  it('unmask replies are checked field by field: seeds of the wrong length, missing, or about a survivor are refused', () => {
    const h = new Harness({ ...base, seed: 60, drop: { 7: 'masked' } });
    const requests = h.survivors();
    const reply = h.client(1).unmask(wire(requests.get(1)!));
    const seed = reply.maskSeeds[0]!;
    expect(seed.index).toBe(7);
    const bad: Array<[Partial<MessageOf<'saUnmaskReply'>>, string]> = [
      [{ maskSeeds: [{ index: 7, bytes: seed.bytes.subarray(1) }] }, 'BAD_FRAME'],
      [{ maskSeeds: [{ index: 7, bytes: new Uint8Array(33) }] }, 'BAD_FRAME'],
      [{ maskSeeds: [] }, 'UNEXPECTED_MESSAGE'],
      [{ maskSeeds: [seed, { index: 2, bytes: seed.bytes }] }, 'UNEXPECTED_MESSAGE'],
      [{ maskSeeds: [seed, seed] }, 'UNEXPECTED_MESSAGE'],
    ];
    for (const [change, code] of bad) expect(codeOf(() => h.group.acceptUnmaskReply(1, { ...reply, ...change }))).toBe(code);
    expect(codeOf(() => h.group.acceptUnmaskReply(1, { ...reply, maskSeeds: [{ index: 7, bytes: new Uint8Array(31) }] }))).toBe('BAD_FRAME');
    // A refused reply changes nothing: the real one is still accepted.
    h.group.acceptUnmaskReply(1, reply);
    // Shares relayed with a pair-seed commitment missing, or of the wrong length, are refused by the member.
    const h2 = new Harness({ ...base, seed: 61 });
    const m = h2.shares().get(1)!;
    expect(codeOf(() => h2.client(1).masked({ ...m, seedCommitments: m.seedCommitments.slice(1) }, new Float32Array(40)))).toBe('UNEXPECTED_MESSAGE');
    const h3 = new Harness({ ...base, seed: 61 });
    const m3 = h3.shares().get(1)!;
    const short = m3.seedCommitments.map((e) => ({ index: e.index, bytes: e.bytes.subarray(1) }));
    expect(codeOf(() => h3.client(1).masked({ ...m3, seedCommitments: short }, new Float32Array(40)))).toBe('BAD_FRAME');
  });
});
