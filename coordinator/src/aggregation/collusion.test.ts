import { describe, expect, it } from 'vitest';
import { nearDuplicates, subMatrix } from './collusion.ts';

// Four units: 0 and 2 are identical (distance 0), 1 and 3 honest and distinct.
const n = 4;
const dist = Float64Array.from([
  0, 0.4, 0, 0.6,
  0.4, 0, 0.4, 0.3,
  0, 0.4, 0, 0.6,
  0.6, 0.3, 0.6, 0,
]);

const norms = [2, 1, 2, 1.5];

describe('nearDuplicates', () => {
  it('finds units that coincide with another, and only those', () => {
    expect([...nearDuplicates(dist, norms, n)].sort()).toEqual([0, 2]);
  });

  it('does not call parallel updates of different sizes copies', () => {
    expect(nearDuplicates(dist, [2, 1, 3, 1.5], n).size).toBe(0);
  });

  it('is disabled by a zero distance and rejects malformed input', () => {
    expect(nearDuplicates(dist, norms, n, 0).size).toBe(0);
    expect(() => nearDuplicates(dist, norms.slice(0, 3), 3)).toThrow(/expected 9/);
    expect(() => nearDuplicates(dist, [1], n)).toThrow(/1 norms for 4 units/);
  });

  it('subMatrix keeps the chosen rows and columns in order', () => {
    expect(Array.from(subMatrix(dist, n, [1, 3]))).toEqual([0, 0.3, 0.3, 0]);
  });
});
