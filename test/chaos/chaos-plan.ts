/**
 * The chaos test's script of faults, drawn from a seed so that a failing run can be replayed: in every round a
 * fixed fraction of the participants (20 % in the issue) loses its link at a random moment of that round, and
 * once in the run the coordinator process is killed mid-round. Pure: no sockets, no timers.
 *
 * Moments follow what a participant can observe through the SDK's events:
 *   - `train`: after its `step`-th local training batch (the SDK's `progress` event);
 *   - `upload`: `delayMs` after its update left (trusted: the plaintext update; secagg: its keys and metadata,
 *     sent as soon as training ends), so the upload is lost in flight or arrives just before the cut;
 *   - `stage`: as a secure-aggregation stage begins (the SDK's `stage` event), before the participant answers.
 * The kill uses the same moments and fires at the first participant reaching it that is not being cut in that
 * round, so that its round cannot have finished yet: that participant's answer is still missing.
 */
import { createRng, deriveSeed, shuffle, type Rng } from '@fedwarden/shared';

export type ChaosMode = 'trusted' | 'secagg';
export type SecaggStage = 'encaps' | 'shares' | 'masked' | 'unmask';

export type Moment =
  | { readonly kind: 'train'; readonly step: number }
  | { readonly kind: 'upload'; readonly delayMs: number }
  | { readonly kind: 'stage'; readonly stage: SecaggStage };

export interface Disconnect {
  readonly participant: number;
  readonly moment: Moment;
}

export interface ChaosPlan {
  readonly seed: number;
  readonly mode: ChaosMode;
  /** Disconnects of each round: `disconnects[r - 1]` for round r, sorted by participant. */
  readonly disconnects: ReadonlyArray<readonly Disconnect[]>;
  /** The coordinator is SIGKILLed once, in `round`, at `moment` (see the header). */
  readonly kill: { readonly round: number; readonly moment: Moment };
}

export interface ChaosPlanOptions {
  readonly seed: number;
  readonly mode: ChaosMode;
  readonly rounds: number;
  readonly participants: number;
  /** Fraction of participants cut per round; rounded to a whole number of participants. */
  readonly fraction: number;
  /** Training batches each participant runs per round (epochs × batches per epoch), by participant. */
  readonly trainSteps: readonly number[];
  /** Largest delay after an upload before its link is cut, ms. Default 20. */
  readonly maxUploadDelayMs?: number;
}

const SECAGG_STAGES: readonly SecaggStage[] = ['encaps', 'shares', 'masked', 'unmask'];

export function chaosPlan(options: ChaosPlanOptions): ChaosPlan {
  const { seed, mode, rounds, participants, fraction, trainSteps } = options;
  const maxDelay = options.maxUploadDelayMs ?? 20;
  if (!Number.isSafeInteger(rounds) || rounds < 3) throw new RangeError(`chaosPlan: rounds must be an integer ≥ 3 (a kill needs a round before and after it), got ${rounds}`);
  if (!Number.isSafeInteger(participants) || participants < 1) throw new RangeError(`chaosPlan: participants must be a positive integer, got ${participants}`);
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`chaosPlan: fraction must be in [0, 1), got ${fraction}`);
  if (trainSteps.length !== participants || !trainSteps.every((s) => Number.isSafeInteger(s) && s >= 1)) {
    throw new RangeError(`chaosPlan: trainSteps needs a positive integer for each of the ${participants} participants`);
  }
  const perRound = Math.round(fraction * participants);
  const everyone = Array.from({ length: participants }, (_, i) => i);
  const disconnects = Array.from({ length: rounds }, (_, r) => {
    const rng = createRng(deriveSeed(seed, 0xc4a05, r + 1));
    const victims = shuffle(rng, [...everyone]).slice(0, perRound).sort((a, b) => a - b);
    return victims.map((participant) => ({ participant, moment: drawMoment(rng, mode, trainSteps[participant] as number, maxDelay) }));
  });
  const rng = createRng(deriveSeed(seed, 0x4b111, mode === 'trusted' ? 1 : 2));
  // Not the first round (a finished round comes before it) nor the last (one comes after it).
  const round = 2 + Math.floor(rng.next() * (rounds - 2));
  const killSteps = Math.min(...trainSteps);
  return { seed, mode, disconnects, kill: { round, moment: drawMoment(rng, mode, killSteps, 0) } };
}

/** Participants cut in `round` (1-based); empty outside the plan. */
export function victimsOf(plan: ChaosPlan, round: number): ReadonlyMap<number, Moment> {
  return new Map((plan.disconnects[round - 1] ?? []).map((d) => [d.participant, d.moment]));
}

export function describeMoment(moment: Moment): string {
  switch (moment.kind) {
    case 'train':
      return `training batch ${moment.step + 1}`;
    case 'upload':
      return `${moment.delayMs} ms after the upload`;
    case 'stage':
      return `secagg stage ${moment.stage}`;
  }
}

/** Trusted rounds have two moments (training, upload); secure aggregation adds its four later stages. */
function drawMoment(rng: Rng, mode: ChaosMode, steps: number, maxDelayMs: number): Moment {
  const kinds = mode === 'trusted' ? 2 : 2 + SECAGG_STAGES.length;
  const pick = Math.floor(rng.next() * kinds);
  if (pick === 0) return { kind: 'train', step: Math.floor(rng.next() * steps) };
  if (pick === 1) return { kind: 'upload', delayMs: Math.floor(rng.next() * (maxDelayMs + 1)) };
  return { kind: 'stage', stage: SECAGG_STAGES[pick - 2] as SecaggStage };
}
