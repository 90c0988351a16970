/**
 * A hostile member inside real trusted-mode rounds, seeded and reproducible: every round it answers roundStart
 * with a hostile update — fields drawn from boundary values (NaN, ±Infinity, −0, huge norms, wrong lengths,
 * zero or enormous sample counts, negative times, neighbouring rounds) or byte-level mutants of a valid update,
 * sealed correctly. The coordinator must take it, refuse it with an UPDATE_REFUSED reply (an earlier round:
 * the member then sends its genuine update, which is taken), or close the member with a stable refusal code
 * (never INTERNAL); every round must complete with the honest members. One update per round: a second,
 * different one is refused on its own (test/update-refusals.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient } from '@fedwarden/client';
import { ERROR_CODES, codeFromCloseReason, createRng, deriveSeed, encodeMessage, generateIdentity, type ErrorCode, type MessageOf, type Rng } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { FUZZ_SEED, Tally, failCase } from './support/fuzz-harness.ts';
import { int, mutate, pick, randomBytes } from './support/fuzz-inputs.ts';
import { RawPeer } from './support/raw-peer.ts';

const ROUNDS = 120;
const DIM = 6;
const MAX_NORM = 1_000;
/** What a hostile update may be refused with; anything else (INTERNAL above all) is a bug. */
const REFUSALS: readonly ErrorCode[] = ['BAD_UPDATE', 'UNEXPECTED_MESSAGE', 'BAD_FRAME', 'TOO_BIG'];

let fed: TestFederation | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
});

const FLOATS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1e-45, 3.4e38, -3.4e38, MAX_NORM, 1];

function hostileUpdate(rng: Rng, round: number): MessageOf<'update'> {
  const delta = Float32Array.from({ length: pick(rng, [DIM, DIM, DIM, 0, 1, DIM - 1, DIM + 1, 1000]) }, () => rng.next() - 0.5);
  for (let n = int(rng, 3); n > 0 && delta.length > 0; n--) delta[int(rng, delta.length)] = pick(rng, FLOATS);
  const maybe = <T>(good: T, bad: readonly T[]): T => (rng.next() < 0.7 ? good : pick(rng, bad));
  return {
    kind: 'update',
    round: maybe(round, [round - 1, round + 1, 0, 2 ** 32 - 1]),
    numSamples: maybe(10, [0, 1, 2 ** 32 - 1]),
    meanLoss: maybe(0.5, [Number.NaN, Number.POSITIVE_INFINITY, -1e308]),
    trainMs: maybe(3, [-1, Number.NaN, Number.POSITIVE_INFINITY]),
    delta,
  };
}

describe('fuzz: a hostile member in trusted rounds', () => {
  it(`refuses its hostile updates with stable codes over ${ROUNDS} rounds while every round completes`, async () => {
    fed = await startFederation(3, {
      rounds: { count: ROUNDS, minParticipants: 3, quorum: 0.5, deadlineMs: 10_000 },
      limits: { maxUpdateNorm: MAX_NORM },
    });
    const federation = fed;
    const rng = createRng(deriveSeed(FUZZ_SEED, 7));
    const outcomes = new Tally();
    const step = Float32Array.from({ length: DIM }, (_, i) => (i + 1) / 100);
    const manifest = new FakeModel(step).manifest;

    // It reconnects as the same participant, so it presents the identity key registered at its first hello.
    const identity = generateIdentity();
    const hostile = async () => {
      for (let index = 0; ; index++) {
        const peer = await RawPeer.connect(federation.url);
        await peer.join(federation.fingerprint, federation.tokens[2]!, manifest, identity);
        for (;;) {
          const msg = await peer.next();
          if (!msg) break; // closed: checked below
          if (msg.kind === 'finished') {
            peer.ws.close();
            return;
          }
          if (msg.kind !== 'roundStart') continue;
          const genuine = { kind: 'update', round: msg.round, numSamples: 10, meanLoss: 0.5, trainMs: 3, delta: step.slice() } as const;
          let plaintext: Uint8Array;
          let steps: string[];
          if (rng.next() < 0.6) {
            plaintext = encodeMessage(hostileUpdate(rng, msg.round));
            steps = ['fields'];
          } else {
            ({ bytes: plaintext, steps } = mutate(rng, encodeMessage(genuine), randomBytes(rng, 32)));
          }
          peer.sendSealed(plaintext);
          const reply = await peer.next();
          const c = { suite: 'rounds', index, input: plaintext, steps };
          if (reply?.kind === 'error') {
            if (reply.code !== 'UPDATE_REFUSED') failCase(c, `error reply ${reply.code}: ${reply.message}`);
            outcomes.add('UPDATE_REFUSED reply');
            peer.sendSealed(genuine);
            const ack = await peer.next();
            if (ack?.kind !== 'updateAck') failCase(c, `the genuine update after a refusal got ${ack?.kind ?? 'a close'}`);
            continue;
          }
          if (reply) {
            outcomes.add(`taken: ${reply.kind}`);
            continue;
          }
          const { code, reason } = await peer.closed;
          const refusal = codeFromCloseReason(reason);
          if (refusal === undefined || !REFUSALS.includes(refusal)) failCase(c, `closed with ${code} (${reason})`);
          if (code !== ERROR_CODES[refusal].close) failCase(c, `close code ${code} does not map to ${refusal}`);
          outcomes.add(refusal);
        }
      }
    };

    const honest = federation.tokens.slice(0, 2).map(
      (token) => new FederatedClient({ url: federation.url, fingerprint: federation.fingerprint, token, model: new FakeModel(step), data: fakeData(10) }),
    );
    const [records] = await Promise.all([federation.coordinator.run(), ...honest.map((c) => c.run()), hostile()]);

    expect(records).toHaveLength(ROUNDS);
    expect(records.filter((r) => r.outcome !== 'completed').map((r) => r.reason)).toEqual([]);
    expect(Array.from(federation.coordinator.globalAdapter()!).every(Number.isFinite)).toBe(true);
    // Both paths were exercised: hostile updates refused, and some taken (the genuine one or a valid mutant).
    expect(outcomes.get('BAD_UPDATE')).toBeGreaterThan(0);
    expect(outcomes.get('BAD_FRAME')).toBeGreaterThan(0);
    expect(outcomes.get('taken: updateAck')).toBeGreaterThan(0);
    expect(outcomes.get('UPDATE_REFUSED reply')).toBeGreaterThan(0);
    expect(outcomes.total()).toBe(ROUNDS);
  });
});
