/**
 * A fuzzing hostile member in a secure group, over real sockets and real crypto (6 members, complete graph,
 * t = 4), over many rounds. Each round a seeded plan picks one stage (keys, encaps, shares, masked, survivors,
 * unmask) and one mutation of what the member says there, from a deck that holds every mutation once:
 * structure-aware changes of a field (bytes flipped or randomised, a fixed-size field truncated or extended in
 * the frame, an entry's index out of range, repeated, its own, or another neighbour's; entries dropped,
 * duplicated, swapped or reordered; numbers out of range), its masked words randomised, lied about or of the
 * wrong length, false or mis-addressed complaints, the signature itself altered, foreign or stale, a replay of
 * its message from an earlier round (as sent, or with the round rewritten and signed again), a message of a
 * later stage, an earlier stage or the coordinator's side, random messages, duplicates, an `error`, withheld
 * messages, and structure-blind mutations of the encoded frame (fuzz-inputs.ts). What it changes in a signed
 * stage is signed again with its own identity key (resign.ts: a hostile member signs its own lies), except
 * where the mutation is the signature.
 *
 * The coordinator closes a member whose message it refuses; this member then connects again with the same
 * token and identity key and takes part in the next round (minParticipants = 6 makes each round wait for it).
 *
 * Per round: the coordinator never fails (one record per round, no INTERNAL close); the honest members never
 * refuse and finish; nobody but the hostile member is blamed; an aborted round leaves the global adapter as it
 * was and either names the culprit or is the group refused by the sum-range check (whose culprit the masks
 * hide, by design: sum-range.ts); a completed round has every honest member in its reported set and moves the
 * global adapter by exactly the weighted mean of the reported members' updates — weights are samples (capped
 * at 3 × the median) × reputation score, read from the coordinator before the round, and the hostile member's
 * sample count is what the round record adds up — except in coordinates whose masked words the member lied
 * about (its own input is its to choose within the honest range: sum-range.ts, "Limits"). Mutations with a
 * known consequence also check it: a signature that does not verify is refused (BAD_SIGNATURE) and blamed as
 * 'bad-signature'; a false complaint, an unmask share or a sealed share it corrupted names it.
 *
 * FEDWARDEN_FUZZ_SEED replays a run's plan (keys and masks come from the CSPRNG, the plan and every mutation's
 * choices from the seed); FEDWARDEN_FUZZ_ROUNDS sets the number of rounds (default 20).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient, SecaggClient } from '@fedwarden/client';
import {
  SECAGG_COMPLAINT_BYTES,
  SIGNATURE_BYTES,
  createRng,
  decodeMessage,
  deriveSeed,
  encodeMessage,
  generateIdentity,
  median,
  shuffle,
  signStatement,
  survivorsStatement,
  toFedwardenError,
  type IdentityKeyPair,
  type IndexedBytes,
  type Message,
  type MessageKind,
  type MessageOf,
  type Rng,
  type SecaggSetup,
} from '@fedwarden/shared';
import type { BlameKind, RoundRecord } from '@fedwarden/coordinator';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { FUZZ_SEED } from './support/fuzz-harness.ts';
import { concat, int, mutate, pick, randomBytes, sampleMessage } from './support/fuzz-inputs.ts';
import type { SecaggStage } from './support/hostile-member.ts';
import { RawPeer, type CloseInfo } from './support/raw-peer.ts';
import { resign } from './support/resign.ts';

let fed: TestFederation | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
});

const N = 6;
const DIM = 200;
const HOSTILE = 5; // participant p5
const ROUNDS = process.env.FEDWARDEN_FUZZ_ROUNDS ? Number(process.env.FEDWARDEN_FUZZ_ROUNDS) : 20;
/** About 1 s a round alone; a loaded machine (the suite beside two CPU-bound jobs) may take several times that. */
const RUN_TIMEOUT_MS = Math.max(240_000, ROUNDS * 12_000);
const STAGES: readonly SecaggStage[] = ['keys', 'encaps', 'shares', 'masked', 'survivors', 'unmask'];
const KIND_OF: Readonly<Record<SecaggStage, MessageKind>> = {
  keys: 'saKeys',
  encaps: 'saEncaps',
  shares: 'saShares',
  masked: 'saMasked',
  survivors: 'saSurvivorsSigned',
  unmask: 'saUnmaskReply',
};
/** Kinds a participant never sends (hello only once, update not in secure aggregation). */
const FOREIGN_KINDS: readonly MessageKind[] = ['hello', 'welcome', 'roundStart', 'update', 'updateAck', 'roundEnd', 'finished', 'saPeerKeys', 'saPeerEncaps', 'saPeerShares', 'saSurvivors', 'saUnmask'];
const SIGNED_FIELDS = new Set(['signature', 'attestation']);
/** Random words in this many masked coordinates leave the honest sum range (≤ ¾ of 2^32 wide) but with p < 1e-8. */
const SURELY_OUT_OF_RANGE = 64;

// ---- the fuzzing member: a real channel and a real SecaggClient, every stage answer through the hand ----

interface StageCall {
  readonly round: number;
  readonly stage: SecaggStage;
  /** What the coordinator sent that this answers (roundStart for keys). */
  readonly incoming: Message;
  /** The honest, signed answer. */
  readonly honest: Message;
  readonly setup: SecaggSetup;
  readonly identity: IdentityKeyPair;
}

/** A message, or plaintext bytes sealed as they are (a frame the codec would not produce). Empty: withheld. */
type Outgoing = Message | Uint8Array;
type FuzzHand = (call: StageCall) => readonly Outgoing[];

interface FuzzMember {
  readonly done: Promise<void>;
  /** Each time the coordinator closed it: the round it was in and the close code and reason. */
  readonly closes: Array<CloseInfo & { round: number }>;
  /** Mutations the codec could not encode (a bug of this test). */
  readonly unencodable: string[];
}

async function startFuzzMember(fed: TestFederation, manifest: FakeModel['manifest'], update: Float32Array, numSamples: number, hand: FuzzHand): Promise<FuzzMember> {
  const identity = generateIdentity();
  const closes: Array<CloseInfo & { round: number }> = [];
  const unencodable: string[] = [];
  let round = 0;

  const serve = async (peer: RawPeer): Promise<boolean> => {
    let client: SecaggClient | undefined;
    const answer = (stage: SecaggStage, incoming: Message, make: (c: SecaggClient) => Message): void => {
      if (!client) return; // a stage of a round this session is not part of
      let honest: Message;
      try {
        honest = make(client);
      } catch (err) {
        const e = toFedwardenError(err);
        peer.sendSealed({ kind: 'error', code: e.code, message: e.message });
        return;
      }
      for (const out of hand({ round: client.round, stage, incoming, honest, setup: client.setup, identity })) {
        let plain: Uint8Array;
        try {
          plain = out instanceof Uint8Array ? out : encodeMessage(out);
        } catch (err) {
          unencodable.push(`round ${client.round} ${stage}: ${(err as Error).message}`);
          continue;
        }
        peer.sendSealed(plain);
      }
    };
    for (;;) {
      const msg = await peer.next().catch(() => undefined);
      if (!msg) return false;
      switch (msg.kind) {
        case 'finished':
          return true;
        case 'roundStart':
          round = msg.round;
          client?.dispose();
          client = msg.secagg ? new SecaggClient(msg.round, msg.secagg, { identity }) : undefined;
          answer('keys', msg, (c) => c.keys({ numSamples, meanLoss: 1, trainMs: 0 }));
          break;
        case 'saPeerKeys':
          answer('encaps', msg, (c) => c.encaps(msg));
          break;
        case 'saPeerEncaps':
          answer('shares', msg, (c) => c.shares(msg));
          break;
        case 'saPeerShares':
          answer('masked', msg, (c) => c.masked(msg, update));
          break;
        case 'saSurvivors':
          answer('survivors', msg, (c) => c.survivors(msg));
          break;
        case 'saUnmask':
          answer('unmask', msg, (c) => c.unmask(msg));
          break;
        case 'roundEnd':
          client?.dispose();
          client = undefined;
          break;
        default:
          break;
      }
    }
  };

  const done = (async () => {
    for (let session = 0; session < 4 * ROUNDS; session++) {
      let peer: RawPeer;
      try {
        peer = await RawPeer.connect(fed.url);
        await peer.join(fed.fingerprint, fed.tokens[HOSTILE]!, manifest, identity);
      } catch {
        return; // the coordinator is gone
      }
      if (await serve(peer)) {
        peer.ws.close();
        return;
      }
      closes.push({ round, ...(await peer.closed) });
    }
  })();
  return { done, closes, unencodable };
}

// ---- mutations ----

interface Trace {
  readonly round: number;
  readonly stage: SecaggStage;
  readonly mutation: string;
  /** Whether the planned stage came (the member may have been dropped earlier). */
  applied: boolean;
  note: string;
  /** Masked coordinates whose words differ from the honest ones in the first saMasked it sent. */
  lied: Set<number>;
  /** Blame kinds of which one must name it, when the mutation has a known consequence. */
  expectBlame?: readonly BlameKind[];
  /** The coordinator must close it with this code. */
  expectClose?: string;
}

interface Apply extends StageCall {
  readonly rng: Rng;
  readonly trace: Trace;
  /** Its honest answers of earlier rounds (and this one), with what they answered. */
  readonly history: ReadonlyMap<number, Partial<Record<SecaggStage, { incoming: Message; honest: Message }>>>;
}

interface Mutation {
  readonly stages: readonly SecaggStage[];
  /** Needs an earlier round's messages. */
  readonly replay?: boolean;
  apply(a: Apply): readonly Outgoing[];
}

/** A Uint8Array field of a message, or the bytes of one entry of an index-addressed list. */
interface Slot {
  readonly name: string;
  readonly bytes: Uint8Array;
  put(bytes: Uint8Array): Message;
}

interface List {
  readonly name: string;
  readonly entries: readonly IndexedBytes[];
  put(entries: IndexedBytes[]): Message;
}

const isEntry = (e: unknown): e is IndexedBytes => typeof e === 'object' && e !== null && 'index' in e && (e as IndexedBytes).bytes instanceof Uint8Array;

function lists(msg: Message): List[] {
  const out: List[] = [];
  for (const [name, value] of Object.entries(msg)) {
    if (Array.isArray(value) && value.every(isEntry)) out.push({ name, entries: value, put: (entries) => ({ ...msg, [name]: entries }) as Message });
  }
  return out;
}

/** Byte fields: the signatures (`signed`) or everything else, list entries included. */
function slots(msg: Message, signed = false): Slot[] {
  const out: Slot[] = [];
  for (const [name, value] of Object.entries(msg)) {
    if (value instanceof Uint8Array && SIGNED_FIELDS.has(name) === signed) out.push({ name, bytes: value, put: (b) => ({ ...msg, [name]: b }) as Message });
  }
  if (signed) return out;
  for (const list of lists(msg)) {
    list.entries.forEach((e, k) =>
      out.push({ name: `${list.name}[→${e.index}]`, bytes: e.bytes, put: (b) => list.put(list.entries.map((x, i) => (i === k ? { index: x.index, bytes: b } : x))) }),
    );
  }
  return out;
}

function flipBytes(rng: Rng, bytes: Uint8Array, within = bytes.length): Uint8Array {
  const out = bytes.slice();
  for (let n = 1 + int(rng, 4); n > 0; n--) {
    const at = int(rng, within);
    out[at] = (out[at] as number) ^ (1 + int(rng, 255));
  }
  return out;
}

const sign = (a: StageCall, msg: Message, identity = a.identity): Message => resign(msg, identity, a.setup.group, a.setup.index);
const signU3 = (a: StageCall, u3: readonly number[], identity = a.identity): MessageOf<'saSurvivorsSigned'> => ({
  kind: 'saSurvivorsSigned',
  round: a.round,
  signature: signStatement(identity.secretKey, survivorsStatement(a.round, a.setup.group, a.setup.index, u3)),
});
const withRound = (msg: Message, round: number): Message => ({ ...msg, round }) as Message;

/** Blame kinds that a corrupted field of `stage` should bring on it. */
function corruptionBlame(stage: SecaggStage, slot: string): readonly BlameKind[] | undefined {
  if (stage === 'unmask') return ['unmask-share-off-commitment', 'seed-off-commitment'];
  // A pair-seed commitment is checked only when one end of the pair drops (docs/secagg-dropout-recovery.md).
  if (stage === 'shares' && slot.startsWith('seedCommitments')) return undefined;
  if (stage === 'shares') return ['unopenable-shares', 'shares-off-commitment'];
  // Its b is rebuilt (it stays in U3) and checked against C_b; C_P is checked only when P is rebuilt (it dropped).
  if (stage === 'keys' && slot === 'selfCommitment') return ['secret-off-commitment'];
  return undefined;
}

let foreignIdentity: IdentityKeyPair | undefined;
const foreign = (): IdentityKeyPair => (foreignIdentity ??= generateIdentity());

const WITH_FIELDS: readonly SecaggStage[] = ['keys', 'encaps', 'shares', 'unmask'];
const WITH_LISTS: readonly SecaggStage[] = ['encaps', 'shares', 'unmask'];
const SIGNED: readonly SecaggStage[] = ['keys', 'encaps', 'shares', 'survivors'];

const MUTATIONS: Readonly<Record<string, Mutation>> = {
  flip: {
    stages: WITH_FIELDS,
    apply(a) {
      const slot = pick(a.rng, slots(a.honest));
      a.trace.note = slot.name;
      const blame = corruptionBlame(a.stage, slot.name);
      if (blame) a.trace.expectBlame = blame;
      return [sign(a, slot.put(flipBytes(a.rng, slot.bytes)))];
    },
  },
  'random-field': {
    stages: WITH_FIELDS,
    apply(a) {
      const slot = pick(a.rng, slots(a.honest));
      a.trace.note = slot.name;
      const blame = corruptionBlame(a.stage, slot.name);
      if (blame) a.trace.expectBlame = blame;
      return [sign(a, slot.put(randomBytes(a.rng, slot.bytes.length)))];
    },
  },
  /** A field cut short or lengthened inside the encoded frame (the codec writes fixed sizes only). */
  resize: {
    stages: STAGES,
    apply(a) {
      const fields = [...slots(a.honest), ...slots(a.honest, true)];
      if (a.honest.kind === 'saMasked') fields.push({ name: 'masked', bytes: new Uint8Array(a.honest.masked.buffer, a.honest.masked.byteOffset, a.honest.masked.byteLength), put: () => a.honest });
      const slot = pick(a.rng, fields);
      const plain = encodeMessage(a.honest);
      const at = Buffer.from(plain).indexOf(Buffer.from(slot.bytes));
      const end = at < 0 ? plain.length : at + slot.bytes.length;
      if (a.rng.next() < 0.5) {
        const cut = 1 + int(a.rng, Math.min(slot.bytes.length, 64));
        a.trace.note = `${slot.name} −${cut} bytes`;
        return [concat(plain.subarray(0, end - cut), plain.subarray(end))];
      }
      const extra = randomBytes(a.rng, 1 + int(a.rng, 64));
      a.trace.note = `${slot.name} +${extra.length} bytes`;
      return [concat(plain.subarray(0, end), extra, plain.subarray(end))];
    },
  },
  /** An entry addressed out of range, twice, to itself, or to a neighbour it is not for (mis-addressed). */
  index: {
    stages: WITH_LISTS,
    apply(a) {
      const list = pick(a.rng, lists(a.honest).filter((l) => l.entries.length > 0));
      const k = int(a.rng, list.entries.length);
      const present = list.entries.map((e) => e.index);
      const { index: own, members, neighbours } = a.setup;
      const choices = [0, members + 1, 255, 256, 0xffffffff, own, ...present.filter((_, i) => i !== k), ...neighbours.filter((j) => !present.includes(j))];
      const to = pick(a.rng, choices);
      a.trace.note = `${list.name}: entry for ${list.entries[k]!.index} sent to ${to}`;
      return [sign(a, list.put(list.entries.map((e, i) => (i === k ? { index: to, bytes: e.bytes } : e))))];
    },
  },
  'drop-entry': {
    stages: WITH_LISTS,
    apply(a) {
      const list = pick(a.rng, lists(a.honest).filter((l) => l.entries.length > 0));
      const k = int(a.rng, list.entries.length);
      a.trace.note = `${list.name}: entry for ${list.entries[k]!.index} dropped`;
      return [sign(a, list.put(list.entries.filter((_, i) => i !== k)))];
    },
  },
  'dup-entry': {
    stages: WITH_LISTS,
    apply(a) {
      const list = pick(a.rng, lists(a.honest).filter((l) => l.entries.length > 0));
      const e = pick(a.rng, list.entries);
      const spare = a.setup.neighbours.filter((j) => !list.entries.some((x) => x.index === j));
      const to = spare.length > 0 && a.rng.next() < 0.5 ? pick(a.rng, spare) : e.index;
      a.trace.note = `${list.name}: entry for ${e.index} also sent to ${to}`;
      return [sign(a, list.put([...list.entries, { index: to, bytes: e.bytes }]))];
    },
  },
  /** Two recipients' entries exchanged (each gets the other's bytes). */
  'swap-bytes': {
    stages: WITH_LISTS,
    apply(a) {
      const list = pick(a.rng, lists(a.honest).filter((l) => l.entries.length > 1));
      const [x, y] = shuffle(a.rng, list.entries.map((_, i) => i)) as [number, number];
      a.trace.note = `${list.name}: ${list.entries[x]!.index} ⇄ ${list.entries[y]!.index}`;
      const blame = corruptionBlame(a.stage, list.name);
      if (blame) a.trace.expectBlame = blame;
      const entries = list.entries.map((e, i) => ({ index: e.index, bytes: (i === x ? list.entries[y]! : i === y ? list.entries[x]! : e).bytes }));
      return [sign(a, list.put(entries))];
    },
  },
  /** Entries in another order: harmless, the coordinator reads them by index. */
  reorder: {
    stages: WITH_LISTS,
    apply(a) {
      const list = pick(a.rng, lists(a.honest).filter((l) => l.entries.length > 1));
      a.trace.note = list.name;
      return [sign(a, list.put([...list.entries].reverse()))];
    },
  },
  numbers: {
    stages: ['keys'],
    apply(a) {
      const field = pick(a.rng, ['numSamples', 'meanLoss', 'trainMs'] as const);
      const value =
        field === 'numSamples' ? pick(a.rng, [0, 1, 0xffffffff, 1 + int(a.rng, 1000)])
        : field === 'meanLoss' ? pick(a.rng, [Number.NaN, Number.POSITIVE_INFINITY, -1, 1e308])
        : pick(a.rng, [-1, Number.NaN, Number.POSITIVE_INFINITY, 0]);
      a.trace.note = `${field} = ${value}`;
      return [sign(a, { ...a.honest, [field]: value } as Message)];
    },
  },
  'masked-random': {
    stages: ['masked'],
    apply(a) {
      const m = a.honest as MessageOf<'saMasked'>;
      return [{ ...m, masked: Uint32Array.from(m.masked, () => int(a.rng, 2 ** 32)) }];
    },
  },
  /** A few words changed: a lie about its own input, in range or not. */
  'masked-lie': {
    stages: ['masked'],
    apply(a) {
      const m = a.honest as MessageOf<'saMasked'>;
      const masked = m.masked.slice();
      for (let n = 1 + int(a.rng, 3); n > 0; n--) {
        const k = int(a.rng, masked.length);
        masked[k] = ((masked[k] as number) + 1 + int(a.rng, 2 ** 32 - 1)) >>> 0;
      }
      return [{ ...m, masked }];
    },
  },
  /** Too few or too many words, or none (abstaining) without complaints or with too few of them. */
  'masked-length': {
    stages: ['masked'],
    apply(a) {
      const m = a.honest as MessageOf<'saMasked'>;
      const partner = (a.incoming as MessageOf<'saPeerShares'>).shares[0]!.index;
      const choice = int(a.rng, 4);
      const masked =
        choice === 0 ? m.masked.slice(0, m.masked.length - 1 - int(a.rng, 8))
        : choice === 1 ? Uint32Array.from([...m.masked, ...Array.from({ length: 1 + int(a.rng, 8) }, () => int(a.rng, 2 ** 32))])
        : new Uint32Array(0);
      const complaints = choice === 3 ? [{ index: partner, bytes: randomBytes(a.rng, SECAGG_COMPLAINT_BYTES) }] : m.complaints;
      a.trace.note = `${masked.length} words${choice === 3 ? ', one complaint: abstains with enough good partners' : ''}`;
      return [{ ...m, masked, complaints }];
    },
  },
  'false-complaint': {
    stages: ['masked'],
    apply(a) {
      const partner = pick(a.rng, (a.incoming as MessageOf<'saPeerShares'>).shares.map((e) => e.index));
      a.trace.note = `about ${partner}`;
      a.trace.expectBlame = ['false-complaint'];
      return [{ ...(a.honest as MessageOf<'saMasked'>), complaints: [{ index: partner, bytes: randomBytes(a.rng, SECAGG_COMPLAINT_BYTES) }] }];
    },
  },
  'complaint-misaddressed': {
    stages: ['masked'],
    apply(a) {
      const partners = (a.incoming as MessageOf<'saPeerShares'>).shares.map((e) => e.index);
      const { index: own, members } = a.setup;
      const outsiders = Array.from({ length: members }, (_, i) => i + 1).filter((j) => j !== own && !partners.includes(j));
      const to = pick(a.rng, [own, members + 1, 0, 255, ...outsiders]);
      a.trace.note = `about ${to}`;
      return [{ ...(a.honest as MessageOf<'saMasked'>), complaints: [{ index: to, bytes: randomBytes(a.rng, SECAGG_COMPLAINT_BYTES) }] }];
    },
  },
  /** The signature bytes themselves altered. */
  'sig-flip': {
    stages: SIGNED,
    apply(a) {
      const slot = slots(a.honest, true)[0]!;
      a.trace.expectBlame = ['bad-signature'];
      a.trace.expectClose = 'BAD_SIGNATURE';
      return [slot.put(flipBytes(a.rng, slot.bytes, SIGNATURE_BYTES))];
    },
  },
  /** Signed with an identity key that is not its own. */
  'sig-foreign': {
    stages: SIGNED,
    apply(a) {
      a.trace.expectBlame = ['bad-signature'];
      a.trace.expectClose = 'BAD_SIGNATURE';
      if (a.stage === 'survivors') return [signU3(a, (a.incoming as MessageOf<'saSurvivors'>).survivors, foreign())];
      return [sign(a, a.honest, foreign())];
    },
  },
  /** A field changed, the honest signature kept. */
  'sig-stale': {
    stages: ['keys', 'encaps', 'shares'],
    apply(a) {
      const slot = pick(a.rng, slots(a.honest).filter((s) => a.stage !== 'keys' || /Commitment/.test(s.name)));
      a.trace.note = slot.name;
      a.trace.expectBlame = ['bad-signature'];
      a.trace.expectClose = 'BAD_SIGNATURE';
      return [slot.put(flipBytes(a.rng, slot.bytes))];
    },
  },
  /** It signs a U3 other than the coordinator's. */
  'survivors-other-set': {
    stages: ['survivors'],
    apply(a) {
      const u3 = (a.incoming as MessageOf<'saSurvivors'>).survivors;
      const outside = Array.from({ length: a.setup.members }, (_, i) => i + 1).filter((j) => !u3.includes(j));
      const others = u3.filter((j) => j !== a.setup.index);
      let set: number[];
      if (outside.length > 0 && a.rng.next() < 0.5) {
        set = [...u3, pick(a.rng, outside)].sort((x, y) => x - y);
      } else {
        const left = pick(a.rng, others); // drawn once: one partner left out
        set = u3.filter((j) => j !== left);
      }
      a.trace.note = `signs [${set.join(', ')}] for [${u3.join(', ')}]`;
      a.trace.expectBlame = ['bad-signature'];
      a.trace.expectClose = 'BAD_SIGNATURE';
      return [signU3(a, set)];
    },
  },
  withhold: { stages: STAGES, apply: () => [] },
  error: {
    stages: STAGES,
    apply: (a) => [{ kind: 'error', code: pick(a.rng, ['INTERNAL', 'BAD_SHARE', 'UNEXPECTED_MESSAGE'] as const), message: 'fuzz: refusing' }],
  },
  /** A later stage's message now ("before its stage"). */
  'wrong-kind-later': {
    stages: ['keys', 'encaps', 'shares', 'masked', 'survivors'],
    apply(a) {
      const kind = KIND_OF[STAGES[STAGES.indexOf(a.stage) + 1 + int(a.rng, STAGES.length - 1 - STAGES.indexOf(a.stage))]!];
      a.trace.note = kind;
      return [withRound(sampleMessage(a.rng, kind), a.round)];
    },
  },
  /** This round's answer to an earlier stage again, instead of this one (a late answer: ignored). */
  'wrong-kind-earlier': {
    stages: ['encaps', 'shares', 'masked', 'survivors', 'unmask'],
    apply(a) {
      const sent = a.history.get(a.round) ?? {};
      const stage = pick(a.rng, STAGES.slice(0, STAGES.indexOf(a.stage)));
      a.trace.note = KIND_OF[stage];
      return [sent[stage]!.honest];
    },
  },
  /** A kind only the coordinator sends, a hello again, or a plain update. */
  'coordinator-kind': {
    stages: STAGES,
    apply(a) {
      const kind = pick(a.rng, FOREIGN_KINDS);
      a.trace.note = kind;
      const msg = sampleMessage(a.rng, kind);
      return ['round' in msg ? withRound(msg, a.round) : msg];
    },
  },
  /** Its message of this stage from an earlier round, as it was sent. */
  'replay-round': {
    stages: STAGES,
    replay: true,
    apply(a) {
      const earlier = earlierAnswer(a);
      if (!earlier) return [withRound(a.honest, a.round + 1)];
      return [earlier.honest];
    },
  },
  /** Its message of this stage from an earlier round with the round rewritten and signed again: stale keys, ciphertexts, shares, masks. */
  'replay-rewrapped': {
    stages: STAGES,
    replay: true,
    apply(a) {
      const earlier = earlierAnswer(a);
      if (!earlier) return [];
      if (a.stage === 'survivors') return [signU3(a, (earlier.incoming as MessageOf<'saSurvivors'>).survivors)];
      return [sign(a, withRound(earlier.honest, a.round))];
    },
  },
  duplicate: { stages: STAGES, apply: (a) => [a.honest, a.honest] },
  /** The honest answer, then a corrupted one ("sent twice"). */
  'duplicate-mutated': {
    stages: WITH_FIELDS,
    apply(a) {
      const slot = pick(a.rng, slots(a.honest));
      a.trace.note = slot.name;
      return [a.honest, sign(a, slot.put(flipBytes(a.rng, slot.bytes)))];
    },
  },
  /** A random message of the stage's kind (fuzz-inputs.ts), with the right round. */
  'random-message': {
    stages: STAGES,
    apply: (a) => [withRound(sampleMessage(a.rng, KIND_OF[a.stage]), a.round)],
  },
  /** Structure-blind: the encoded answer through 1–3 byte-level mutators (fuzz-inputs.ts). */
  'frame-blind': {
    stages: STAGES,
    apply(a) {
      const other = encodeMessage(sampleMessage(a.rng, pick(a.rng, [KIND_OF[a.stage], ...FOREIGN_KINDS])));
      const { bytes, steps } = mutate(a.rng, encodeMessage(a.honest), other);
      a.trace.note = steps.join('+');
      return [bytes];
    },
  },
};

function earlierAnswer(a: Apply): { incoming: Message; honest: Message } | undefined {
  for (let r = a.round - 1; r >= 1; r--) {
    const found = a.history.get(r)?.[a.stage];
    if (found) {
      a.trace.note = `from round ${r}`;
      return found;
    }
  }
  a.trace.note = 'no earlier answer';
  return undefined;
}

interface PlanEntry {
  readonly stage: SecaggStage;
  readonly mutation: string;
}

/** One mutation per round, dealt from a seeded shuffle of all of them; replays never in round 1. */
function plan(seed: number, rounds: number): Map<number, PlanEntry> {
  const rng = createRng(seed);
  const deck: string[] = [];
  while (deck.length < rounds) deck.push(...shuffle(rng, Object.keys(MUTATIONS)));
  if (MUTATIONS[deck[0]!]!.replay) {
    const k = deck.findIndex((m) => !MUTATIONS[m]!.replay);
    [deck[0], deck[k]] = [deck[k]!, deck[0]!];
  }
  return new Map(deck.slice(0, rounds).map((mutation, r) => [r + 1, { mutation, stage: pick(rng, MUTATIONS[mutation]!.stages) }]));
}

function fuzzHand(seed: number, plans: ReadonlyMap<number, PlanEntry>, traces: Map<number, Trace>): FuzzHand {
  const history = new Map<number, Partial<Record<SecaggStage, { incoming: Message; honest: Message }>>>();
  return (call) => {
    const sent = history.get(call.round) ?? {};
    sent[call.stage] = { incoming: call.incoming, honest: call.honest };
    history.set(call.round, sent);
    const p = plans.get(call.round);
    const trace = traces.get(call.round);
    if (!p || !trace || p.stage !== call.stage) return [call.honest];
    trace.applied = true;
    const out = MUTATIONS[p.mutation]!.apply({ ...call, rng: createRng(deriveSeed(seed, call.round)), trace, history });
    if (call.stage === 'masked') trace.lied = liedCoordinates(call.honest as MessageOf<'saMasked'>, out);
    return out;
  };
}

/** Coordinates where the first saMasked of `out` (as the coordinator will decode it) differs from the honest words. */
function liedCoordinates(honest: MessageOf<'saMasked'>, out: readonly Outgoing[]): Set<number> {
  const lied = new Set<number>();
  for (const o of out) {
    let msg: Message;
    try {
      msg = o instanceof Uint8Array ? decodeMessage(o) : o;
    } catch {
      return lied; // refused as a frame: the connection closes here
    }
    if (msg.kind !== 'saMasked') continue;
    if (msg.round === honest.round && msg.masked.length === honest.masked.length) msg.masked.forEach((w, k) => w !== honest.masked[k] && lied.add(k));
    return lied;
  }
  return lied;
}

// ---- the expected outcome ----

/** The spacing of float32 values at magnitude x (one unit in the last place). */
function ulp32(x: number): number {
  return x === 0 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(x)) - 23);
}

function steps(): Float32Array[] {
  const rng = createRng(17);
  return Array.from({ length: N }, () => Float32Array.from({ length: DIM }, () => rng.next() - 0.5));
}

const who = (ids: readonly string[]): number[] => ids.map((id) => Number(id.slice(1))).sort((a, b) => a - b);

/** Σ wᵢ·xᵢ / Σ wᵢ over `members`, wᵢ = min(samplesᵢ, 3 × median) × reputationᵢ (group-run.ts weights()). */
function weightedMean(all: readonly Float32Array[], samples: (i: number) => number, reputation: (i: number) => number, members: readonly number[]): Float64Array {
  const cap = 3 * median(members.map(samples));
  const weights = members.map((i) => Math.min(samples(i), cap) * reputation(i));
  const total = weights.reduce((s, w) => s + w, 0);
  const out = new Float64Array(DIM);
  members.forEach((i, k) => {
    for (let d = 0; d < DIM; d++) out[d] = (out[d] as number) + ((weights[k] as number) / total) * (all[i] as Float32Array)[d]!;
  });
  return out;
}

describe('a fuzzing hostile member in a secure group, over many rounds', () => {
  it(`every round ends with the exact weighted mean of its contributors or a clean abort; only the hostile member is blamed (seed ${FUZZ_SEED})`, async () => {
    const plans = plan(FUZZ_SEED, ROUNDS);
    const traces = new Map<number, Trace>([...plans].map(([round, p]) => [round, { round, ...p, applied: false, note: '', lied: new Set<number>() }]));
    fed = await startFederation(N, {
      privacy: 'secagg',
      secagg: { groupSize: N, stageTimeoutMs: 1_500 },
      rounds: { count: ROUNDS, minParticipants: N, quorum: 0.1, deadlineMs: 3_000 },
      // Blame lowers its score (and weight) but never excludes it, so that every mutation gets its round.
      reputation: { cooldownRounds: 0 },
    });
    const all = steps();
    const samples = all.map((_, i) => 10 + 5 * i);
    const problems: string[] = [];

    const refusals: string[] = [];
    const honest = all.map((step, i) => {
      if (i === HOSTILE) return Promise.resolve(undefined);
      const client = new FederatedClient({ url: fed!.url, fingerprint: fed!.fingerprint, token: fed!.tokens[i]!, model: new FakeModel(step), data: fakeData(samples[i]!), reconnect: false });
      client.on('refused', (round, err) => refusals.push(`p${i} refused round ${round}: ${err.code} ${err.message}`));
      return client.run();
    });
    // Reputation scores as each round starts (they change only when a round is recorded), and the global adapter after it.
    const scores = new Map<number, number[]>([[1, all.map((_, i) => fed!.coordinator.reputationOf(`p${i}`))]]);
    const globals: Float32Array[] = [new Float32Array(DIM)];
    fed.coordinator.on('round', (record) => {
      globals.push(fed!.coordinator.globalAdapter()!.slice());
      scores.set(record.round + 1, all.map((_, i) => fed!.coordinator.reputationOf(`p${i}`)));
    });
    const member = await startFuzzMember(fed, new FakeModel(all[HOSTILE]!).manifest, all[HOSTILE]!, samples[HOSTILE]!, fuzzHand(FUZZ_SEED, plans, traces));
    const [run, ...ends] = await Promise.allSettled([fed.coordinator.run(), ...honest, member.done]);

    const describeRound = (r: number): string => {
      const t = traces.get(r)!;
      const closes = member.closes.filter((c) => c.round === r).map((c) => `closed ${c.code} "${c.reason}"`);
      return `${t.mutation}@${t.stage}${t.note ? ` (${t.note})` : ''}${t.applied ? '' : ' [stage not reached]'}${closes.length ? `; ${closes.join('; ')}` : ''}`;
    };
    const fail = (r: number, what: string): void => void problems.push(`seed ${FUZZ_SEED} round ${r} [${describeRound(r)}]: ${what}`);

    if (run.status === 'rejected') problems.push(`seed ${FUZZ_SEED}: coordinator.run() rejected: ${String(run.reason)}`);
    ends.forEach((end, i) => end.status === 'rejected' && problems.push(`seed ${FUZZ_SEED}: p${i} failed: ${String(end.reason)}`));
    problems.push(...refusals.map((r) => `seed ${FUZZ_SEED}: honest member ${r}`));
    problems.push(...member.unencodable.map((u) => `seed ${FUZZ_SEED}: test bug, unencodable mutation: ${u}`));
    for (const c of member.closes) if (c.reason.startsWith('INTERNAL')) fail(c.round, `coordinator closed the member with an internal error: ${c.reason}`);
    const records: readonly RoundRecord[] = run.status === 'fulfilled' ? run.value : [];
    if (records.length !== ROUNDS) problems.push(`seed ${FUZZ_SEED}: ${records.length} round records, expected ${ROUNDS}`);

    records.forEach((record, k) => {
      const r = record.round;
      const trace = traces.get(r)!;
      const step = Float64Array.from(globals[k + 1] ?? [], (v, d) => v - globals[k]![d]!);
      const blamed = record.blamed ?? [];
      const blamedHostile = blamed.filter((b) => b.participant === `p${HOSTILE}`);
      for (const b of blamed) if (b.participant !== `p${HOSTILE}`) fail(r, `honest ${b.participant} blamed: ${b.kind} ${b.detail}`);
      if (trace.applied && trace.expectBlame && !blamedHostile.some((b) => trace.expectBlame!.includes(b.kind))) {
        fail(r, `expected it blamed as ${trace.expectBlame.join(' or ')}, got [${blamed.map((b) => `${b.participant} ${b.kind}`).join(', ')}] (${record.outcome}: ${record.reason})`);
      }
      if (trace.applied && trace.expectClose && !member.closes.some((c) => c.round === r && c.reason.startsWith(trace.expectClose!))) {
        fail(r, `expected the coordinator to refuse it with ${trace.expectClose}`);
      }
      if (record.outcome === 'aborted') {
        if (step.some((v) => v !== 0)) fail(r, 'an aborted round changed the global adapter');
        if (blamedHostile.length === 0 && !/rejected before aggregation/.test(record.reason)) fail(r, `aborted without naming the culprit: ${record.reason}`);
        return;
      }
      if (trace.lied.size >= SURELY_OUT_OF_RANGE) fail(r, `${trace.lied.size} random masked words, yet the round completed`);
      const reported = who(record.reported);
      const missing = [0, 1, 2, 3, 4, 5].filter((i) => i !== HOSTILE && !reported.includes(i));
      if (missing.length > 0) fail(r, `honest ${missing.map((i) => `p${i}`).join(', ')} left out of a completed round (${record.reason})`);
      // The hostile member's sample count is what the record's total says it reported.
      const hostileSamples = record.samples - reported.filter((i) => i !== HOSTILE).reduce((s, i) => s + samples[i]!, 0);
      const expected = weightedMean(all, (i) => (i === HOSTILE ? hostileSamples : samples[i]!), (i) => scores.get(r)![i]!, reported);
      // The global adapter is float32: the step read back from it is off by up to one float32 ulp at its magnitude,
      // which grows over the rounds; beyond that, 5e-7 covers quantization (2^-bits of the clip range per member).
      const tolerance = (d: number) => 5e-7 + ulp32(Math.max(Math.abs(globals[k]![d]!), Math.abs(globals[k + 1]![d]!)));
      const off = [...expected.keys()].filter((d) => !trace.lied.has(d) && !(Math.abs(step[d]! - expected[d]!) < tolerance(d)));
      if (off.length > 0) {
        const d = off[0]!;
        fail(r, `global step differs from the weighted mean of [${reported.join(', ')}] in ${off.length} coordinates (first ${d}: ${step[d]} vs ${expected[d]})`);
      }
    });

    const summary = records.map((rec) => `  round ${rec.round}: ${describeRound(rec.round)} → ${rec.outcome} [${who(rec.reported).join(',')}]${rec.blamed?.length ? ` blamed ${rec.blamed.map((b) => b.kind).join(',')}` : ''}`);
    expect(problems, `fuzz failures (replay with FEDWARDEN_FUZZ_SEED=${FUZZ_SEED}):\n${problems.join('\n')}\nrounds:\n${summary.join('\n')}`).toEqual([]);
    if (process.env.FEDWARDEN_FUZZ_VERBOSE) console.log(`seed ${FUZZ_SEED}\n${summary.join('\n')}`);
  }, RUN_TIMEOUT_MS);
});
