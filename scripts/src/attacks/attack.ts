/**
 * The attack interface of the simulations: what a coalition of Byzantine participants does to the federation.
 *
 * An attack may poison the training data of its participants (data poisoning) and then replaces the updates
 * they would honestly send (model poisoning). It never sees honest participants' updates: `benign` holds the
 * deltas the Byzantine participants themselves computed this round on their own data, which is the knowledge
 * the non-omniscient attacks in the literature assume (ALIE and IPM estimate the honest mean and spread
 * from them). The Adversary (adversary.ts) collects them, calls `craft` once per round, and hands each
 * Byzantine participant its crafted delta.
 *
 * The files beside this one each implement one attack and name the paper it comes from.
 */
import type { LabeledData } from '@fedwarden/client';
import type { Rng } from '@fedwarden/shared';

export interface AttackContext {
  /**
   * 1-based count of the rounds in which at least one Byzantine participant trained (the Adversary cannot see
   * the coordinator's round numbers; see adversary.ts). Equals the coordinator's round while every round
   * selects a Byzantine participant.
   */
  readonly round: number;
  /** The global adapter this round started from. */
  readonly global: Float32Array;
  /** This round's honest deltas of the Byzantine participants that trained, one each, in a fixed order. */
  readonly benign: readonly Float32Array[];
  /** n: participants whose updates the aggregate combines (the federation's size when every one is selected). */
  readonly numParticipants: number;
  /** f: Byzantine participants in the federation (≥ benign.length; fewer train when some drop out). */
  readonly numByzantine: number;
  /** Seeded per round by the Adversary, so that a simulation replays exactly. */
  readonly rng: Rng;
}

export interface Attack {
  /** Registry name, e.g. "sign-flip". */
  readonly name: string;
  /** One line for reports: what the attack sends, with its parameters. */
  readonly description: string;
  /**
   * Optional data poisoning before local training. `round` is the AttackContext round when the Adversary
   * poisons at the start of each round's training; left out, the call poisons for every round (an attack that
   * poisons only in some rounds, like on-off, then returns the data unchanged and leaves it to the Adversary).
   * Implementations mark their output with markPoisoned (poisoned-data.ts) so that nothing is poisoned twice.
   */
  poisonData?(data: LabeledData, round?: number): LabeledData;
  /** One delta per Byzantine participant, in `ctx.benign` order; each of the global adapter's length. */
  craft(ctx: AttackContext): Float32Array[];
}
