/**
 * A strategy's result, checked before its step reaches the global adapter. The built-in strategies always pass;
 * the check is for an operator's own strategy (extensions), whose step of the wrong length or with NaN would
 * otherwise corrupt every later round, and whose verdicts feed reputation and the round record.
 */
import { FedwardenError, allFinite } from '@fedwarden/shared';
import type { AggregationResult } from './strategy.ts';

const isStringArray = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isVerdictArray = (v: unknown): boolean =>
  Array.isArray(v) && v.every((x) => typeof x === 'object' && x !== null && typeof x.id === 'string' && typeof x.reason === 'string');

/** Returns `result` if it is a well-formed AggregationResult for adapters of length `dim`; throws INTERNAL naming `strategy` otherwise. */
export function checkAggregationResult(result: unknown, dim: number, strategy: string): AggregationResult {
  const fail = (what: string): never => {
    throw new FedwardenError('INTERNAL', `strategy ${strategy} returned ${what}`);
  };
  if (typeof result !== 'object' || result === null) return fail(`${result === null ? 'null' : typeof result}, not an aggregation result`);
  const r = result as Record<string, unknown>;
  if (!(r.step instanceof Float32Array)) return fail('a step that is not a Float32Array');
  if (r.step.length !== dim) return fail(`a step of ${r.step.length} values for an adapter of ${dim}`);
  if (!allFinite(r.step)) return fail('a step with non-finite values');
  if (!isStringArray(r.kept)) return fail('kept that is not an array of unit ids');
  for (const field of ['rejected', 'adjusted'] as const) {
    if (!isVerdictArray(r[field])) return fail(`${field} that is not an array of { id, reason }`);
  }
  if (r.doubted !== undefined && !isVerdictArray(r.doubted)) return fail('doubted that is not an array of { id, reason }');
  return result as AggregationResult;
}
