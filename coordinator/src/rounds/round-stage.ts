/**
 * Where the coordinator's round loop stands, for observers (the dashboard, metrics): waiting for enough
 * participants, a round's phase (round-state.ts), or finished. Its own file so that the coordinator, the round
 * runner and the observers share it without importing one another.
 */
import type { RoundPhase } from './round-state.ts';

export type LoopStage = 'waiting' | RoundPhase | 'finished';

export interface StageChange {
  /** The round in progress; while waiting, the next round; once finished, the last round run. */
  readonly round: number;
  readonly stage: LoopStage;
  /** When the stage began, ms since the epoch. */
  readonly at: number;
  /** When the stage's deadline passes, ms since the epoch (training: the upload deadline); absent when none. */
  readonly deadline?: number;
}
