import { describe, expect, it } from 'vitest';
import { createRng } from '@fedwarden/shared';
import { labelCounts } from './labeled-data.ts';
import { dirichletPartition } from './partition.ts';

const CLASSES = 10;

/** 3,000 labels, unevenly spread over the classes, in a scrambled order. */
const LABELS = (() => {
  const rng = createRng(5);
  return Int32Array.from({ length: 3000 }, () => Math.floor(rng.next() ** 1.5 * CLASSES));
})();

/** Mean total-variation distance between each client's label distribution and the global one. */
function skew(labels: Int32Array, parts: Int32Array[]): number {
  const global = labelCounts(labels, CLASSES).map((c) => c / labels.length);
  let total = 0;
  for (const part of parts) {
    const local = labelCounts(Array.from(part, (i) => labels[i] as number), CLASSES).map((c) => c / part.length);
    total += local.reduce((s, p, c) => s + Math.abs(p - (global[c] as number)), 0) / 2;
  }
  return total / parts.length;
}

describe('dirichletPartition', () => {
  it('assigns every sample to exactly one client, deterministically from the seed', () => {
    const options = { clients: 10, alpha: 0.5, seed: 3, numClasses: CLASSES };
    const parts = dirichletPartition(LABELS, options);
    expect(parts).toHaveLength(10);
    const seen = new Uint8Array(LABELS.length);
    for (const part of parts) for (const i of part) seen[i] = (seen[i] as number) + 1;
    expect(seen.every((n) => n === 1)).toBe(true);
    for (const part of parts) expect(Array.from(part)).toEqual(Array.from(part).sort((a, b) => a - b));

    expect(dirichletPartition(LABELS, options)).toEqual(parts);
    expect(dirichletPartition(LABELS, { ...options, seed: 4 })).not.toEqual(parts);
  });

  it('honours the minimum size even when the draw is extremely skewed', () => {
    for (const seed of [1, 2, 3]) {
      const parts = dirichletPartition(LABELS, { clients: 40, alpha: 0.05, seed, numClasses: CLASSES, minSamples: 60 });
      expect(Math.min(...parts.map((p) => p.length))).toBeGreaterThanOrEqual(60);
      expect(parts.reduce((n, p) => n + p.length, 0)).toBe(LABELS.length);
    }
    // The default minimum is 20.
    const parts = dirichletPartition(LABELS, { clients: 50, alpha: 0.05, seed: 1, numClasses: CLASSES });
    expect(Math.min(...parts.map((p) => p.length))).toBeGreaterThanOrEqual(20);
  });

  it('gives more label skew for smaller alpha', () => {
    const mean = (alpha: number) =>
      [1, 2, 3, 4].reduce((s, seed) => s + skew(LABELS, dirichletPartition(LABELS, { clients: 10, alpha, seed, numClasses: CLASSES })), 0) / 4;
    const [s01, s1, s100] = [mean(0.1), mean(1), mean(100)];
    expect(s01).toBeGreaterThan(s1 + 0.1);
    expect(s1).toBeGreaterThan(s100 + 0.1);
    expect(s100).toBeLessThan(0.1); // near IID
  });

  it('rejects impossible requests', () => {
    expect(() => dirichletPartition(LABELS, { clients: 10, alpha: 0.5, seed: 1, numClasses: CLASSES, minSamples: 301 })).toThrow(RangeError);
    expect(() => dirichletPartition(LABELS, { clients: 0, alpha: 0.5, seed: 1, numClasses: CLASSES })).toThrow(RangeError);
    expect(() => dirichletPartition(LABELS, { clients: 2, alpha: 0, seed: 1, numClasses: CLASSES })).toThrow(RangeError);
    expect(() => dirichletPartition(Int32Array.of(0, 10), { clients: 1, alpha: 1, seed: 1, numClasses: CLASSES, minSamples: 0 })).toThrow(/label 10/);
  });
});
