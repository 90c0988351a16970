/**
 * A participant's side of one round of SecAgg+ with ML-KEM (see client-stages.ts for the protocol and what an
 * honest member refuses). An ordered list of stage functions over one explicit state object: each method
 * checks that its stage is the legal successor of the last one, else throws UNEXPECTED_MESSAGE.
 *
 *   keys → encaps → shares → masked → survivors → unmask → done        (any error → failed)
 *
 * Secrets (b_i, P_i, the KEM secret keys, pairwise keys and complaint evidence, partners' shares, the mask seeds
 * kept for a partner that may drop) are zeroed
 * as soon as no later stage needs them, and all of them on done, on failure and on dispose(). A failed or
 * disposed client answers nothing more, so a refusal never reveals anything.
 *
 * Limits: JavaScript gives no constant-time guarantee and cannot wipe copies the engine may have made.
 */
import { randomFillSync } from 'node:crypto';
import { FedwardenError, toFedwardenError, type IdentityKeyPair, type MessageOf, type SecaggPeer, type SecaggSetup } from '@fedwarden/shared';
import { checkSetup, nextStage, wipeState, type ClientStage, type ClientStageName, type ClientState } from './client-state.ts';
import { encapsStage, keysStage, maskedStage, sharesStage, survivorsStage, unmaskStage, type TrainingMeta } from './client-stages.ts';

export type { ClientStage } from './client-state.ts';
export { CLIENT_STAGES } from './client-state.ts';
export type { TrainingMeta } from './client-stages.ts';

function cryptoRandom(n: number): Uint8Array {
  return randomFillSync(new Uint8Array(n));
}

export interface SecaggClientOptions {
  /** This participant's ML-DSA-65 identity key pair: it signs every stage message. */
  readonly identity: IdentityKeyPair;
  /**
   * Whether to accept a neighbour's identity key as the coordinator names it (participant id and key). The
   * default accepts all; FederatedClient pins each participant id's key on first sight (peer-pins.ts). Returning
   * false makes this member refuse the round before it sends anything.
   */
  readonly trustPeer?: (peer: SecaggPeer) => boolean;
  /**
   * `random(n)` supplies b_i and P_i (32 bytes each, in that order, stage keys), the share key pair's seed
   * (stage keys), the randomness of each share-key encapsulation (stage encaps), the Shamir coefficients
   * (stage shares) and, unless `rounding` is given, quantize's rounding randomness (stage masked, first draw of
   * that stage). It defaults to the platform CSPRNG and is injectable for tests only.
   */
  readonly random?: (n: number) => Uint8Array;
  /**
   * Only the rounding randomness, which protects no secret (the masks hide the update whatever the rounding):
   * simulations pass a seeded source so that a run replays exactly.
   */
  readonly rounding?: (n: number) => Uint8Array;
}

export class SecaggClient {
  private readonly state: ClientState;

  /**
   * Refuses (UNEXPECTED_MESSAGE) a setup that is not well formed or whose threshold is at most half the degree,
   * and (UNTRUSTED_PEER) one that names a neighbour whose identity key `trustPeer` rejects.
   */
  constructor(round: number, setup: SecaggSetup, options: SecaggClientOptions) {
    checkSetup(round, setup);
    const trust = options.trustPeer ?? ((): boolean => true);
    for (const peer of setup.peers) {
      if (!trust(peer)) throw new FedwardenError('UNTRUSTED_PEER', `secagg: neighbour ${peer.participantId} presents an identity key this participant does not trust`);
    }
    const random = options.random ?? cryptoRandom;
    this.state = {
      round,
      setup: { ...setup, neighbours: [...setup.neighbours], peers: [...setup.peers] },
      neighbours: new Set(setup.neighbours),
      identity: options.identity,
      peerKeys: new Map(setup.peers.map((p) => [p.index, p.identityKey])),
      survivors: undefined,
      random,
      rounding: options.rounding ?? random,
      stage: 'keys',
      selfSeed: undefined,
      master: undefined,
      kemSecretKey: undefined,
      shareSecretKey: undefined,
      keyed: new Set(),
      peers: new Map(),
      held: new Map(),
      clipped: 0,
    };
  }

  /** The stage whose method may be called next, or 'done' / 'failed'. */
  get stage(): ClientStage {
    return this.state.stage;
  }

  get round(): number {
    return this.state.round;
  }

  get setup(): SecaggSetup {
    return this.state.setup;
  }

  /** Coordinates of the update that quantization clipped (known after stage masked). */
  get clipped(): number {
    return this.state.clipped;
  }

  keys(meta: TrainingMeta): MessageOf<'saKeys'> {
    return this.run('keys', () => keysStage(this.state, meta));
  }

  encaps(msg: MessageOf<'saPeerKeys'>): MessageOf<'saEncaps'> {
    return this.run('encaps', () => encapsStage(this.state, msg));
  }

  shares(msg: MessageOf<'saPeerEncaps'>): MessageOf<'saShares'> {
    return this.run('shares', () => sharesStage(this.state, msg));
  }

  masked(msg: MessageOf<'saPeerShares'>, update: Float32Array): MessageOf<'saMasked'> {
    return this.run('masked', () => maskedStage(this.state, msg, update));
  }

  /** The consistency round: sign the survivor set U3. */
  survivors(msg: MessageOf<'saSurvivors'>): MessageOf<'saSurvivorsSigned'> {
    return this.run('survivors', () => survivorsStage(this.state, msg));
  }

  unmask(msg: MessageOf<'saUnmask'>): MessageOf<'saUnmaskReply'> {
    return this.run('unmask', () => unmaskStage(this.state, msg));
  }

  /** Abandon the run (round ended, connection lost): wipe every secret; later calls are refused. */
  dispose(): void {
    wipeState(this.state);
    if (this.state.stage !== 'done') this.state.stage = 'failed';
  }

  private run<T>(stage: ClientStageName, fn: () => T): T {
    const s = this.state;
    if (s.stage !== stage) {
      const was = s.stage;
      // Out of order mid-run means the coordinator is not following the protocol: give up, reveal nothing.
      if (was !== 'done' && was !== 'failed') this.dispose();
      throw new FedwardenError('UNEXPECTED_MESSAGE', `secagg: stage ${stage} is not allowed (${was === 'done' || was === 'failed' ? 'run is ' : 'expected '}${was})`);
    }
    try {
      const out = fn();
      s.stage = nextStage(stage);
      if (s.stage === 'done') wipeState(s);
      return out;
    } catch (err) {
      this.dispose();
      throw toFedwardenError(err);
    }
  }
}
