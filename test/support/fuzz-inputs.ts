/**
 * Inputs for the fuzz suites (fuzz.test.ts, fuzz-network.test.ts): one valid message of every kind, drawn from
 * a seeded rng, and structure-blind mutators of the kind a coverage-less fuzzer (radamsa, AFL's havoc stage)
 * applies: bit flips, interesting bytes, truncation, extension, insertion and deletion, splices of two inputs,
 * and overwrites of would-be length fields (u16/u32) and floats (f64) at random offsets with boundary values.
 *
 * Everything is reproducible from the rng, so a failing case is named by (seed, case index).
 */
import {
  concatBytes,
  IDENTITY_KEY_BYTES,
  MESSAGE_TAGS,
  ML_KEM768_PUBLIC_KEY_BYTES,
  PROTOCOL_VERSION,
  SECAGG_CIPHERTEXT_BYTES,
  SECAGG_COMMITMENT_BYTES,
  SECAGG_COMPLAINT_BYTES,
  SECAGG_PEER_KEYS_BYTES,
  SECAGG_SEALED_SHARES_BYTES,
  SIGNATURE_BYTES,
  attestationBytes,
  SECAGG_SHARE_BYTES,
  SECAGG_SHARE_COMMITMENTS_BYTES,
  SECAGG_MASK_SEED_BYTES,
  type AdapterManifest,
  type IndexedBytes,
  type Message,
  type MessageKind,
  type Rng,
} from '@fedwarden/shared';

export function int(rng: Rng, maxExclusive: number): number {
  return Math.floor(rng.next() * maxExclusive);
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[int(rng, items.length)] as T;
}

export function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = int(rng, 256);
  return out;
}

function floats(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() - 0.5) * 4);
}

function indexed(rng: Rng, count: number, size: number): IndexedBytes[] {
  return Array.from({ length: count }, (_, i) => ({ index: i + 1, bytes: randomBytes(rng, size) }));
}

/** An attestation-shaped blob (signature, count, entries) listing `count` recipients; its signature is random. */
function attestation(rng: Rng, count: number): Uint8Array {
  const out = randomBytes(rng, attestationBytes(count));
  const view = new DataView(out.buffer);
  view.setUint32(SIGNATURE_BYTES, count, true);
  for (let k = 0; k < count; k++) view.setUint32(SIGNATURE_BYTES + 4 + 36 * k, k + 1, true);
  return out;
}

export const FUZZ_MANIFEST: AdapterManifest = {
  entries: [
    { name: 'dense/A', shape: [4, 2], init: { kind: 'normal', std: 0.01 } },
    { name: 'dense/B', shape: [2, 3], init: { kind: 'zeros' } },
  ],
};

/** One valid message of `kind`, small enough that mutating it is cheap. */
export function sampleMessage(rng: Rng, kind: MessageKind): Message {
  const round = 1 + int(rng, 1000);
  const plan = { epochs: 1 + int(rng, 5), batchSize: 1 + int(rng, 64), learningRate: 0.001 + rng.next() };
  switch (kind) {
    case 'hello':
      return { kind, version: PROTOCOL_VERSION, token: `token-${int(rng, 1e9)}`, manifest: FUZZ_MANIFEST, identityKey: randomBytes(rng, IDENTITY_KEY_BYTES) };
    case 'welcome':
      return { kind, participantId: `p${int(rng, 100)}`, rounds: int(rng, 100) };
    case 'roundStart':
      return rng.next() < 0.5
        ? { kind, round, plan, deadlineMs: 1 + int(rng, 1e6), global: floats(rng, int(rng, 32)) }
        : {
            kind,
            round,
            plan,
            deadlineMs: 1 + int(rng, 1e6),
            global: floats(rng, int(rng, 32)),
            secagg: {
              group: 1,
              index: 2,
              members: 5,
              neighbours: [1, 3, 4, 5],
              threshold: 3,
              clip: 1,
              bits: 20,
              peers: [1, 3, 4, 5].map((index) => ({ index, participantId: `p${index}`, identityKey: randomBytes(rng, IDENTITY_KEY_BYTES) })),
            },
          };
    case 'update':
      return { kind, round, numSamples: 1 + int(rng, 1000), meanLoss: rng.next(), trainMs: int(rng, 1e5), delta: floats(rng, int(rng, 32)) };
    case 'updateAck':
      return { kind, round };
    case 'roundEnd':
      return { kind, round, outcome: rng.next() < 0.5 ? 'completed' : 'aborted', reason: 'quorum met' };
    case 'finished':
      return { kind, round, global: floats(rng, int(rng, 32)) };
    case 'error':
      return { kind, code: 'BAD_UPDATE', message: 'update rejected' };
    case 'saKeys':
      return {
        kind,
        round,
        numSamples: 1 + int(rng, 1000),
        meanLoss: rng.next(),
        trainMs: int(rng, 1e5),
        maskPublicKey: randomBytes(rng, ML_KEM768_PUBLIC_KEY_BYTES),
        sharePublicKey: randomBytes(rng, ML_KEM768_PUBLIC_KEY_BYTES),
        selfCommitment: randomBytes(rng, SECAGG_COMMITMENT_BYTES),
        masterCommitment: randomBytes(rng, SECAGG_COMMITMENT_BYTES),
        signature: randomBytes(rng, SIGNATURE_BYTES),
      };
    case 'saPeerKeys':
      return { kind, round, keys: indexed(rng, int(rng, 3), SECAGG_PEER_KEYS_BYTES) };
    case 'saEncaps': {
      const n = 1 + int(rng, 3);
      return { kind, round, cipherTexts: indexed(rng, int(rng, n + 1), SECAGG_CIPHERTEXT_BYTES), shareCipherTexts: indexed(rng, n, SECAGG_CIPHERTEXT_BYTES), attestation: attestation(rng, n) };
    }
    case 'saPeerEncaps': {
      const n = int(rng, 3);
      const attestations = Array.from({ length: n }, (_, i) => ({ index: i + 1, bytes: attestation(rng, 1 + int(rng, 4)) }));
      return { kind, round, cipherTexts: indexed(rng, int(rng, n + 1), SECAGG_CIPHERTEXT_BYTES), shareCipherTexts: indexed(rng, n, SECAGG_CIPHERTEXT_BYTES), attestations };
    }
    case 'saShares': {
      const n = 1 + int(rng, 4);
      return { kind, round, shares: indexed(rng, n, SECAGG_SEALED_SHARES_BYTES), commitments: indexed(rng, n, SECAGG_SHARE_COMMITMENTS_BYTES), seedCommitments: indexed(rng, n, SECAGG_COMMITMENT_BYTES), attestation: attestation(rng, n) };
    }
    case 'saPeerShares': {
      const n = int(rng, 4);
      const attestations = Array.from({ length: n }, (_, i) => ({ index: i + 1, bytes: attestation(rng, 1 + int(rng, 4)) }));
      return { kind, round, weight: 0.5, shares: indexed(rng, n, SECAGG_SEALED_SHARES_BYTES), commitments: indexed(rng, n, SECAGG_SHARE_COMMITMENTS_BYTES), seedCommitments: indexed(rng, n, SECAGG_COMMITMENT_BYTES), attestations };
    }
    case 'saSurvivors':
      return { kind, round, survivors: [1, 2, 4, 5].slice(0, 1 + int(rng, 4)) };
    case 'saSurvivorsSigned':
      return { kind, round, signature: randomBytes(rng, SIGNATURE_BYTES) };
    case 'saMasked':
      return { kind, round, masked: Uint32Array.from({ length: int(rng, 32) }, () => int(rng, 2 ** 32)), complaints: indexed(rng, int(rng, 2), SECAGG_COMPLAINT_BYTES) };
    case 'saUnmask':
      return { kind, round, survivors: [1, 2, 4], dropped: [3], signatures: indexed(rng, int(rng, 3), SIGNATURE_BYTES) };
    case 'saUnmaskReply':
      return { kind, round, selfShares: indexed(rng, int(rng, 3), SECAGG_SHARE_BYTES), masterShares: indexed(rng, int(rng, 2), SECAGG_SHARE_BYTES), maskSeeds: indexed(rng, int(rng, 2), SECAGG_MASK_SEED_BYTES) };
    default: {
      const unknown: never = kind;
      throw new Error(`sampleMessage: unknown kind ${String(unknown)}`);
    }
  }
}

export const MESSAGE_KINDS = Object.keys(MESSAGE_TAGS) as MessageKind[];

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_U32 = [0, 1, 2, 3, 4, 7, 8, 255, 256, 1024, 65535, 65536, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const INTERESTING_F64 = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, -1, 1e308, 5e-324, 2 ** 53];

export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

export type Mutator = (rng: Rng, input: Uint8Array, other: Uint8Array) => Uint8Array;

export const MUTATORS: Readonly<Record<string, Mutator>> = {
  bitFlips(rng, input) {
    const out = input.slice();
    for (let i = 1 + int(rng, 8); i > 0 && out.length > 0; i--) {
      const at = int(rng, out.length);
      out[at] = (out[at] as number) ^ (1 << int(rng, 8));
    }
    return out;
  },
  interestingBytes(rng, input) {
    const out = input.slice();
    for (let i = 1 + int(rng, 4); i > 0 && out.length > 0; i--) out[int(rng, out.length)] = pick(rng, INTERESTING_BYTES);
    return out;
  },
  truncate(rng, input) {
    return input.slice(0, int(rng, input.length + 1));
  },
  extend(rng, input) {
    return concat(input, rng.next() < 0.5 ? new Uint8Array(1 + int(rng, 64)) : randomBytes(rng, 1 + int(rng, 64)));
  },
  insertOrDelete(rng, input) {
    if (rng.next() < 0.5 && input.length > 0) {
      const from = int(rng, input.length);
      const n = 1 + int(rng, Math.min(16, input.length - from));
      return concat(input.subarray(0, from), input.subarray(from + n));
    }
    const at = int(rng, input.length + 1);
    return concat(input.subarray(0, at), randomBytes(rng, 1 + int(rng, 16)), input.subarray(at));
  },
  splice(rng, input, other) {
    return concat(input.subarray(0, int(rng, input.length + 1)), other.subarray(int(rng, other.length + 1)));
  },
  lengthField(rng, input) {
    if (input.length < 4) return input.slice();
    const out = input.slice();
    const view = new DataView(out.buffer);
    const at = int(rng, out.length - 3);
    const remaining = out.length - at - 4;
    const value = rng.next() < 0.25 ? Math.max(0, remaining + int(rng, 9) - 4) : pick(rng, INTERESTING_U32);
    if (rng.next() < 0.2) view.setUint16(at, value & 0xffff, true);
    else view.setUint32(at, value >>> 0, true);
    return out;
  },
  float64(rng, input) {
    if (input.length < 8) return input.slice();
    const out = input.slice();
    new DataView(out.buffer).setFloat64(int(rng, out.length - 7), pick(rng, INTERESTING_F64), true);
    return out;
  },
  retag(rng, input) {
    const out = input.slice();
    if (out.length > 0) out[0] = rng.next() < 0.9 ? 1 + int(rng, MESSAGE_KINDS.length) : int(rng, 256);
    return out;
  },
};

export const MUTATOR_NAMES = Object.keys(MUTATORS);

/** Apply 1–3 randomly chosen mutators in sequence. */
export function mutate(rng: Rng, input: Uint8Array, other: Uint8Array): { bytes: Uint8Array; steps: string[] } {
  let bytes = input;
  const steps: string[] = [];
  for (let n = 1 + int(rng, 3); n > 0; n--) {
    const name = pick(rng, MUTATOR_NAMES);
    steps.push(name);
    bytes = (MUTATORS[name] as Mutator)(rng, bytes, other);
  }
  return { bytes, steps };
}

export function hex(bytes: Uint8Array, max = 96): string {
  const shown = Buffer.from(bytes.subarray(0, max)).toString('hex');
  return bytes.length > max ? `${shown}… (${bytes.length} bytes)` : shown;
}
