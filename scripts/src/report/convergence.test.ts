import { describe, expect, it } from 'vitest';
import { cumulative, timeToTarget } from './convergence.ts';

describe('timeToTarget', () => {
  it('counts rounds and their seconds up to the first round at or above the target', () => {
    expect(timeToTarget([0.2, 0.84, 0.85, 0.9], [1, 2, 3, 4], 0.85)).toEqual({ rounds: 3, seconds: 6 });
    expect(timeToTarget([0.9], [1.5], 0.85)).toEqual({ rounds: 1, seconds: 1.5 });
  });

  it('is null where the target was never reached, and refuses figures that do not pair up', () => {
    expect(timeToTarget([0.5, 0.6], [1, 1], 0.85)).toEqual({ rounds: null, seconds: null });
    expect(() => timeToTarget([0.5], [1, 1], 0.85)).toThrow(/1 accuracies, 2 round times/);
  });

  it('accumulates round times', () => {
    expect(cumulative([1, 2, 0.5])).toEqual([1, 3, 3.5]);
  });
});
