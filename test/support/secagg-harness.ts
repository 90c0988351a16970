/**
 * Building blocks for in-memory secure-aggregation tests (real crypto, every message through the wire codec, no
 * sockets): the codec round trip, the error code a call throws, the members' identity key pairs (fixed seeds,
 * made once: ML-DSA key generation is the slow part), neighbour graphs, and a reproducible byte stream that can
 * be replayed to learn what a member drew (as a colluding member knows its own secrets).
 *
 * The identity seeds are those of test/secagg-protocol.test.ts (member i: 32 bytes of value i), so both suites
 * name the same keys.
 */
import {
  decodeMessage,
  encodeMessage,
  generateIdentity,
  neighbourGraph,
  seededBytes,
  type IdentityKeyPair,
  type Message,
} from '@fedwarden/shared';

/** Every message crosses the real codec, as on the wire. */
export function wire<M extends Message>(msg: M): M {
  return decodeMessage(encodeMessage(msg)) as M;
}

/** The FedwardenError code `fn` throws, undefined when it returns (the shared suites' helper). */
export { codeOf } from '../../shared/src/test-support.ts';

const IDENTITIES = new Map<number, IdentityKeyPair>();

/**
 * Member i's identity key pair (seed: 32 bytes of value i, i in 1..255), made once per process. Seeds above the
 * member range (e.g. 200) serve as keys a coordinator owns.
 */
export function identity(i: number): IdentityKeyPair {
  if (!Number.isInteger(i) || i < 1 || i > 255) throw new Error(`identity: seed ${i} not in 1..255`);
  let pair = IDENTITIES.get(i);
  if (!pair) {
    pair = generateIdentity(new Uint8Array(32).fill(i));
    IDENTITIES.set(i, pair);
  }
  return pair;
}

export function complete(n: number): number[][] {
  return neighbourGraph(n, { kind: 'complete' }, 0);
}

export function ring(n: number, k: number, seed: number): number[][] {
  return neighbourGraph(n, { kind: 'kRegular', k }, seed);
}

/**
 * A reproducible byte stream (sfc32) that records its draws, so that a test can read back what a member drew,
 * and can be forked at its current position (replaying what a member will draw next).
 */
export class ByteStream {
  private readonly source;
  private consumed = 0;
  /** Every draw, in order. */
  readonly draws: Uint8Array[] = [];
  constructor(private readonly seed: number) {
    this.source = seededBytes(seed);
  }
  readonly bytes = (n: number): Uint8Array => {
    this.consumed += n;
    const out = this.source(n);
    this.draws.push(out.slice());
    return out;
  };
  fork(): ByteStream {
    const copy = new ByteStream(this.seed);
    copy.bytes(this.consumed);
    copy.draws.length = 0;
    return copy;
  }
}
