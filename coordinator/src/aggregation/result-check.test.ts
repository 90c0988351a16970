import { describe, expect, it } from 'vitest';
import { checkAggregationResult } from './result-check.ts';

const good = { step: new Float32Array([1, 2]), kept: ['a'], rejected: [{ id: 'b', reason: 'x' }], adjusted: [] };

describe('checkAggregationResult', () => {
  it('passes a well-formed result through unchanged', () => {
    expect(checkAggregationResult(good, 2, 's')).toBe(good);
    const doubted = { ...good, doubted: [{ id: 'a', reason: 'y' }] };
    expect(checkAggregationResult(doubted, 2, 's')).toBe(doubted);
  });

  it.each([
    ['nothing', undefined, /strategy s returned undefined, not an aggregation result/],
    ['a step of plain numbers', { ...good, step: [1, 2] }, /a step that is not a Float32Array/],
    ['a step of the wrong length', { ...good, step: new Float32Array(3) }, /a step of 3 values for an adapter of 2/],
    ['a non-finite step', { ...good, step: new Float32Array([1, Number.NaN]) }, /non-finite/],
    ['kept that are not ids', { ...good, kept: [1] }, /kept that is not an array of unit ids/],
    ['verdicts without a reason', { ...good, rejected: [{ id: 'b' }] }, /rejected that is not an array of \{ id, reason \}/],
    ['no adjusted list', { ...good, adjusted: undefined }, /adjusted that is not/],
    ['doubted of the wrong shape', { ...good, doubted: 'b' }, /doubted that is not/],
  ])('refuses %s, naming the strategy', (_, result, message) => {
    expect(() => checkAggregationResult(result, 2, 's')).toThrow(message);
  });
});
