import { describe, expect, it } from 'vitest';
import { computeUnitFeatures, cosine } from './unit-features.ts';

describe('computeUnitFeatures', () => {
  it('computes norm, cosines and the reported values per unit', () => {
    const aggregate = Float32Array.of(1, 0);
    const previous = Float32Array.of(0, 2);
    const rows = computeUnitFeatures(
      [
        { id: 'a', delta: Float32Array.of(3, 4), meanLoss: 0.5, trainMs: 120, numSamples: 40 },
        { id: 'b', delta: Float32Array.of(-2, 0), meanLoss: 2.5, trainMs: 10, numSamples: 400 },
      ],
      aggregate,
      previous,
    );
    // a: ‖(3,4)‖ = 5, cos to (1,0) = 3/5, cos to (0,2) = 8/(5·2) = 0.8. b: norm 2, cos −1, cos 0.
    expect(rows).toEqual([
      { id: 'a', features: { norm: 5, cosineToAggregate: 0.6, cosineToPrevious: 0.8, meanLoss: 0.5, trainMs: 120, numSamples: 40 } },
      { id: 'b', features: { norm: 2, cosineToAggregate: -1, cosineToPrevious: 0, meanLoss: 2.5, trainMs: 10, numSamples: 400 } },
    ]);
  });

  it('takes a cosine with a zero vector (round 1 has no previous step) as 0', () => {
    expect(cosine(Float32Array.of(1, 1), new Float32Array(2))).toBe(0);
    const [row] = computeUnitFeatures([{ id: 'a', delta: Float32Array.of(1, 1), meanLoss: 1, trainMs: 1, numSamples: 1 }], Float32Array.of(1, 1), new Float32Array(2));
    expect(row?.features.cosineToPrevious).toBe(0);
    expect(row?.features.cosineToAggregate).toBeCloseTo(1, 12);
  });

  it('rejects vectors of different lengths, naming the unit', () => {
    expect(() => computeUnitFeatures([{ id: 'x', delta: Float32Array.of(1), meanLoss: 1, trainMs: 1, numSamples: 1 }], Float32Array.of(1, 0), Float32Array.of(0, 0))).toThrow(
      /unit x delta length 1 != 2/,
    );
    expect(() => computeUnitFeatures([], Float32Array.of(1, 0), Float32Array.of(0))).toThrow(/previous step length/);
  });
});
