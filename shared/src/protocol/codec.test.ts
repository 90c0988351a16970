import { describe, expect, it } from 'vitest';
import type { AdapterManifest } from '../adapter.ts';
import { ServerHandshake, clientHandshake } from '../crypto/channel.ts';
import { fingerprint, generateKemKeyPair } from '../crypto/kem.ts';
import { FedwardenError } from '../errors.ts';
import { DEFAULT_LIMITS, type ProtocolLimits } from '../limits.ts';
import { createRng } from '../rng.ts';
import { ByteWriter } from './bytes.ts';
import { decodeMessage, encodeMessage } from './codec.ts';
import { MESSAGE_TAGS, type Message, type MessageKind, type MessageOf } from './messages.ts';

const manifest: AdapterManifest = {
  entries: [
    { name: 'dense_1/lora_A', shape: [784, 8], init: { kind: 'normal', std: 0.01 } },
    { name: 'dense_1/lora_B', shape: [8, 256], init: { kind: 'zeros' } },
    { name: 'bias', shape: [3], init: { kind: 'zeros' } },
  ],
};

const vector = (n: number, seed: number): Float32Array => {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
};

function blob(n: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rng.next() * 256));
}

/** One sample per kind; the mapped type makes the compiler demand every kind. */
const SAMPLES: { [K in MessageKind]: MessageOf<K> } = {
  hello: { kind: 'hello', version: 2, token: 'enrol-tok€n-123', manifest, identityKey: blob(1952, 30) },
  welcome: { kind: 'welcome', participantId: 'participant-7', rounds: 30 },
  roundStart: {
    kind: 'roundStart',
    round: 4,
    plan: { epochs: 2, batchSize: 32, learningRate: 0.005 },
    deadlineMs: 60_000,
    global: vector(37, 1),
  },
  update: { kind: 'update', round: 4, numSamples: 512, meanLoss: 0.731, trainMs: 1234.5, delta: vector(37, 2) },
  updateAck: { kind: 'updateAck', round: 4 },
  roundEnd: { kind: 'roundEnd', round: 4, outcome: 'aborted', reason: 'quorum not reached' },
  finished: { kind: 'finished', round: 30, global: vector(5, 3) },
  error: { kind: 'error', code: 'MANIFEST_MISMATCH', message: 'adapter manifest mismatch' },
  saKeys: { kind: 'saKeys', round: 4, numSamples: 90, meanLoss: 0.5, trainMs: 12, maskPublicKey: blob(1184, 1), sharePublicKey: blob(1184, 11), selfCommitment: blob(32, 12), masterCommitment: blob(32, 13), signature: blob(3309, 31) },
  saPeerKeys: { kind: 'saPeerKeys', round: 4, keys: [{ index: 2, bytes: blob(5741, 2) }, { index: 5, bytes: blob(5741, 3) }] },
  saEncaps: { kind: 'saEncaps', round: 4, cipherTexts: [{ index: 3, bytes: blob(1088, 4) }], shareCipherTexts: [{ index: 1, bytes: blob(1088, 14) }, { index: 3, bytes: blob(1088, 15) }], attestation: blob(3309 + 4 + 2 * 36, 32) },
  saPeerEncaps: { kind: 'saPeerEncaps', round: 4, cipherTexts: [{ index: 1, bytes: blob(1088, 5) }], shareCipherTexts: [{ index: 1, bytes: blob(1088, 16) }], attestations: [{ index: 1, bytes: blob(3309 + 4 + 36, 33) }] },
  saShares: { kind: 'saShares', round: 4, shares: [{ index: 2, bytes: blob(80, 6) }, { index: 4, bytes: blob(80, 7) }], commitments: [{ index: 2, bytes: blob(64, 17) }, { index: 4, bytes: blob(64, 18) }], seedCommitments: [{ index: 2, bytes: blob(32, 22) }, { index: 4, bytes: blob(32, 23) }], attestation: blob(3309 + 4 + 2 * 36, 34) },
  saPeerShares: { kind: 'saPeerShares', round: 4, weight: 0.25, shares: [{ index: 1, bytes: blob(80, 8) }], commitments: [{ index: 1, bytes: blob(64, 19) }], seedCommitments: [{ index: 1, bytes: blob(32, 24) }], attestations: [{ index: 1, bytes: blob(3309 + 4 + 3 * 36, 35) }] },
  saMasked: { kind: 'saMasked', round: 4, masked: Uint32Array.of(0, 1, 2 ** 32 - 1, 12345), complaints: [{ index: 2, bytes: blob(32, 20) }] },
  saSurvivors: { kind: 'saSurvivors', round: 4, survivors: [1, 2, 4, 5] },
  saSurvivorsSigned: { kind: 'saSurvivorsSigned', round: 4, signature: blob(3309, 36) },
  saUnmask: { kind: 'saUnmask', round: 4, survivors: [1, 2, 4], dropped: [3], signatures: [{ index: 1, bytes: blob(3309, 37) }, { index: 4, bytes: blob(3309, 38) }] },
  saUnmaskReply: {
    kind: 'saUnmaskReply',
    round: 4,
    selfShares: [{ index: 1, bytes: blob(32, 9) }],
    masterShares: [{ index: 3, bytes: blob(32, 10) }],
    maskSeeds: [{ index: 3, bytes: blob(32, 21) }],
  },
};
const samples: Message[] = [
  ...Object.values(SAMPLES),
  {
    kind: 'roundStart',
    round: 5,
    plan: { epochs: 1, batchSize: 8, learningRate: 0.01 },
    deadlineMs: 1000,
    global: vector(3, 4),
    secagg: {
      group: 2,
      index: 3,
      members: 5,
      neighbours: [1, 2, 4, 5],
      threshold: 3,
      clip: 0.5,
      bits: 29,
      peers: [1, 2, 4, 5].map((index) => ({ index, participantId: `p-${index}`, identityKey: blob(1952, 40 + index) })),
    },
  },
  { kind: 'roundEnd', round: 0, outcome: 'completed', reason: '' },
  { kind: 'update', round: 2 ** 32 - 1, numSamples: 0, meanLoss: Number.NaN, trainMs: 0, delta: new Float32Array(0) },
];

function errorOf(fn: () => unknown): FedwardenError | Error | undefined {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  return undefined;
}

function codeOf(fn: () => unknown): string | undefined {
  const err = errorOf(fn);
  if (err === undefined) return undefined;
  return err instanceof FedwardenError ? err.code : `not a FedwardenError: ${String(err)}`;
}

/** Hand-built frames for layouts the encoder would not produce. */
const frame = (build: (w: ByteWriter) => unknown): Uint8Array => {
  const w = new ByteWriter();
  build(w);
  return w.finish();
};

describe('codec round trip', () => {
  it('has a sample for every message kind', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(MESSAGE_TAGS).sort());
  });

  for (const msg of samples) {
    it(`${msg.kind} survives encode/decode`, () => {
      const bytes = encodeMessage(msg);
      expect(bytes[0]).toBe(MESSAGE_TAGS[msg.kind]);
      expect(decodeMessage(bytes)).toEqual(msg);
    });
  }

  it('lays out an update as tag, u32 round, u32 numSamples, f64 meanLoss, f64 trainMs, vector', () => {
    const delta = Float32Array.from([1, -2]);
    const bytes = encodeMessage({ kind: 'update', round: 7, numSamples: 9, meanLoss: 0.5, trainMs: 3, delta });
    expect(bytes.length).toBe(1 + 4 + 4 + 8 + 8 + 4 + 8);
    expect(bytes).toEqual(frame((w) => w.u8(4).u32(7).u32(9).f64(0.5).f64(3).float32Vector(delta)));
  });
});

describe('decodeMessage rejects', () => {
  it('every truncation of every sample as BAD_FRAME', () => {
    for (const msg of samples) {
      const bytes = encodeMessage(msg);
      for (let n = 0; n < bytes.length; n++) {
        expect(codeOf(() => decodeMessage(bytes.subarray(0, n))), `${msg.kind} cut at ${n}/${bytes.length}`).toBe('BAD_FRAME');
      }
    }
  });

  it('trailing bytes and unknown tags', () => {
    for (const msg of samples) {
      expect(codeOf(() => decodeMessage(new Uint8Array([...encodeMessage(msg), 0])))).toBe('BAD_FRAME');
    }
    for (const tag of [0, 9, 200, 255]) expect(codeOf(() => decodeMessage(new Uint8Array([tag, 0, 0, 0, 0])))).toBe('BAD_FRAME');
  });

  it('a vector length claiming 2^31 elements, without allocating', () => {
    const claim = frame((w) => w.u8(MESSAGE_TAGS.update).u32(1).u32(1).f64(0).f64(0).u32(2 ** 31));
    expect(codeOf(() => decodeMessage(claim))).toBe('TOO_BIG');
    // With the limit lifted, the claim is checked against the bytes present before anything is allocated.
    const lifted: ProtocolLimits = { ...DEFAULT_LIMITS, maxVectorLength: 2 ** 32 - 1 };
    expect(errorOf(() => decodeMessage(claim, lifted))?.message).toMatch(/^truncated delta/);
  });

  it('fields and vectors beyond the configured limits as TOO_BIG', () => {
    const tight: ProtocolLimits = { maxFrameBytes: 4096, maxVectorLength: 36, maxStringBytes: 8, maxGroupSize: 255, maxManifestEntries: 2 };
    expect(codeOf(() => decodeMessage(encodeMessage(SAMPLES.update), tight))).toBe('TOO_BIG');
    expect(codeOf(() => decodeMessage(encodeMessage(SAMPLES.welcome), tight))).toBe('TOO_BIG');
    expect(codeOf(() => decodeMessage(new Uint8Array(4097), tight))).toBe('TOO_BIG');
    const hello = { ...SAMPLES.hello, token: 't', manifest } as const;
    expect(codeOf(() => decodeMessage(encodeMessage(hello), tight))).toBe('TOO_BIG'); // 3 entries > 2
    const oneEntry = { ...SAMPLES.hello, token: 't', manifest: { entries: [{ name: 'a', shape: [6, 7], init: { kind: 'zeros' } }] } } as const;
    expect(codeOf(() => decodeMessage(encodeMessage(oneEntry), tight))).toBe('TOO_BIG'); // 42 params > 36
  });

  it('training plans outside their ranges', () => {
    const plan = SAMPLES.roundStart.plan;
    const bad = [
      { ...plan, epochs: 0 },
      { ...plan, epochs: 1001 },
      { ...plan, batchSize: 0 },
      { ...plan, learningRate: 0 },
      { ...plan, learningRate: -0.1 },
      { ...plan, learningRate: Number.NaN },
      { ...plan, learningRate: Infinity },
    ];
    for (const p of bad) {
      expect(codeOf(() => decodeMessage(encodeMessage({ ...SAMPLES.roundStart, plan: p }))), JSON.stringify(p)).toBe('BAD_FRAME');
    }
    expect(codeOf(() => decodeMessage(encodeMessage({ ...SAMPLES.roundStart, deadlineMs: 0 })))).toBe('BAD_FRAME');
    for (const epochs of [1, 1000]) {
      expect(() => decodeMessage(encodeMessage({ ...SAMPLES.roundStart, plan: { ...plan, epochs } }))).not.toThrow();
    }
  });

  it('unknown outcomes and error codes', () => {
    expect(codeOf(() => decodeMessage(frame((w) => w.u8(MESSAGE_TAGS.roundEnd).u32(1).u8(2).string('x'))))).toBe('BAD_FRAME');
    expect(codeOf(() => decodeMessage(frame((w) => w.u8(MESSAGE_TAGS.error).string('NOPE').string('x'))))).toBe('BAD_FRAME');
    expect(codeOf(() => decodeMessage(frame((w) => w.u8(MESSAGE_TAGS.error).string('toString').string('x'))))).toBe('BAD_FRAME');
  });

  it('malformed manifests', () => {
    const entry = (w: ByteWriter, rank: number, init: number, name = 'a') => {
      w.string(name).u8(rank);
      for (let i = 0; i < rank; i++) w.u32(2);
      w.u8(init);
      if (init === 1) w.f64(0.1);
    };
    // version, token, manifest (built by the case), identity key
    const hello = (build: (w: ByteWriter) => void) =>
      frame((w) => {
        build(w.u8(MESSAGE_TAGS.hello).u16(2).string('t'));
        w.bytes(new Uint8Array(1952));
      });
    expect(() => decodeMessage(hello((w) => entry(w.u16(1), 8, 1)))).not.toThrow();
    expect(codeOf(() => decodeMessage(hello((w) => entry(w.u16(1), 0, 0))))).toBe('BAD_FRAME');
    expect(codeOf(() => decodeMessage(hello((w) => entry(w.u16(1), 9, 0))))).toBe('BAD_FRAME');
    expect(codeOf(() => decodeMessage(hello((w) => entry(w.u16(1), 1, 2))))).toBe('BAD_FRAME');
    expect(codeOf(() => decodeMessage(hello((w) => w.u16(0))))).toBe('BAD_FRAME');
    expect(() => decodeMessage(hello((w) => (entry(w.u16(2), 1, 0, 'a'), entry(w, 1, 0, 'b'))))).not.toThrow();
    expect(codeOf(() => decodeMessage(hello((w) => (entry(w.u16(2), 1, 0, 'a'), entry(w, 1, 0, 'a')))))).toBe('BAD_FRAME'); // duplicate
    expect(codeOf(() => decodeMessage(hello((w) => w.u16(1).string('a').u8(1).u32(0).u8(0))))).toBe('BAD_FRAME'); // zero dim
    expect(codeOf(() => decodeMessage(hello((w) => w.u16(1).string('a').u8(1).u32(2).u8(1).f64(-1))))).toBe('BAD_FRAME');
    expect(codeOf(() => decodeMessage(hello((w) => w.u16(1).string('a').u8(1).u32(2).u8(1).f64(Number.NaN))))).toBe('BAD_FRAME');
    const huge = hello((w) => w.u16(1).string('a').u8(8).u32(2 ** 32 - 1).u32(2 ** 32 - 1).u32(2 ** 32 - 1).u32(2 ** 32 - 1).u32(2 ** 32 - 1).u32(2 ** 32 - 1).u32(2 ** 32 - 1).u32(2 ** 32 - 1).u8(0));
    expect(codeOf(() => decodeMessage(huge))).toBe('TOO_BIG');
  });
});

describe('decodeMessage under hostile input', () => {
  it('only ever throws FedwardenError on 20,000 random and mutated frames', () => {
    const rng = createRng(20_260_101);
    const int = (n: number) => Math.floor(rng.next() * n);
    const encoded = samples.map(encodeMessage);
    const tags = Object.values(MESSAGE_TAGS);
    let decoded = 0;
    for (let i = 0; i < 20_000; i++) {
      let bytes: Uint8Array;
      if (i % 2 === 0) {
        bytes = Uint8Array.from({ length: int(96) }, () => int(256));
        if (bytes.length > 0 && i % 4 === 0) bytes[0] = tags[int(tags.length)] ?? 1; // reach past the tag check
      } else {
        bytes = (encoded[int(encoded.length)] as Uint8Array).slice();
        if (bytes.length > 0) bytes[int(bytes.length)] = int(256);
      }
      try {
        const msg = decodeMessage(bytes);
        decoded++;
        // Whatever decodes re-encodes to the same bytes: no field was invented or dropped.
        expect(encodeMessage(msg).length).toBe(bytes.length);
      } catch (err) {
        if (!(err instanceof FedwardenError)) throw new Error(`frame ${i} threw ${String(err)}`, { cause: err });
      }
    }
    expect(decoded).toBeGreaterThan(0); // the mutations are not all trivially rejected
  });
});

describe('upload overhead', () => {
  it('an update of 10,448 params costs at most 4.1 bytes per param after sealing', () => {
    const identity = generateKemKeyPair();
    const handshake = new ServerHandshake(identity);
    const { kexFrame, session: client } = clientHandshake(handshake.helloFrame, fingerprint(identity.publicKey));
    const server = handshake.accept(kexFrame);
    const d = 10_448;
    const update = { kind: 'update', round: 12, numSamples: 600, meanLoss: 0.42, trainMs: 8000, delta: vector(d, 4) } as const;
    const encoded = encodeMessage(update);
    const sealed = client.seal(encoded);
    expect(encoded.length).toBe(4 * d + 29);
    expect(sealed.length / d).toBeLessThanOrEqual(4.1);
    expect(decodeMessage(server.open(sealed))).toEqual(update);
  });
});

describe('secure-aggregation dropout recovery on the wire (protocol version 3)', () => {
  const reply = SAMPLES.saUnmaskReply as MessageOf<'saUnmaskReply'>;
  const message = (f: () => unknown): string => {
    try {
      f();
    } catch (err) {
      return err instanceof FedwardenError ? `${err.code}: ${err.message}` : String(err);
    }
    return 'no error';
  };

  it('a revealed mask seed of the wrong length is refused by name, encoding and decoding', () => {
    for (const len of [0, 31, 33]) {
      const bad = { ...reply, maskSeeds: [{ index: 3, bytes: blob(len, 40) }] };
      expect(message(() => encodeMessage(bad))).toBe('BAD_FRAME: entry 3: expected 32 bytes');
    }
    // A frame cut inside the seeds list fails as a truncated maskSeeds, never as a shorter valid message.
    const bytes = encodeMessage(reply);
    expect(message(() => decodeMessage(bytes.subarray(0, bytes.length - 1)))).toMatch(/^BAD_FRAME: .*maskSeeds/);
  });

  it('a pair-seed commitment of the wrong length is refused, and a frame cut inside them is truncated', () => {
    for (const kind of ['saShares', 'saPeerShares'] as const) {
      const msg = SAMPLES[kind] as MessageOf<'saShares' | 'saPeerShares'>;
      const bad = { ...msg, seedCommitments: msg.seedCommitments.map((e) => ({ index: e.index, bytes: e.bytes.subarray(0, 31) })) };
      expect(message(() => encodeMessage(bad))).toMatch(/^BAD_FRAME: entry \d+: expected 32 bytes/);
    }
  });
});
