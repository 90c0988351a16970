/**
 * Federated averaging (McMahan et al., AISTATS 2017, arXiv:1602.05629): the sample-count-weighted mean of the
 * participants' updates. Not robust: a single participant can move the result arbitrarily (see later strategies).
 */
import { axpy } from '@fedwarden/shared';

import type { AggregationUnit } from './strategy.ts';

export function fedAvg(units: readonly AggregationUnit[], dim: number): Float32Array {
  if (units.length === 0) throw new RangeError('fedAvg: no units');
  let total = 0;
  for (const u of units) {
    if (!(u.weight > 0) || !Number.isFinite(u.weight)) throw new RangeError(`fedAvg: unit ${u.id} has weight ${u.weight}`);
    total += u.weight;
  }
  const acc = new Float64Array(dim);
  for (const u of units) axpy(u.weight / total, u.delta, acc);
  return Float32Array.from(acc);
}
