/**
 * Binary encoding of the protocol messages (messages.ts) carried inside sealed channel frames.
 *
 *   u8 tag (MESSAGE_TAGS), then the body fields in the order messages.ts declares them:
 *   counts and integers (round, rounds, numSamples, epochs, batchSize, deadlineMs) u32; learningRate, meanLoss,
 *   trainMs f64; strings and float32 vectors as in bytes.ts; outcome u8 (0 completed, 1 aborted); an error code
 *   as its string name; a manifest as u16 entry count, then per entry: name, u8 rank (1..8), rank × u32 dims,
 *   u8 init (0 zeros; 1 normal, followed by f64 std).
 *
 * An update of d parameters costs 4·d + 29 bytes, so sealing (26 bytes more) keeps the upload at 4 bytes per
 * parameter plus a constant. decodeMessage treats its input as hostile: it checks every size before
 * allocating, checks every field's meaning, rejects trailing bytes, and throws only FedwardenError.
 */
import { type AdapterEntry, type AdapterInit, type AdapterManifest, validateManifest } from '../adapter.ts';
import { FedwardenError, isErrorCode } from '../errors.ts';
import { DEFAULT_LIMITS, type ProtocolLimits } from '../limits.ts';
import { ByteReader, ByteWriter } from './bytes.ts';
import { MESSAGE_TAGS, type Message, type MessageKind, type RoundOutcome, type TrainingPlan } from './messages.ts';

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
      w.string(msg.token);
      writeManifest(w, msg.manifest);
      break;
    case 'welcome':
      w.string(msg.participantId).u32(msg.rounds);
      break;
    case 'roundStart':
      w.u32(msg.round).u32(msg.plan.epochs).u32(msg.plan.batchSize).f64(msg.plan.learningRate);
      w.u32(msg.deadlineMs).float32Vector(msg.global);
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
      const token = r.string('token');
      return { kind, token, manifest: readManifest(r, limits) };
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
      return { kind, round, plan, deadlineMs, global: r.float32Vector('global') };
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

/** Vectors dominate message size: size the buffer for them so that encoding an update never regrows it. */
function initialCapacity(msg: Message): number {
  if (msg.kind === 'update') return 64 + msg.delta.byteLength;
  if (msg.kind === 'roundStart' || msg.kind === 'finished') return 64 + msg.global.byteLength;
  return 256;
}
