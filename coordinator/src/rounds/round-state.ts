/**
 * The round state machine. Every transition is checked against the table, so a stage can never run out of
 * order (an update arriving after aggregation started is refused, an aborted round cannot complete).
 *
 *   selecting → training → aggregating → completed
 *        ╰──────────┴────────────┴──────→ aborted
 */

export type RoundPhase = 'selecting' | 'training' | 'aggregating' | 'completed' | 'aborted';

const NEXT: Readonly<Record<RoundPhase, readonly RoundPhase[]>> = {
  selecting: ['training', 'aborted'],
  training: ['aggregating', 'aborted'],
  aggregating: ['completed', 'aborted'],
  completed: [],
  aborted: [],
};

export class RoundState {
  private current: RoundPhase = 'selecting';

  /** `onChange` hears every transition (observers: the coordinator's 'stage' event). */
  constructor(
    readonly round: number,
    private readonly onChange?: (phase: RoundPhase) => void,
  ) {}

  get phase(): RoundPhase {
    return this.current;
  }

  get finished(): boolean {
    return this.current === 'completed' || this.current === 'aborted';
  }

  transition(to: RoundPhase): void {
    if (!NEXT[this.current].includes(to)) {
      throw new Error(`round ${this.round}: illegal transition ${this.current} → ${to}`);
    }
    this.current = to;
    this.onChange?.(to);
  }
}
