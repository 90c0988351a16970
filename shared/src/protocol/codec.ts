/**
 * Binary encoding of the protocol messages (messages.ts) carried inside sealed channel frames.
 *
 *   u8 tag (MESSAGE_TAGS), then the body fields in the order messages.ts declares them:
 *   counts and integers (round, rounds, numSamples, epochs, batchSize, deadlineMs) u32; learningRate, meanLoss,
 *   trainMs f64; strings and float32 vectors as in bytes.ts; outcome u8 (0 completed, 1 aborted); an error code
 *   as its string name; a manifest as u16 entry count, then per entry: name, u8 rank (1..8), rank × u32 dims,
 *   u8 init (0 zeros; 1 normal, followed by f64 std). roundStart ends with u8 0, or u8 1 and a SecaggSetup.
 *   hello starts with the u16 protocol version and ends with the identity key (IDENTITY_KEY_BYTES). A
 *   SecaggSetup ends with its peers: u32 count, then per peer u32 index, participant id (string), identity key.
 *   Secure-aggregation relays are u32 count then (u32 index, fixed-size bytes) entries with distinct indices
 *   (commitments and complaints too; each list's count is checked against maxGroupSize before anything is
 *   read); attestations (statements.ts) are u32 length then bytes, their length checked against the bounds
 *   of a valid attestation first; signatures are SIGNATURE_BYTES; masked inputs are uint32 vectors; index lists
 *   are u32 count then u32 indices.
 *
 * An update of d parameters costs 4·d + 29 bytes, so sealing (26 bytes more) keeps the upload at 4 bytes per
 * parameter plus a constant. decodeMessage treats its input as hostile: it checks every size before
 * allocating, checks every field's meaning, rejects trailing bytes, and throws only FedwardenError.
 */
import { type AdapterEntry, type AdapterInit, type AdapterManifest, validateManifest } from '../adapter.ts';
import { FedwardenError, isErrorCode } from '../errors.ts';
import { DEFAULT_LIMITS, type ProtocolLimits } from '../limits.ts';
import { ByteReader, ByteWriter } from './bytes.ts';
import { ML_KEM768_PUBLIC_KEY_BYTES } from '../crypto/kem.ts';
import { MAX_ATTESTATION_BYTES, MIN_ATTESTATION_BYTES } from '../secagg/statements.ts';
import {
  IDENTITY_KEY_BYTES,
  MESSAGE_TAGS,
  SECAGG_PEER_KEYS_BYTES,
  SIGNATURE_BYTES,
  SECAGG_CIPHERTEXT_BYTES,
  SECAGG_COMMITMENT_BYTES,
  SECAGG_COMPLAINT_BYTES,
  SECAGG_SEALED_SHARES_BYTES,
  SECAGG_SHARE_BYTES,
  SECAGG_SHARE_COMMITMENTS_BYTES,
  SECAGG_MASK_SEED_BYTES,
  type IndexedBytes,
  type Message,
  type MessageKind,
  type RoundOutcome,
  type SecaggPeer,
  type SecaggSetup,
  type TrainingPlan,
} from './messages.ts';

const OUTCOME_CODES = { completed: 0, aborted: 1 } as const satisfies Record<RoundOutcome, number>;
const INIT_ZEROS = 0;
const INIT_NORMAL = 1;
const MAX_RANK = 8;
export const MAX_EPOCHS = 1000;

const KIND_BY_TAG = new Map<number, MessageKind>(
  (Object.entries(MESSAGE_TAGS) as [MessageKind, number][]).map(([kind, tag]) => [tag, kind]),
);

export function encodeMessage(msg: Message): Uint8Array {
  const w = new ByteWriter(initialCapacity(msg));
  w.u8(MESSAGE_TAGS[msg.kind]);
  switch (msg.kind) {
    case 'hello':
      w.u16(msg.version).string(msg.token);
      writeManifest(w, msg.manifest);
      w.bytes(fixed(msg.identityKey, IDENTITY_KEY_BYTES, 'hello identityKey'));
      break;
    case 'welcome':
      w.string(msg.participantId).u32(msg.rounds);
      break;
    case 'roundStart':
      w.u32(msg.round).u32(msg.plan.epochs).u32(msg.plan.batchSize).f64(msg.plan.learningRate);
      w.u32(msg.deadlineMs).float32Vector(msg.global);
      writeSecaggSetup(w, msg.secagg);
      break;
    case 'update':
      w.u32(msg.round).u32(msg.numSamples).f64(msg.meanLoss).f64(msg.trainMs).float32Vector(msg.delta);
      break;
    case 'updateAck':
      w.u32(msg.round);
      break;
    case 'finished':
      w.u32(msg.round).float32Vector(msg.global);
      break;
    case 'roundEnd':
      w.u32(msg.round).u8(OUTCOME_CODES[msg.outcome]).string(msg.reason);
      break;
    case 'error':
      if (!isErrorCode(msg.code)) throw new FedwardenError('BAD_FRAME', 'encodeMessage: unknown error code');
      w.string(msg.code).string(msg.message);
      break;
    case 'saKeys':
      w.u32(msg.round).u32(msg.numSamples).f64(msg.meanLoss).f64(msg.trainMs);
      w.bytes(fixed(msg.maskPublicKey, ML_KEM768_PUBLIC_KEY_BYTES, 'saKeys maskPublicKey'));
      w.bytes(fixed(msg.sharePublicKey, ML_KEM768_PUBLIC_KEY_BYTES, 'saKeys sharePublicKey'));
      w.bytes(fixed(msg.selfCommitment, SECAGG_COMMITMENT_BYTES, 'saKeys selfCommitment'));
      w.bytes(fixed(msg.masterCommitment, SECAGG_COMMITMENT_BYTES, 'saKeys masterCommitment'));
      w.bytes(fixed(msg.signature, SIGNATURE_BYTES, 'saKeys signature'));
      break;
    case 'saPeerKeys':
      writeIndexed(w.u32(msg.round), msg.keys, SECAGG_PEER_KEYS_BYTES);
      break;
    case 'saEncaps':
      writeIndexed(writeIndexed(w.u32(msg.round), msg.cipherTexts, SECAGG_CIPHERTEXT_BYTES), msg.shareCipherTexts, SECAGG_CIPHERTEXT_BYTES);
      writeAttestation(w, msg.attestation, 'saEncaps attestation');
      break;
    case 'saPeerEncaps':
      writeIndexed(writeIndexed(w.u32(msg.round), msg.cipherTexts, SECAGG_CIPHERTEXT_BYTES), msg.shareCipherTexts, SECAGG_CIPHERTEXT_BYTES);
      writeAttestations(w, msg.attestations);
      break;
    case 'saShares':
      writeIndexed(writeIndexed(writeIndexed(w.u32(msg.round), msg.shares, SECAGG_SEALED_SHARES_BYTES), msg.commitments, SECAGG_SHARE_COMMITMENTS_BYTES), msg.seedCommitments, SECAGG_COMMITMENT_BYTES);
      writeAttestation(w, msg.attestation, 'saShares attestation');
      break;
    case 'saPeerShares':
      writeIndexed(writeIndexed(writeIndexed(w.u32(msg.round).f64(msg.weight), msg.shares, SECAGG_SEALED_SHARES_BYTES), msg.commitments, SECAGG_SHARE_COMMITMENTS_BYTES), msg.seedCommitments, SECAGG_COMMITMENT_BYTES);
      writeAttestations(w, msg.attestations);
      break;
    case 'saSurvivors':
      writeIndices(w.u32(msg.round), msg.survivors);
      break;
    case 'saSurvivorsSigned':
      w.u32(msg.round).bytes(fixed(msg.signature, SIGNATURE_BYTES, 'saSurvivorsSigned signature'));
      break;
    case 'saMasked':
      writeIndexed(w.u32(msg.round).uint32Vector(msg.masked), msg.complaints, SECAGG_COMPLAINT_BYTES);
      break;
    case 'saUnmask':
      writeIndexed(writeIndices(writeIndices(w.u32(msg.round), msg.survivors), msg.dropped), msg.signatures, SIGNATURE_BYTES);
      break;
    case 'saUnmaskReply':
      writeIndexed(writeIndexed(writeIndexed(w.u32(msg.round), msg.selfShares, SECAGG_SHARE_BYTES), msg.masterShares, SECAGG_SHARE_BYTES), msg.maskSeeds, SECAGG_MASK_SEED_BYTES);
      break;
    default: {
      const unknown: never = msg;
      throw new FedwardenError('BAD_FRAME', `encodeMessage: unknown kind ${String((unknown as Message).kind)}`);
    }
  }
  return w.finish();
}

export function decodeMessage(bytes: Uint8Array, limits: ProtocolLimits = DEFAULT_LIMITS): Message {
  try {
    const r = new ByteReader(bytes, limits);
    const msg = readBody(r, limits);
    r.end();
    return msg;
  } catch (err) {
    if (err instanceof FedwardenError) throw err;
    throw new FedwardenError('BAD_FRAME', 'decodeMessage: malformed message', { cause: err });
  }
}

function readBody(r: ByteReader, limits: ProtocolLimits): Message {
  const tag = r.u8('tag');
  const kind = KIND_BY_TAG.get(tag);
  if (kind === undefined) throw new FedwardenError('BAD_FRAME', `unknown message tag ${tag}`);
  switch (kind) {
    case 'hello': {
      const version = r.u16('protocol version');
      const token = r.string('token');
      const manifest = readManifest(r, limits);
      return { kind, version, token, manifest, identityKey: r.bytes(IDENTITY_KEY_BYTES, 'identityKey').slice() };
    }
    case 'welcome': {
      const participantId = r.string('participantId');
      return { kind, participantId, rounds: r.u32('rounds') };
    }
    case 'roundStart': {
      const round = r.u32('round');
      const plan = readPlan(r);
      const deadlineMs = r.u32('deadlineMs');
      if (deadlineMs < 1) throw new FedwardenError('BAD_FRAME', 'roundStart: deadlineMs must be >= 1');
      const global = r.float32Vector('global');
      const secagg = readSecaggSetup(r, limits);
      return secagg ? { kind, round, plan, deadlineMs, global, secagg } : { kind, round, plan, deadlineMs, global };
    }
    case 'update': {
      const round = r.u32('round');
      const numSamples = r.u32('numSamples');
      const meanLoss = r.f64('meanLoss');
      const trainMs = r.f64('trainMs');
      return { kind, round, numSamples, meanLoss, trainMs, delta: r.float32Vector('delta') };
    }
    case 'updateAck':
      return { kind, round: r.u32('round') };
    case 'finished': {
      const round = r.u32('round');
      return { kind, round, global: r.float32Vector('global') };
    }
    case 'roundEnd': {
      const round = r.u32('round');
      const code = r.u8('outcome');
      const outcome = code === OUTCOME_CODES.completed ? 'completed' : code === OUTCOME_CODES.aborted ? 'aborted' : undefined;
      if (outcome === undefined) throw new FedwardenError('BAD_FRAME', `roundEnd: unknown outcome ${code}`);
      return { kind, round, outcome, reason: r.string('reason') };
    }
    case 'error': {
      const code = r.string('error code');
      if (!isErrorCode(code)) throw new FedwardenError('BAD_FRAME', 'error: unknown error code');
      return { kind, code, message: r.string('error message') };
    }
    case 'saKeys': {
      const round = r.u32('round');
      const numSamples = r.u32('numSamples');
      const meanLoss = r.f64('meanLoss');
      const trainMs = r.f64('trainMs');
      const maskPublicKey = r.bytes(ML_KEM768_PUBLIC_KEY_BYTES, 'maskPublicKey').slice();
      const sharePublicKey = r.bytes(ML_KEM768_PUBLIC_KEY_BYTES, 'sharePublicKey').slice();
      const selfCommitment = r.bytes(SECAGG_COMMITMENT_BYTES, 'selfCommitment').slice();
      const masterCommitment = r.bytes(SECAGG_COMMITMENT_BYTES, 'masterCommitment').slice();
      const signature = r.bytes(SIGNATURE_BYTES, 'signature').slice();
      return { kind, round, numSamples, meanLoss, trainMs, maskPublicKey, sharePublicKey, selfCommitment, masterCommitment, signature };
    }
    case 'saPeerKeys': {
      const round = r.u32('round');
      return { kind, round, keys: readIndexed(r, limits, SECAGG_PEER_KEYS_BYTES, 'keys') };
    }
    case 'saEncaps': {
      const round = r.u32('round');
      const cipherTexts = readIndexed(r, limits, SECAGG_CIPHERTEXT_BYTES, 'cipherTexts');
      const shareCipherTexts = readIndexed(r, limits, SECAGG_CIPHERTEXT_BYTES, 'shareCipherTexts');
      return { kind, round, cipherTexts, shareCipherTexts, attestation: readAttestation(r, 'attestation') };
    }
    case 'saPeerEncaps': {
      const round = r.u32('round');
      const cipherTexts = readIndexed(r, limits, SECAGG_CIPHERTEXT_BYTES, 'cipherTexts');
      const shareCipherTexts = readIndexed(r, limits, SECAGG_CIPHERTEXT_BYTES, 'shareCipherTexts');
      return { kind, round, cipherTexts, shareCipherTexts, attestations: readAttestations(r, limits) };
    }
    case 'saShares': {
      const round = r.u32('round');
      const shares = readIndexed(r, limits, SECAGG_SEALED_SHARES_BYTES, 'shares');
      const commitments = readIndexed(r, limits, SECAGG_SHARE_COMMITMENTS_BYTES, 'commitments');
      const seedCommitments = readIndexed(r, limits, SECAGG_COMMITMENT_BYTES, 'seedCommitments');
      return { kind, round, shares, commitments, seedCommitments, attestation: readAttestation(r, 'attestation') };
    }
    case 'saPeerShares': {
      const round = r.u32('round');
      const weight = r.f64('weight');
      if (!(weight > 0 && weight <= 1)) throw new FedwardenError('BAD_FRAME', 'saPeerShares: weight must be in (0, 1]');
      const shares = readIndexed(r, limits, SECAGG_SEALED_SHARES_BYTES, 'shares');
      const commitments = readIndexed(r, limits, SECAGG_SHARE_COMMITMENTS_BYTES, 'commitments');
      const seedCommitments = readIndexed(r, limits, SECAGG_COMMITMENT_BYTES, 'seedCommitments');
      return { kind, round, weight, shares, commitments, seedCommitments, attestations: readAttestations(r, limits) };
    }
    case 'saSurvivors': {
      const round = r.u32('round');
      return { kind, round, survivors: readIndices(r, limits, 'survivors') };
    }
    case 'saSurvivorsSigned': {
      const round = r.u32('round');
      return { kind, round, signature: r.bytes(SIGNATURE_BYTES, 'signature').slice() };
    }
    case 'saMasked': {
      const round = r.u32('round');
      const masked = r.uint32Vector('masked');
      return { kind, round, masked, complaints: readIndexed(r, limits, SECAGG_COMPLAINT_BYTES, 'complaints') };
    }
    case 'saUnmask': {
      const round = r.u32('round');
      const survivors = readIndices(r, limits, 'survivors');
      const dropped = readIndices(r, limits, 'dropped');
      return { kind, round, survivors, dropped, signatures: readIndexed(r, limits, SIGNATURE_BYTES, 'signatures') };
    }
    case 'saUnmaskReply': {
      const round = r.u32('round');
      const selfShares = readIndexed(r, limits, SECAGG_SHARE_BYTES, 'selfShares');
      const masterShares = readIndexed(r, limits, SECAGG_SHARE_BYTES, 'masterShares');
      return { kind, round, selfShares, masterShares, maskSeeds: readIndexed(r, limits, SECAGG_MASK_SEED_BYTES, 'maskSeeds') };
    }
    default: {
      const unknown: never = kind;
      throw new FedwardenError('BAD_FRAME', `unknown message kind ${String(unknown)}`);
    }
  }
}

function readPlan(r: ByteReader): TrainingPlan {
  const epochs = r.u32('epochs');
  const batchSize = r.u32('batchSize');
  const learningRate = r.f64('learningRate');
  if (epochs < 1 || epochs > MAX_EPOCHS) throw new FedwardenError('BAD_FRAME', `plan: epochs must be 1..${MAX_EPOCHS}`);
  if (batchSize < 1) throw new FedwardenError('BAD_FRAME', 'plan: batchSize must be >= 1');
  if (!(Number.isFinite(learningRate) && learningRate > 0)) {
    throw new FedwardenError('BAD_FRAME', 'plan: learningRate must be finite and > 0');
  }
  return { epochs, batchSize, learningRate };
}

function writeManifest(w: ByteWriter, manifest: AdapterManifest): void {
  w.u16(manifest.entries.length);
  for (const entry of manifest.entries) {
    if (entry.shape.length < 1 || entry.shape.length > MAX_RANK) {
      throw new FedwardenError('BAD_FRAME', `manifest: rank of ${entry.name} must be 1..${MAX_RANK}`);
    }
    w.string(entry.name).u8(entry.shape.length);
    for (const dim of entry.shape) w.u32(dim);
    if (entry.init.kind === 'normal') w.u8(INIT_NORMAL).f64(entry.init.std);
    else w.u8(INIT_ZEROS);
  }
}

function readManifest(r: ByteReader, limits: ProtocolLimits): AdapterManifest {
  const count = r.u16('manifest entry count');
  if (count > limits.maxManifestEntries) {
    throw new FedwardenError('TOO_BIG', `manifest: ${count} entries exceeds maxManifestEntries ${limits.maxManifestEntries}`);
  }
  const entries: AdapterEntry[] = [];
  for (let i = 0; i < count; i++) {
    const name = r.string('manifest entry name');
    const rank = r.u8('manifest entry rank');
    if (rank < 1 || rank > MAX_RANK) throw new FedwardenError('BAD_FRAME', `manifest: rank ${rank} is not 1..${MAX_RANK}`);
    const shape: number[] = [];
    for (let d = 0; d < rank; d++) shape.push(r.u32('manifest entry dim'));
    const initCode = r.u8('manifest entry init');
    let init: AdapterInit;
    if (initCode === INIT_ZEROS) init = { kind: 'zeros' };
    else if (initCode === INIT_NORMAL) init = { kind: 'normal', std: r.f64('manifest init std') };
    else throw new FedwardenError('BAD_FRAME', `manifest: unknown init ${initCode}`);
    entries.push({ name, shape, init });
  }
  const manifest: AdapterManifest = { entries };
  validateManifest(manifest, limits.maxVectorLength);
  return manifest;
}

const MAX_QUANTIZATION_BITS = 32;

function fixed(bytes: Uint8Array, length: number, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new FedwardenError('BAD_FRAME', `${what}: expected ${length} bytes`);
  }
  return bytes;
}

function checkIndex(index: number, limits: ProtocolLimits, what: string): number {
  if (index < 1 || index > limits.maxGroupSize) throw new FedwardenError('BAD_FRAME', `${what}: index ${index} out of range`);
  return index;
}

function readCount(r: ByteReader, limits: ProtocolLimits, what: string): number {
  const count = r.u32(`${what} count`);
  if (count > limits.maxGroupSize) throw new FedwardenError('TOO_BIG', `${what}: ${count} entries exceeds maxGroupSize ${limits.maxGroupSize}`);
  return count;
}

/** u32 count, then per entry u32 index and exactly `size` bytes. Indices are distinct. */
function writeIndexed(w: ByteWriter, entries: readonly IndexedBytes[], size: number): ByteWriter {
  w.u32(entries.length);
  for (const e of entries) w.u32(e.index).bytes(fixed(e.bytes, size, `entry ${e.index}`));
  return w;
}

function readIndexed(r: ByteReader, limits: ProtocolLimits, size: number, what: string): IndexedBytes[] {
  const count = readCount(r, limits, what);
  const seen = new Set<number>();
  const out: IndexedBytes[] = [];
  for (let i = 0; i < count; i++) {
    const index = checkIndex(r.u32(`${what} index`), limits, what);
    if (seen.has(index)) throw new FedwardenError('BAD_FRAME', `${what}: index ${index} repeated`);
    seen.add(index);
    out.push({ index, bytes: r.bytes(size, what).slice() });
  }
  return out;
}

function writeAttestation(w: ByteWriter, bytes: Uint8Array, what: string): ByteWriter {
  if (!(bytes instanceof Uint8Array) || bytes.length < MIN_ATTESTATION_BYTES || bytes.length > MAX_ATTESTATION_BYTES) {
    throw new FedwardenError('BAD_FRAME', `${what}: expected ${MIN_ATTESTATION_BYTES}..${MAX_ATTESTATION_BYTES} bytes`);
  }
  return w.u32(bytes.length).bytes(bytes);
}

function readAttestation(r: ByteReader, what: string): Uint8Array {
  const length = r.u32(`${what} length`);
  if (length < MIN_ATTESTATION_BYTES || length > MAX_ATTESTATION_BYTES) {
    throw new FedwardenError('BAD_FRAME', `${what}: ${length} bytes, expected ${MIN_ATTESTATION_BYTES}..${MAX_ATTESTATION_BYTES}`);
  }
  return r.bytes(length, what).slice();
}

/** u32 count, then per entry u32 index and one attestation. Indices are distinct. */
function writeAttestations(w: ByteWriter, entries: readonly IndexedBytes[]): ByteWriter {
  w.u32(entries.length);
  for (const e of entries) writeAttestation(w.u32(e.index), e.bytes, `attestation ${e.index}`);
  return w;
}

function readAttestations(r: ByteReader, limits: ProtocolLimits): IndexedBytes[] {
  const count = readCount(r, limits, 'attestations');
  const seen = new Set<number>();
  const out: IndexedBytes[] = [];
  for (let i = 0; i < count; i++) {
    const index = checkIndex(r.u32('attestations index'), limits, 'attestations');
    if (seen.has(index)) throw new FedwardenError('BAD_FRAME', `attestations: index ${index} repeated`);
    seen.add(index);
    out.push({ index, bytes: readAttestation(r, 'attestation') });
  }
  return out;
}

function writeIndices(w: ByteWriter, indices: readonly number[]): ByteWriter {
  w.u32(indices.length);
  for (const i of indices) w.u32(i);
  return w;
}

function readIndices(r: ByteReader, limits: ProtocolLimits, what: string): number[] {
  const count = readCount(r, limits, what);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(checkIndex(r.u32(`${what} index`), limits, what));
  if (new Set(out).size !== out.length) throw new FedwardenError('BAD_FRAME', `${what}: repeated index`);
  return out;
}

function writeSecaggSetup(w: ByteWriter, setup: SecaggSetup | undefined): void {
  if (!setup) {
    w.u8(0);
    return;
  }
  w.u8(1).u32(setup.group).u32(setup.index).u32(setup.members);
  writeIndices(w, setup.neighbours);
  w.u32(setup.threshold).f64(setup.clip).u8(setup.bits);
  w.u32(setup.peers.length);
  for (const p of setup.peers) w.u32(p.index).string(p.participantId).bytes(fixed(p.identityKey, IDENTITY_KEY_BYTES, `peer ${p.index} identityKey`));
}

function readSecaggSetup(r: ByteReader, limits: ProtocolLimits): SecaggSetup | undefined {
  const flag = r.u8('secagg flag');
  if (flag === 0) return undefined;
  if (flag !== 1) throw new FedwardenError('BAD_FRAME', `roundStart: bad secagg flag ${flag}`);
  const group = r.u32('group');
  const index = r.u32('index');
  const members = r.u32('members');
  if (members < 2 || members > limits.maxGroupSize) throw new FedwardenError('BAD_FRAME', `secagg: ${members} members out of range`);
  if (index < 1 || index > members) throw new FedwardenError('BAD_FRAME', `secagg: index ${index} not in 1..${members}`);
  const neighbours = readIndices(r, limits, 'neighbours');
  if (neighbours.some((n) => n > members || n === index)) throw new FedwardenError('BAD_FRAME', 'secagg: bad neighbour index');
  if (neighbours.some((n, i) => i > 0 && n <= (neighbours[i - 1] as number))) {
    throw new FedwardenError('BAD_FRAME', 'secagg: neighbours must be sorted');
  }
  const threshold = r.u32('threshold');
  if (threshold < 1 || threshold > neighbours.length) {
    throw new FedwardenError('BAD_FRAME', `secagg: threshold ${threshold} not in 1..${neighbours.length}`);
  }
  const clip = r.f64('clip');
  if (!(Number.isFinite(clip) && clip > 0)) throw new FedwardenError('BAD_FRAME', 'secagg: clip must be finite and > 0');
  const bits = r.u8('bits');
  if (bits < 1 || bits > MAX_QUANTIZATION_BITS) throw new FedwardenError('BAD_FRAME', `secagg: bits ${bits} not in 1..32`);
  const count = readCount(r, limits, 'peers');
  const peers: SecaggPeer[] = [];
  for (let i = 0; i < count; i++) {
    const peerIndex = checkIndex(r.u32('peer index'), limits, 'peers');
    const participantId = r.string('peer participantId');
    peers.push({ index: peerIndex, participantId, identityKey: r.bytes(IDENTITY_KEY_BYTES, 'peer identityKey').slice() });
  }
  // Exactly one peer per neighbour, in the neighbours' order.
  if (peers.length !== neighbours.length || peers.some((p, i) => p.index !== neighbours[i])) {
    throw new FedwardenError('BAD_FRAME', 'secagg: peers must name each neighbour once, in order');
  }
  return { group, index, members, neighbours, threshold, clip, bits, peers };
}

/** Vectors dominate message size: size the buffer for them so that encoding an update never regrows it. */
function initialCapacity(msg: Message): number {
  if (msg.kind === 'update') return 64 + msg.delta.byteLength;
  if (msg.kind === 'roundStart' || msg.kind === 'finished') return 64 + msg.global.byteLength + 1024 + (msg.kind === 'roundStart' ? (msg.secagg?.peers.length ?? 0) * (IDENTITY_KEY_BYTES + 64) : 0);
  if (msg.kind === 'saMasked') return 64 + msg.masked.byteLength + msg.complaints.length * (4 + SECAGG_COMPLAINT_BYTES);
  return 256;
}
