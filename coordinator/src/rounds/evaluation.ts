/**
 * The operator's evaluator: after each completed round it scores the new global adapter on data the operator
 * holds (a held-out set), and its accuracy and loss go into the round record, the metrics and the 'round'
 * event. The evaluator is the operator's code: one that throws, or returns something that is not a score,
 * costs the record those figures (logged), never the round.
 */
import type { Logger } from '@fedwarden/shared';

/** What an evaluator reports about a global adapter; either figure may be absent (a regression task has no accuracy). */
export interface Evaluation {
  /** Fraction correct in [0, 1]. */
  readonly accuracy?: number;
  /** Mean loss on the evaluation data (finite). */
  readonly loss?: number;
}

/**
 * Scores `global` (a copy: the hook may keep or modify it), the adapter after round `round`. A plain number is
 * read as the accuracy.
 */
export type EvaluateHook = (global: Float32Array, round: number) => Promise<number | Evaluation> | number | Evaluation;

/** The evaluation of `global`, keeping only well-formed figures; {} without a hook or when it fails (logged). */
export async function evaluateGlobal(hook: EvaluateHook | undefined, global: Float32Array, round: number, log: Logger): Promise<Evaluation> {
  if (!hook) return {};
  let returned: unknown;
  try {
    returned = await hook(global.slice(), round);
  } catch (err) {
    log.warn('evaluator failed; round recorded without its evaluation', { err: err instanceof Error ? err.message : String(err) });
    return {};
  }
  const { accuracy, loss } = typeof returned === 'number' ? { accuracy: returned, loss: undefined } : fields(returned);
  const goodAccuracy = typeof accuracy === 'number' && accuracy >= 0 && accuracy <= 1;
  const goodLoss = typeof loss === 'number' && Number.isFinite(loss);
  if ((accuracy !== undefined && !goodAccuracy) || (loss !== undefined && !goodLoss) || (accuracy === undefined && loss === undefined)) {
    log.warn('evaluator returned no usable score; round recorded without what is missing', { accuracy: String(accuracy), loss: String(loss) });
  }
  return { ...(goodAccuracy ? { accuracy } : {}), ...(goodLoss ? { loss } : {}) };
}

function fields(returned: unknown): { accuracy: unknown; loss: unknown } {
  if (typeof returned !== 'object' || returned === null) return { accuracy: undefined, loss: undefined };
  const r = returned as Record<string, unknown>;
  return { accuracy: r.accuracy, loss: r.loss };
}
