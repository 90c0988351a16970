import { describe, expect, it } from 'vitest';
import { cosine, createRng, l2Norm, normal } from '@fedwarden/shared';
import { computeUnitFeatures, nearestCosines } from './unit-features.ts';

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
      1,
    );
    // a: ‖(3,4)‖ = 5, cos to (1,0) = 3/5, cos to (0,2) = 8/(5·2) = 0.8. b: norm 2, cos −1, cos 0.
    // Nearest other update: each other, cos((3,4), (−2,0)) = −6/(5·2) = −0.6.
    expect(rows).toEqual([
      { id: 'a', features: { norm: 5, cosineToAggregate: 0.6, cosineToPrevious: 0.8, nearestCosine: expect.closeTo(-0.6, 12), meanLoss: 0.5, trainMs: 120, numSamples: 40 } },
      { id: 'b', features: { norm: 2, cosineToAggregate: -1, cosineToPrevious: 0, nearestCosine: expect.closeTo(-0.6, 12), meanLoss: 2.5, trainMs: 10, numSamples: 400 } },
    ]);
  });

  it('takes a cosine with a zero vector (round 1 has no previous step) as 0', () => {
    expect(cosine(Float32Array.of(1, 1), new Float32Array(2))).toBe(0);
    const [row] = computeUnitFeatures([{ id: 'a', delta: Float32Array.of(1, 1), meanLoss: 1, trainMs: 1, numSamples: 1 }], Float32Array.of(1, 1), new Float32Array(2), 1);
    expect(row?.features.cosineToPrevious).toBe(0);
    expect(row?.features.cosineToAggregate).toBeCloseTo(1, 12);
  });

  it('gives the norm and cosines of l2Norm and cosine exactly (one pass over each update)', () => {
    const [aggregate, previous, ...deltas] = gaussians(6, 3000, 8) as [Float32Array, Float32Array, ...Float32Array[]];
    const units = deltas.map((delta, i) => ({ id: `u${i}`, delta, meanLoss: 1, trainMs: 1, numSamples: 1 }));
    const rows = computeUnitFeatures(units, aggregate, previous, 2);
    rows.forEach((row, i) => {
      const delta = deltas[i] as Float32Array;
      expect(row.features.norm).toBe(l2Norm(delta));
      expect(row.features.cosineToAggregate).toBe(cosine(delta, aggregate));
      expect(row.features.cosineToPrevious).toBe(cosine(delta, previous));
    });
  });

  it('rejects vectors of different lengths, naming the unit', () => {
    expect(() => computeUnitFeatures([{ id: 'x', delta: Float32Array.of(1), meanLoss: 1, trainMs: 1, numSamples: 1 }], Float32Array.of(1, 0), Float32Array.of(0, 0), 1)).toThrow(
      /unit x delta length 1 != 2/,
    );
    expect(() => computeUnitFeatures([], Float32Array.of(1, 0), Float32Array.of(0), 1)).toThrow(/previous step length/);
  });
});

/** `count` Gaussian vectors of length `dim`. */
function gaussians(count: number, dim: number, seed: number): Float32Array[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: dim }, () => normal(rng)));
}

describe('nearestCosines', () => {
  it('is the largest exact cosine with another update in low dimension', () => {
    const deltas = gaussians(6, 40, 3);
    const nearest = nearestCosines(deltas, 40, 9);
    deltas.forEach((x, i) => {
      const others = deltas.filter((_, j) => j !== i).map((y) => cosine(x, y));
      expect(nearest[i]).toBeCloseTo(Math.max(...others), 6);
    });
  });

  it('scores 1 for updates that share one vector, even through the sketch, and 0 for a zero update', () => {
    // 2,000 values > 2 × 256: sketched. Honest Gaussian updates are near-orthogonal (cosines ≈ ±0.06).
    const [shared, ...honest] = gaussians(5, 2000, 4) as [Float32Array, ...Float32Array[]];
    const nearest = nearestCosines([shared, shared.slice(), shared.map((v) => 3 * v), ...honest, new Float32Array(2000)], 2000, 11);
    for (const i of [0, 1, 2]) expect(nearest[i]).toBeCloseTo(1, 9);
    for (const i of [3, 4, 5, 6]) expect(Math.abs(nearest[i] as number)).toBeLessThan(0.35);
    expect(nearest[7]).toBe(0);
  });

  it('scores a lone unit 0, and a non-finite update NaN without spoiling the others', () => {
    expect(Array.from(nearestCosines([Float32Array.of(1, 2)], 2, 1))).toEqual([0]);
    const nearest = nearestCosines([Float32Array.of(1, 0), Float32Array.of(Number.NaN, 0), Float32Array.of(1, 1)], 2, 1);
    expect(nearest[0]).toBeCloseTo(Math.SQRT1_2, 12);
    expect(nearest[1]).toBeNaN();
    expect(nearest[2]).toBeCloseTo(Math.SQRT1_2, 12);
  });
});
