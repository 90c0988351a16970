/**
 * Time to a target accuracy from a run's per-round figures (bench:converge). Pure.
 *
 * `accuracy[i]` is the global accuracy after round i + 1 and `seconds[i]` that round's wall time. A run reaches
 * the target at the first round whose accuracy is at or above it; the seconds to it are the sum of the round
 * times up to and including that round. Null where the target was never reached.
 */
export interface TimeToTarget {
  readonly rounds: number | null;
  readonly seconds: number | null;
}

export function timeToTarget(accuracy: readonly number[], seconds: readonly number[], target: number): TimeToTarget {
  if (accuracy.length !== seconds.length) throw new RangeError(`timeToTarget: ${accuracy.length} accuracies, ${seconds.length} round times`);
  let elapsed = 0;
  for (let i = 0; i < accuracy.length; i++) {
    elapsed += seconds[i] as number;
    if ((accuracy[i] as number) >= target) return { rounds: i + 1, seconds: elapsed };
  }
  return { rounds: null, seconds: null };
}

/** Cumulative sums: the wall time at the end of each round, for plotting accuracy against time. */
export function cumulative(values: readonly number[]): number[] {
  let sum = 0;
  return values.map((v) => (sum += v));
}
