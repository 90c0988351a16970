import { describe, expect, it } from 'vitest';
import { fedAvg } from './fedavg.ts';

describe('fedAvg', () => {
  it('weights updates by sample count', () => {
    const out = fedAvg(
      [
        { id: 'a', delta: Float32Array.of(1, 0, 4), weight: 1, members: ['a'] },
        { id: 'b', delta: Float32Array.of(3, 2, 0), weight: 3, members: ['b'] },
      ],
      3,
    );
    // (1*[1,0,4] + 3*[3,2,0]) / 4 = [2.5, 1.5, 1]
    expect(Array.from(out)).toEqual([2.5, 1.5, 1]);
  });

  it('rejects empty input and non-positive weights', () => {
    expect(() => fedAvg([], 2)).toThrow(/no units/);
    expect(() => fedAvg([{ id: 'z', delta: Float32Array.of(1), weight: 0, members: ['z'] }], 1)).toThrow(/weight 0/);
  });
});
