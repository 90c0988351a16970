/**
 * A participant's side of one round of SecAgg+ with ML-KEM (see client-stages.ts for the protocol and what an
 * honest member refuses). An ordered list of stage functions over one explicit state object: each method
 * checks that its stage is the legal successor of the last one, else throws UNEXPECTED_MESSAGE.
 *
 *   keys → encaps → shares → masked → unmask → done        (any error → failed)
 *
 * Secrets (b_i, P_i, the KEM secret keys, pairwise keys and complaint evidence, partners' shares) are zeroed
 * as soon as no later stage needs them, and all of them on done, on failure and on dispose(). A failed or
 * disposed client answers nothing more, so a refusal never reveals anything.
 *
 * Limits: JavaScript gives no constant-time guarantee and cannot wipe copies the engine may have made.
 */
import { randomFillSync } from 'node:crypto';
import { FedwardenError, toFedwardenError, type MessageOf, type SecaggSetup } from '@fedwarden/shared';
import { checkSetup, nextStage, wipeState, type ClientStage, type ClientStageName, type ClientState } from './client-state.ts';
import { encapsStage, keysStage, maskedStage, sharesStage, unmaskStage, type TrainingMeta } from './client-stages.ts';

export type { ClientStage } from './client-state.ts';
export { CLIENT_STAGES } from './client-state.ts';
export type { TrainingMeta } from './client-stages.ts';

function cryptoRandom(n: number): Uint8Array {
  return randomFillSync(new Uint8Array(n));
}

export class SecaggClient {
  private readonly state: ClientState;

  /**
   * `random(n)` supplies b_i and P_i (32 bytes each, in that order, stage keys), the share key pair's seed
   * (stage keys), the randomness of each share-key encapsulation (stage encaps), the Shamir coefficients
   * (stage shares) and, unless `rounding` is given, quantize's rounding randomness (stage masked, first draw of
   * that stage). It defaults to the platform CSPRNG and is injectable for tests only. `rounding(n)` supplies
   * only the rounding randomness, which protects no secret (the masks hide the update whatever the rounding):
   * simulations pass a seeded source so that a run replays exactly. Refuses (UNEXPECTED_MESSAGE) a setup that
   * is not well formed or whose threshold is at most half the degree.
   */
  constructor(round: number, setup: SecaggSetup, random: (n: number) => Uint8Array = cryptoRandom, rounding: (n: number) => Uint8Array = random) {
    checkSetup(round, setup);
    this.state = {
      round,
      setup: { ...setup, neighbours: [...setup.neighbours] },
      neighbours: new Set(setup.neighbours),
      random,
      rounding,
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
