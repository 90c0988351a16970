/**
 * A malicious coordinator against honest secure-aggregation members (issue 12, item 4; Bonawitz et al., CCS 2017,
 * §4, the malicious-server variant), in memory with real crypto and every message through the wire codec. The
 * test plays the coordinator: a real SecaggGroup produces the honest relays, and the test tampers with what
 * honest SecaggClients receive: it substitutes keys, identities, ciphertexts and shares, and splits the members'
 * views of the survivor set U3. Each honest member must refuse (BAD_SIGNATURE, UNTRUSTED_PEER, or
 * UNEXPECTED_MESSAGE for what it can see is wrong without a signature) and stay failed, and whatever the honest
 * members send after the tampering is checked: no unmask share and no complaint leaves a member that was lied to,
 * and across split views the coordinator never holds t shares of both secrets of anyone, nor of b_S and of
 * every pairwise mask seed of an uploaded input y_S.
 */
import { describe, expect, it } from 'vitest';
import {
  ML_KEM768_PUBLIC_KEY_BYTES,
  SECAGG_COMMITMENT_BYTES,
  SECAGG_PEER_KEYS_BYTES,
  SIGNATURE_BYTES,
  createRng,
  deriveSeed,
  encapsulate,
  generateKemKeyPair,
  keysStatement,
  quantizationBits,
  seededBytes,
  signStatement,
  survivorsStatement,
  verifyStatement,
  type IndexedBytes,
  type Message,
  type MessageOf,
  type SecaggPeer,
  type SecaggSetup,
} from '@fedwarden/shared';
import { SecaggClient } from '@fedwarden/client';
import { SecaggGroup } from '@fedwarden/coordinator';
import { ByteStream, codeOf, complete, identity, ring, wire } from './support/secagg-harness.ts';

const ROUND = 11;
const GROUP = 4;
const CLIP = 1;
const DIM = 8;
/** Identity-key seed of the coordinator's own ML-DSA key (members use 1..n). */
const COORDINATOR = 200;

type Stage = 'keys' | 'encaps' | 'shares' | 'masked' | 'survivors' | 'unmask';

/** One message an honest member sent, as the coordinator received it (across the codec). */
interface Sent {
  readonly from: number;
  readonly stage: Stage;
  readonly msg: Message;
}

interface RoundOptions {
  readonly n: number;
  readonly graph: number[][];
  readonly t: number;
  readonly seed: number;
  readonly round?: number;
  readonly group?: number;
  /** The setup the coordinator hands member i (default: the group's honest one). */
  readonly setupOf?: (i: number, honest: SecaggSetup) => SecaggSetup;
  /** Member i's trust decision on its neighbours' identity keys (default: SecaggClient's, accept all). */
  readonly trustOf?: (i: number) => ((peer: SecaggPeer) => boolean) | undefined;
}

function updateOf(seed: number, i: number): Float32Array {
  const rng = createRng(deriveSeed(seed, 1000 + i));
  return Float32Array.from({ length: DIM }, () => 2 * rng.next() - 1);
}

/**
 * One group's round with honest members and a coordinator played by the test. Each stage method takes the relay
 * the test chose (usually the real group's, tampered), asks every member it names, records what each answers or
 * how it refuses, feeds the answers to the real SecaggGroup and returns the group's next relay.
 */
class Round {
  readonly round: number;
  readonly group: number;
  readonly coordinator: SecaggGroup;
  readonly clients = new Map<number, SecaggClient>();
  readonly streams = new Map<number, ByteStream>();
  /** Everything honest members sent, in order. */
  readonly sent: Sent[] = [];
  /** Members that refused: at which stage, with which code. */
  readonly refusals = new Map<number, { stage: Stage; code: string }>();
  /** Each member's masking partners: the senders of the shares relayed to it (stage masked). */
  readonly partners = new Map<number, number[]>();
  readonly bits: number;

  constructor(readonly o: RoundOptions) {
    this.round = o.round ?? ROUND;
    this.group = o.group ?? GROUP;
    this.bits = quantizationBits(o.n);
    const memberIds = Array.from({ length: o.n }, (_, i) => `p${i + 1}`);
    const identityKeys = memberIds.map((_, k) => identity(k + 1).publicKey);
    this.coordinator = new SecaggGroup({ round: this.round, group: this.group, memberIds, identityKeys, graph: o.graph, threshold: o.t, clip: CLIP, bits: this.bits, dim: DIM });
    for (let i = 1; i <= o.n; i++) {
      const honest = this.coordinator.setupFor(i);
      const secagg = o.setupOf?.(i, honest) ?? honest;
      const setup = wire({ kind: 'roundStart', round: this.round, plan: { epochs: 1, batchSize: 1, learningRate: 0.1 }, deadlineMs: 1, global: new Float32Array(0), secagg }).secagg!;
      const stream = new ByteStream(deriveSeed(o.seed, i));
      this.streams.set(i, stream);
      const trustPeer = o.trustOf?.(i);
      const rounding = seededBytes(deriveSeed(o.seed, 500 + i));
      this.clients.set(i, new SecaggClient(this.round, setup, { identity: identity(i), random: stream.bytes, rounding, ...(trustPeer ? { trustPeer } : {}) }));
    }
  }

  client(i: number): SecaggClient {
    return this.clients.get(i) as SecaggClient;
  }

  /** Member i's answer to `call`, across the codec and recorded; undefined (and the refusal recorded) if it refuses. */
  ask<M extends Message>(i: number, stage: Stage, call: (c: SecaggClient) => M): M | undefined {
    let reply: M;
    try {
      reply = call(this.client(i));
    } catch (err) {
      this.refusals.set(i, { stage, code: codeOf(() => { throw err; }) as string });
      return undefined;
    }
    const sent = wire(reply);
    this.sent.push({ from: i, stage, msg: sent });
    return sent;
  }

  keys(): Map<number, MessageOf<'saPeerKeys'>> {
    for (const i of this.clients.keys()) {
      const reply = this.ask(i, 'keys', (c) => c.keys({ numSamples: 10 + i, meanLoss: 0.5, trainMs: 5 }));
      if (reply) this.coordinator.acceptKeys(i, reply);
    }
    return wireAll(this.coordinator.relayKeys());
  }

  encaps(relay: ReadonlyMap<number, MessageOf<'saPeerKeys'>>): Map<number, MessageOf<'saPeerEncaps'>> {
    for (const [i, m] of relay) {
      const reply = this.ask(i, 'encaps', (c) => c.encaps(wire(m)));
      if (reply) this.coordinator.acceptEncaps(i, reply);
    }
    return wireAll(this.coordinator.relayEncaps());
  }

  shares(relay: ReadonlyMap<number, MessageOf<'saPeerEncaps'>>): Map<number, MessageOf<'saPeerShares'>> {
    for (const [i, m] of relay) {
      const reply = this.ask(i, 'shares', (c) => c.shares(wire(m)));
      if (reply) this.coordinator.acceptShares(i, reply);
    }
    return wireAll(this.coordinator.relayShares(new Map([...this.clients.keys()].map((i) => [i, 1]))));
  }

  masked(relay: ReadonlyMap<number, MessageOf<'saPeerShares'>>): Map<number, MessageOf<'saSurvivors'>> {
    for (const [i, m] of relay) {
      const reply = this.ask(i, 'masked', (c) => c.masked(wire(m), updateOf(this.o.seed, i)));
      if (!reply) continue;
      if (reply.masked.length > 0) this.partners.set(i, m.shares.map((e) => e.index).filter((j) => !reply.complaints.some((c) => c.index === j)));
      this.coordinator.acceptMasked(i, reply);
    }
    return wireAll(this.coordinator.survivorsRequests());
  }

  survivors(relay: ReadonlyMap<number, MessageOf<'saSurvivors'>>): Map<number, MessageOf<'saUnmask'>> {
    for (const [i, m] of relay) {
      const reply = this.ask(i, 'survivors', (c) => c.survivors(wire(m)));
      if (reply) this.coordinator.acceptSurvivorsSigned(i, reply);
    }
    return wireAll(this.coordinator.unmaskRequests());
  }

  /** The honest stages up to the consistency round. */
  upToSurvivors(): Map<number, MessageOf<'saSurvivors'>> {
    return this.masked(this.shares(this.encaps(this.keys())));
  }

  /** What member i sent at `stage`, if it did. */
  sentBy<K extends Message['kind']>(i: number, kind: K): MessageOf<K> | undefined {
    return this.sent.find((s) => s.from === i && s.msg.kind === kind)?.msg as MessageOf<K> | undefined;
  }

  /** Member i's signed keys as the group relays them (mask key || share key || commitments || signature). */
  relayedKeysOf(relay: ReadonlyMap<number, MessageOf<'saPeerKeys'>>, i: number): Uint8Array {
    for (const m of relay.values()) {
      const e = m.keys.find((k) => k.index === i);
      if (e) return e.bytes;
    }
    throw new Error(`no relayed keys of member ${i}`);
  }

  /** Expect member i to have refused at `stage` with `code`, to be failed, and to answer nothing more. */
  expectRefused(i: number, stage: Stage, code: string): void {
    expect({ member: i, ...this.refusals.get(i) }).toEqual({ member: i, stage, code });
    expect(this.client(i).stage).toBe('failed');
    expect(codeOf(() => this.client(i).unmask({ kind: 'saUnmask', round: this.round, survivors: [], dropped: [], signatures: [] }))).toBe('UNEXPECTED_MESSAGE');
  }

  /** What members in `who` sent at or after `stage` (a refusing member sends nothing from its refusal on). */
  sentFrom(who: Iterable<number>, stages: readonly Stage[]): Sent[] {
    const set = new Set(who);
    return this.sent.filter((s) => set.has(s.from) && stages.includes(s.stage));
  }
}

function wireAll<M extends Message>(relay: ReadonlyMap<number, M>): Map<number, M> {
  return new Map([...relay].map(([i, m]) => [i, wire(m)]));
}

/** Secrets in what members sent: unmask shares (owner, holder, kind) and complaints (their evidence opens shares). */
function secretsIn(sent: readonly Sent[]): { unmaskShares: number; complaints: number } {
  let unmaskShares = 0;
  let complaints = 0;
  for (const { msg } of sent) {
    if (msg.kind === 'saUnmaskReply') unmaskShares += msg.selfShares.length + msg.masterShares.length;
    if (msg.kind === 'saMasked') complaints += msg.complaints.length;
  }
  return { unmaskShares, complaints };
}

const STAGES_AFTER: Record<Stage, readonly Stage[]> = {
  keys: ['keys', 'encaps', 'shares', 'masked', 'survivors', 'unmask'],
  encaps: ['encaps', 'shares', 'masked', 'survivors', 'unmask'],
  shares: ['shares', 'masked', 'survivors', 'unmask'],
  masked: ['masked', 'survivors', 'unmask'],
  survivors: ['survivors', 'unmask'],
  unmask: ['unmask'],
};

const flipByte = (b: Uint8Array, at: number): Uint8Array => b.map((x, k) => (k === at ? x ^ 1 : x));
const replaceEntry = (list: readonly IndexedBytes[], index: number, bytes: Uint8Array): IndexedBytes[] => list.map((e) => (e.index === index ? { index, bytes } : e));
const entryOf = (list: readonly IndexedBytes[], index: number): Uint8Array => {
  const e = list.find((x) => x.index === index);
  if (!e) throw new Error(`no entry for ${index}`);
  return e.bytes;
};

/** Keys the coordinator made: two ML-KEM public keys and commitments, in the relayed layout, with `signature`. */
function coordinatorKeys(seed: number, sign?: { round: number; group: number; signer: number }): Uint8Array {
  const mask = generateKemKeyPair(seededBytes(seed)(64));
  const share = generateKemKeyPair(seededBytes(seed + 1)(64));
  const fields = { maskPublicKey: mask.publicKey, sharePublicKey: share.publicKey, selfCommitment: seededBytes(seed + 2)(SECAGG_COMMITMENT_BYTES), masterCommitment: seededBytes(seed + 3)(SECAGG_COMMITMENT_BYTES) };
  const signature = sign ? signStatement(identity(COORDINATOR).secretKey, keysStatement(sign.round, sign.group, sign.signer, fields)) : new Uint8Array(SIGNATURE_BYTES).fill(7);
  return concat([fields.maskPublicKey, fields.sharePublicKey, fields.selfCommitment, fields.masterCommitment, signature]);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

describe('a malicious coordinator substitutes keys', () => {
  it('keys a neighbour did not sign for this round and group are refused (BAD_SIGNATURE) before anything is encapsulated', () => {
    const n = 7;
    const r = new Round({ n, graph: complete(n), t: 4, seed: 1 });
    const relay = r.keys();
    // Genuine signed keys of the same members from another round and from another group of this round, as a
    // coordinator that ran those would hold them.
    const earlier = new Round({ n, graph: complete(n), t: 4, seed: 2, round: ROUND - 1 }).keys();
    const elsewhere = new Round({ n, graph: complete(n), t: 4, seed: 3, group: GROUP + 1 }).keys();
    const K = ML_KEM768_PUBLIC_KEY_BYTES;
    const genuine = (j: number): Uint8Array => r.relayedKeysOf(relay, j);
    const withSignatureOf = (keys: Uint8Array, signed: Uint8Array): Uint8Array => concat([keys.subarray(0, SECAGG_PEER_KEYS_BYTES - SIGNATURE_BYTES), signed.subarray(SECAGG_PEER_KEYS_BYTES - SIGNATURE_BYTES)]);
    // member → [neighbour whose keys are replaced, what the coordinator relays instead]
    const substitutions = new Map<number, [number, Uint8Array]>([
      [1, [2, withSignatureOf(coordinatorKeys(10), genuine(2))]], // its own keys under 2's genuine signature
      [2, [3, coordinatorKeys(20, { round: ROUND, group: GROUP, signer: 3 })]], // its own keys, signed with its own identity key
      [3, [4, genuine(5)]], // 5's genuinely signed keys, relayed as 4's
      [4, [5, r.relayedKeysOf(earlier, 5)]], // 5's genuinely signed keys from the previous round
      [5, [6, r.relayedKeysOf(elsewhere, 6)]], // 6's genuinely signed keys from another group of this round
      [6, [7, concat([genuine(7).subarray(0, K), coordinatorKeys(30).subarray(K, 2 * K), genuine(7).subarray(2 * K)])]], // 7's, with its share key swapped
    ]);
    const tampered = new Map(relay);
    for (const [i, [j, bytes]] of substitutions) {
      const m = relay.get(i)!;
      tampered.set(i, { ...m, keys: replaceEntry(m.keys, j, bytes) });
    }
    const mark = r.sent.length;
    r.encaps(tampered);
    for (const i of substitutions.keys()) r.expectRefused(i, 'encaps', 'BAD_SIGNATURE');
    // Member 7 got the honest relay: it encapsulates (control).
    expect(r.refusals.has(7)).toBe(false);
    expect(r.sent.slice(mark).map((s) => [s.from, s.msg.kind])).toEqual([[7, 'saEncaps']]);
    // Nothing from the members that were lied to: no ciphertext to the coordinator's keys, no secret.
    expect(r.sentFrom(substitutions.keys(), STAGES_AFTER.encaps)).toEqual([]);
  });

  it('a coordinator naming its own identity key for a neighbour is refused (UNTRUSTED_PEER) once the neighbour\'s key is pinned', () => {
    const n = 6;
    const graph = complete(n);
    const evil = identity(COORDINATOR).publicKey;
    // Member 1's pins, kept across rounds (TOFU on the participant id, as FederatedClient's PeerPins).
    const pins = new Map<string, string>();
    const pinning = (peer: SecaggPeer): boolean => {
      const key = Buffer.from(peer.identityKey).toString('hex');
      const pinned = pins.get(peer.participantId);
      if (pinned === undefined) pins.set(peer.participantId, key);
      return (pinned ?? key) === key;
    };
    // First round: an honest setup pins every neighbour's key.
    const honest = new Round({ n, graph, t: 4, seed: 4, trustOf: (i) => (i === 1 ? pinning : undefined) });
    expect(pins.size).toBe(n - 1);
    expect(honest.client(1).stage).toBe('keys');

    // Later rounds: the coordinator names another key for a known participant id.
    const setup = (peers: (p: SecaggPeer) => SecaggPeer): SecaggSetup => {
      const s = honest.coordinator.setupFor(1);
      return { ...s, peers: s.peers.map(peers) };
    };
    const swapKeys = (p: SecaggPeer): SecaggPeer => (p.index === 2 ? { ...p, identityKey: identity(3).publicKey } : p.index === 3 ? { ...p, identityKey: identity(2).publicKey } : p);
    const swapIds = (p: SecaggPeer): SecaggPeer => (p.index === 2 ? { ...p, participantId: 'p3' } : p.index === 3 ? { ...p, participantId: 'p2' } : p);
    const cases: Array<[string, SecaggSetup]> = [
      ['its own key for p2', setup((p) => (p.index === 2 ? { ...p, identityKey: evil } : p))],
      ['p2 and p3 with each other\'s keys', setup(swapKeys)],
      ['p2 and p3 under each other\'s ids', setup(swapIds)],
    ];
    for (const [what, s] of cases) {
      const wired = wire({ kind: 'roundStart', round: ROUND + 1, plan: { epochs: 1, batchSize: 1, learningRate: 0.1 }, deadlineMs: 1, global: new Float32Array(0), secagg: s }).secagg!;
      expect({ what, code: codeOf(() => new SecaggClient(ROUND + 1, wired, { identity: identity(1), trustPeer: pinning })) }).toEqual({ what, code: 'UNTRUSTED_PEER' });
    }
    // The pins are unchanged and the honest setup of the next round is accepted.
    expect(pins.get('p2')).toBe(Buffer.from(identity(2).publicKey).toString('hex'));
    expect(codeOf(() => new SecaggClient(ROUND + 1, honest.coordinator.setupFor(1), { identity: identity(1), trustPeer: pinning }))).toBeUndefined();
  });

  it('what the pins are for: on first sight the member takes the coordinator\'s key for a neighbour, and then its signature (documented limit)', () => {
    // README, "Identity keys come from the coordinator": without a directory outside the coordinator, a key
    // named the first time is believed. The same substitution as above, with no pins, is not refused.
    const n = 6;
    const evil = identity(COORDINATOR);
    const r = new Round({
      n,
      graph: complete(n),
      t: 4,
      seed: 5,
      setupOf: (i, s) => (i === 1 ? { ...s, peers: s.peers.map((p) => (p.index === 2 ? { ...p, identityKey: evil.publicKey } : p)) } : s),
    });
    const relay = r.keys();
    const m = relay.get(1)!;
    const forged = coordinatorKeys(40, { round: ROUND, group: GROUP, signer: 2 });
    expect(r.ask(1, 'encaps', (c) => c.encaps({ ...m, keys: replaceEntry(m.keys, 2, forged) }))?.kind).toBe('saEncaps');
  });
});

describe('a malicious coordinator substitutes ciphertexts at encaps', () => {
  it('a ciphertext the neighbour did not sign is refused (BAD_SIGNATURE) before any share is sealed', () => {
    const n = 7;
    const r = new Round({ n, graph: complete(n), t: 4, seed: 6 });
    const keys = r.keys();
    const relay = r.encaps(keys);
    const K = ML_KEM768_PUBLIC_KEY_BYTES;
    const maskKey = (i: number): Uint8Array => r.relayedKeysOf(keys, i).subarray(0, K);
    const shareKey = (i: number): Uint8Array => r.relayedKeysOf(keys, i).subarray(K, 2 * K);
    // The coordinator's own encapsulations to the victim's keys: had the victim accepted one, the coordinator
    // would know the key of the shares it seals for that neighbour (share key) or their pairwise mask (mask key).
    const own = (pk: Uint8Array, seed: number): Uint8Array => encapsulate(pk, seededBytes(seed)(32)).cipherText;
    const tampered = new Map(relay);
    const edit = (i: number, f: (m: MessageOf<'saPeerEncaps'>) => MessageOf<'saPeerEncaps'>): void => void tampered.set(i, f(relay.get(i)!));
    edit(1, (m) => ({ ...m, shareCipherTexts: replaceEntry(m.shareCipherTexts, 2, own(shareKey(1), 1)) })); // share key, from a higher neighbour
    edit(2, (m) => ({ ...m, shareCipherTexts: replaceEntry(m.shareCipherTexts, 1, own(shareKey(2), 2)) })); // share key, from a lower neighbour
    edit(3, (m) => ({ ...m, cipherTexts: replaceEntry(m.cipherTexts, 1, own(maskKey(3), 3)) })); // mask key
    // 2's ciphertexts for 5, with 2's genuine attestation, shown to 4.
    edit(4, (m) => ({ ...m, cipherTexts: replaceEntry(m.cipherTexts, 2, entryOf(relay.get(5)!.cipherTexts, 2)), shareCipherTexts: replaceEntry(m.shareCipherTexts, 2, entryOf(relay.get(5)!.shareCipherTexts, 2)) }));
    edit(5, (m) => ({ ...m, attestations: replaceEntry(m.attestations, 1, entryOf(m.attestations, 3)) })); // 3's attestation as 1's
    edit(6, (m) => ({ ...m, cipherTexts: m.cipherTexts.filter((e) => e.index !== 1) })); // a lower neighbour's mask ciphertext withheld
    const mark = r.sent.length;
    r.shares(tampered);
    for (const i of [1, 2, 3, 4, 5]) r.expectRefused(i, 'shares', 'BAD_SIGNATURE');
    r.expectRefused(6, 'shares', 'UNEXPECTED_MESSAGE');
    expect(r.sent.slice(mark).map((s) => [s.from, s.msg.kind])).toEqual([[7, 'saShares']]); // control: 7's relay was honest
    expect(r.sentFrom([1, 2, 3, 4, 5, 6], STAGES_AFTER.shares)).toEqual([]);
  });
});

describe('a malicious coordinator tampers with relayed shares to draw complaints', () => {
  it('shares its member did not sign are refused (BAD_SIGNATURE), never complained about: no evidence leaves', () => {
    // The old hole: corrupt the shares one member S sealed for t partners; each complains with evidence that
    // opens S's shares for it, and t complaints open both of S's secrets. S = 7, t = 4 partners targeted.
    const n = 7;
    const t = 4;
    const r = new Round({ n, graph: complete(n), t, seed: 7 });
    const relay = r.shares(r.encaps(r.keys()));
    const S = 7;
    const tampered = new Map(relay);
    const edit = (i: number, f: (m: MessageOf<'saPeerShares'>) => MessageOf<'saPeerShares'>): void => void tampered.set(i, f(relay.get(i)!));
    edit(1, (m) => ({ ...m, shares: replaceEntry(m.shares, S, flipByte(entryOf(m.shares, S), 5)) }));
    edit(2, (m) => ({ ...m, commitments: replaceEntry(m.commitments, S, flipByte(entryOf(m.commitments, S), 40)) }));
    // What S sealed for 4, shown to 3 (with S's genuine attestation): it would not open for 3, a complaint.
    edit(3, (m) => ({ ...m, shares: replaceEntry(m.shares, S, entryOf(relay.get(4)!.shares, S)), commitments: replaceEntry(m.commitments, S, entryOf(relay.get(4)!.commitments, S)) }));
    edit(4, (m) => ({ ...m, shares: replaceEntry(m.shares, S, seededBytes(8)(entryOf(m.shares, S).length)), attestations: replaceEntry(m.attestations, S, entryOf(m.attestations, 6)) }));
    const mark = r.sent.length;
    r.masked(tampered);
    for (let i = 1; i <= t; i++) r.expectRefused(i, 'masked', 'BAD_SIGNATURE');
    // 5, 6 and S got honest relays: they mask, and nobody complains about anyone.
    const after = r.sent.slice(mark);
    expect(after.map((s) => [s.from, s.msg.kind])).toEqual([
      [5, 'saMasked'],
      [6, 'saMasked'],
      [7, 'saMasked'],
    ]);
    expect(secretsIn(r.sent)).toEqual({ unmaskShares: 0, complaints: 0 });
  });

  it('a sender\'s attestation withheld, or shares relayed without their commitments, are refused', () => {
    const n = 5;
    const r = new Round({ n, graph: complete(n), t: 3, seed: 9 });
    const relay = r.shares(r.encaps(r.keys()));
    const tampered = new Map(relay);
    const m1 = relay.get(1)!;
    tampered.set(1, { ...m1, attestations: m1.attestations.filter((e) => e.index !== 2) });
    const m2 = relay.get(2)!;
    tampered.set(2, { ...m2, commitments: m2.commitments.filter((e) => e.index !== 3) });
    r.masked(tampered);
    r.expectRefused(1, 'masked', 'UNEXPECTED_MESSAGE');
    r.expectRefused(2, 'masked', 'UNEXPECTED_MESSAGE');
    expect(secretsIn(r.sent)).toEqual({ unmaskShares: 0, complaints: 0 });
  });
});

// ---------------------------------------------------------------------------------------------------------------

/** Who revealed shares of whose secrets, across every unmask reply. */
interface Revealed {
  /** owner → holders that revealed a share of its self-mask seed b. */
  readonly self: Map<number, Set<number>>;
  /** owner → holders that revealed a share of its pairwise master P. */
  readonly master: Map<number, Set<number>>;
}

function revealed(sent: readonly Sent[], colluders: readonly number[] = [], partners?: ReadonlyMap<number, readonly number[]>): Revealed {
  const out: Revealed = { self: new Map(), master: new Map() };
  const add = (m: Map<number, Set<number>>, owner: number, holder: number): void => void (m.get(owner) ?? m.set(owner, new Set()).get(owner)!).add(holder);
  for (const { from, msg } of sent) {
    if (msg.kind !== 'saUnmaskReply') continue;
    for (const e of msg.selfShares) add(out.self, e.index, from);
    for (const e of msg.masterShares) add(out.master, e.index, from);
  }
  // Colluding members hand over both shares they hold of every member they paired with.
  for (const c of colluders) {
    for (const [owner, ps] of partners ?? []) {
      if (!ps.includes(c)) continue;
      add(out.self, owner, c);
      add(out.master, owner, c);
    }
  }
  return out;
}

/**
 * What the coordinator can unmask: members with t shares of both secrets, and uploaders S whose input it can
 * strip of every mask (t shares of b_S, and for each masking partner j of S, t shares of P_S or of P_j).
 */
function exposure(r: Round, t: number, colluders: readonly number[] = []): { bothSecrets: number[]; inputs: number[] } {
  const rev = revealed(r.sent, colluders, r.partners);
  const enough = (m: Map<number, Set<number>>, owner: number): boolean => (m.get(owner)?.size ?? 0) >= t;
  const bothSecrets = [...r.clients.keys()].filter((s) => enough(rev.self, s) && enough(rev.master, s));
  const inputs = [...r.partners.keys()].filter((s) => !colluders.includes(s) && enough(rev.self, s) && r.partners.get(s)!.every((j) => enough(rev.master, s) || enough(rev.master, j)));
  return { bothSecrets, inputs };
}

type SignatureChoice = 'matching' | 'all';

/**
 * The consistency round under split views: member m is told `views(m)` as U3 and signs it (or refuses); then
 * asked to unmask its partners in and out of that view, shown its partners' signatures: those over the same
 * view ('matching', the coordinator's best try) or every one it has ('all'). Returns each member's view.
 */
function splitViews(r: Round, requests: ReadonlyMap<number, MessageOf<'saSurvivors'>>, views: (m: number) => readonly number[], choice: SignatureChoice): Map<number, string> {
  const viewOf = new Map<number, string>();
  const signatures = new Map<number, Uint8Array>();
  for (const m of requests.keys()) {
    const view = [...views(m)].sort((a, b) => a - b);
    const reply = r.ask(m, 'survivors', (c) => c.survivors({ kind: 'saSurvivors', round: r.round, survivors: view }));
    if (!reply) continue;
    viewOf.set(m, view.join(','));
    signatures.set(m, reply.signature);
  }
  for (const [m, view] of viewOf) {
    const u3 = view.split(',').map(Number);
    const held = r.partners.get(m)!;
    const survivors = held.filter((j) => u3.includes(j));
    const dropped = held.filter((j) => !u3.includes(j));
    const shown = survivors.filter((j) => signatures.has(j) && (choice === 'all' || viewOf.get(j) === view)).map((j) => ({ index: j, bytes: signatures.get(j)! }));
    r.ask(m, 'unmask', (c) => c.unmask({ kind: 'saUnmask', round: r.round, survivors, dropped, signatures: shown }));
  }
  return viewOf;
}

/**
 * The invariants of the consistency round: a member that answered unmask had signed one view and was shown at
 * least t valid signatures of its partners over that same view; nobody's two secrets and no uploaded input are
 * open to the coordinator.
 */
function expectConsistencyHolds(r: Round, t: number, viewOf: ReadonlyMap<number, string>): void {
  const requestOf = new Map<number, MessageOf<'saUnmask'>>();
  // The requests are not recorded by Round (the test made them): rebuild what each replier was shown from its reply.
  for (const { from, msg } of r.sent) {
    if (msg.kind !== 'saUnmaskReply') continue;
    const u3 = viewOf.get(from)!.split(',').map(Number);
    const shownBy = [...viewOf].filter(([j, v]) => j !== from && v === viewOf.get(from) && r.partners.get(from)!.includes(j)).map(([j]) => j);
    // Every partner counted really signed this view, under its own key (the member checked; check again here).
    const valid = shownBy.filter((j) => {
      const sig = r.sentBy(j, 'saSurvivorsSigned')?.signature;
      return sig !== undefined && verifyStatement(identity(j).publicKey, survivorsStatement(r.round, r.group, j, u3), sig);
    });
    expect({ member: from, signers: valid.length >= t }).toEqual({ member: from, signers: true });
    // One kind per partner, as its view says.
    expect(msg.selfShares.map((e) => e.index).every((j) => u3.includes(j))).toBe(true);
    expect(msg.masterShares.map((e) => e.index).every((j) => !u3.includes(j))).toBe(true);
    requestOf.set(from, msg as never);
  }
  expect(exposure(r, t)).toEqual({ bothSecrets: [], inputs: [] });
}

describe('a malicious coordinator splits the members\' views of U3', () => {
  const n = 7;
  const t = 4; // defaultThreshold(6); 2t > k = 6
  const S = 7;
  const all = [1, 2, 3, 4, 5, 6, 7];
  const without = (x: number): number[] => all.filter((j) => j !== x);

  /** Members in `inView` are told S survived (U3 = all), the others that S dropped; S is told it survived. */
  function split(seed: number, inView: readonly number[], choice: SignatureChoice = 'matching'): { r: Round; viewOf: Map<number, string> } {
    const r = new Round({ n, graph: complete(n), t, seed });
    const requests = r.upToSurvivors();
    expect([...requests.values()].every((m) => m.survivors.length === n)).toBe(true); // honestly, everyone survived
    const viewOf = splitViews(r, requests, (m) => (m === S || inView.includes(m) ? all : without(S)), choice);
    expectConsistencyHolds(r, t, viewOf);
    return { r, viewOf };
  }

  const repliers = (r: Round): number[] => r.sent.filter((s) => s.msg.kind === 'saUnmaskReply').map((s) => s.from);

  it('a majority told "S survived": they unmask (b_S only), the minority told "S dropped" is shown too few signatures and refuses', () => {
    const { r } = split(11, [1, 2, 3, 4]);
    expect(repliers(r)).toEqual([1, 2, 3, 4, 7]);
    for (const m of [5, 6]) r.expectRefused(m, 'unmask', 'UNEXPECTED_MESSAGE');
    const rev = revealed(r.sent);
    expect(rev.self.get(S)?.size).toBe(4);
    expect(rev.master.get(S)).toBeUndefined();
  });

  it('a majority told "S dropped": they unmask (P_S only), the minority told "S survived" refuses', () => {
    const { r } = split(12, [1]);
    expect(repliers(r)).toEqual([2, 3, 4, 5, 6]);
    for (const m of [1, S]) r.expectRefused(m, 'unmask', 'UNEXPECTED_MESSAGE');
    const rev = revealed(r.sent);
    expect(rev.master.get(S)?.size).toBe(5);
    expect(rev.self.get(S)).toBeUndefined();
  });

  it('an even split: neither side has t partners\' signatures over its view, nobody unmasks', () => {
    const { r } = split(13, [1, 2, 3]);
    expect(repliers(r)).toEqual([]);
    for (const m of all) r.expectRefused(m, 'unmask', 'UNEXPECTED_MESSAGE');
    expect(secretsIn(r.sent).unmaskShares).toBe(0);
  });

  it('every signature forwarded, the other view\'s included: each member finds one over another U3 and refuses (BAD_SIGNATURE)', () => {
    const { r } = split(14, [1, 2, 3, 4], 'all');
    for (const m of all) r.expectRefused(m, 'unmask', 'BAD_SIGNATURE');
    expect(secretsIn(r.sent).unmaskShares).toBe(0);
  });

  it('a U3 without the member itself is refused at the consistency round', () => {
    const r = new Round({ n, graph: complete(n), t, seed: 15 });
    const requests = r.upToSurvivors();
    splitViews(r, requests, (m) => without(m), 'matching');
    for (const m of all) r.expectRefused(m, 'survivors', 'UNEXPECTED_MESSAGE');
    expect(r.sentFrom(all, STAGES_AFTER.survivors)).toEqual([]);
  });

  it('in a sparse graph, random views per member: the invariants hold whoever unmasks', () => {
    // 4-regular, n = 10, t = 3: views are local, so several may each gather t signatures in their part of
    // the graph. Each member is told a random subset of the uploaders that contains itself.
    for (const seed of [21, 22, 23]) {
      const m = 10;
      const tt = 3;
      const r = new Round({ n: m, graph: ring(m, 4, seed), t: tt, seed });
      const requests = r.upToSurvivors();
      const rng = createRng(seed);
      // Three candidate views, each dropping a different pair; each member gets one that keeps it.
      const candidates = [
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].filter((j) => j !== 1 + Math.floor(rng.next() * 10)),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].filter((j) => j !== 1 + Math.floor(rng.next() * 10)),
      ];
      const viewOf = splitViews(r, requests, (x) => {
        const fits = candidates.filter((c) => c.includes(x));
        return fits[Math.floor(rng.next() * fits.length)]!;
      }, 'matching');
      expectConsistencyHolds(r, tt, viewOf);
    }
  });
});

describe('the consistency round: an honest member refuses to unmask', () => {
  it('without t partners\' valid signatures over the U3 it signed, or with survivors/dropped that contradict it', () => {
    const n = 8;
    const t = 5; // defaultThreshold(7)
    const r = new Round({ n, graph: complete(n), t, seed: 31 });
    const honest = r.survivors(r.upToSurvivors());
    const u3 = [1, 2, 3, 4, 5, 6, 7, 8];
    expect(honest.size).toBe(n);
    // Signatures a coordinator holds from elsewhere: member j's over the same indices in the previous round and in
    // another group (each exactly what honest j signs there), and over another U3 of this round.
    const sign = (j: number, round: number, group: number, set: readonly number[]): Uint8Array => signStatement(identity(j).secretKey, survivorsStatement(round, group, j, set));
    const sigs = (m: MessageOf<'saUnmask'>) => m.signatures;
    const tampered = new Map<number, MessageOf<'saUnmask'>>();
    const edit = (i: number, f: (m: MessageOf<'saUnmask'>) => Partial<MessageOf<'saUnmask'>>): void => void tampered.set(i, { ...honest.get(i)!, ...f(honest.get(i)!) });
    edit(1, (m) => ({ signatures: sigs(m).slice(0, t - 1) })); // withheld: t − 1
    edit(2, (m) => ({ signatures: replaceEntry(sigs(m), 3, sign(3, ROUND - 1, GROUP, u3)) })); // previous round
    edit(3, (m) => ({ signatures: replaceEntry(sigs(m), 4, sign(4, ROUND, GROUP + 1, u3)) })); // another group
    edit(4, (m) => ({ signatures: replaceEntry(sigs(m), 5, sign(5, ROUND, GROUP, u3.filter((j) => j !== 8))) })); // another U3
    edit(5, (m) => ({ signatures: replaceEntry(sigs(m), 6, entryOf(sigs(m), 7)) })); // 7's signature as 6's
    // 8 listed as dropped although the U3 both signed holds it; the signatures shown are valid.
    edit(6, (m) => ({ survivors: m.survivors.filter((j) => j !== 8), dropped: [8], signatures: sigs(m).filter((e) => e.index !== 8) }));
    edit(7, (m) => ({ survivors: m.survivors.filter((j) => j !== 8), signatures: sigs(m).filter((e) => e.index !== 8) })); // a partner left out
    // Padded to t with a partner's signature twice: the codec refuses the repeated index, and so does the member
    // when handed the message directly.
    const m8 = honest.get(8)!;
    const padded = { ...m8, signatures: [...sigs(m8).slice(0, t - 1), sigs(m8)[0]!] };
    expect(codeOf(() => wire(padded))).toBe('BAD_FRAME');
    const mark = r.sent.length;
    for (const [i, m] of tampered) r.ask(i, 'unmask', (c) => c.unmask(wire(m)));
    r.ask(8, 'unmask', (c) => c.unmask(padded));
    for (const [i, code] of [
      [1, 'UNEXPECTED_MESSAGE'],
      [2, 'BAD_SIGNATURE'],
      [3, 'BAD_SIGNATURE'],
      [4, 'BAD_SIGNATURE'],
      [5, 'BAD_SIGNATURE'],
      [6, 'UNEXPECTED_MESSAGE'],
      [7, 'UNEXPECTED_MESSAGE'],
      [8, 'UNEXPECTED_MESSAGE'],
    ] as const) {
      r.expectRefused(i, 'unmask', code);
    }
    expect(r.sent.slice(mark)).toEqual([]);
  });

  it('the same checks pass an honest request (control), and the member\'s own signature does not count as a partner\'s', () => {
    const n = 5;
    const t = 3;
    const r = new Round({ n, graph: complete(n), t, seed: 32 });
    const honest = r.survivors(r.upToSurvivors());
    const own = r.sentBy(1, 'saSurvivorsSigned')!.signature;
    const m1 = honest.get(1)!;
    r.ask(1, 'unmask', (c) => c.unmask({ ...m1, signatures: [...m1.signatures.slice(0, t - 1), { index: 1, bytes: own }] }));
    r.expectRefused(1, 'unmask', 'UNEXPECTED_MESSAGE');
    const reply = r.ask(2, 'unmask', (c) => c.unmask(honest.get(2)!));
    expect(reply?.selfShares.map((e) => e.index)).toEqual([1, 3, 4, 5]);
    expect(reply?.masterShares).toEqual([]);
  });
});
