/**
 * Non-IID label partition: for every class, client shares are drawn from a symmetric Dirichlet(α) (the scheme
 * of Hsu, Qi & Brown 2019, "Measuring the Effects of Non-Identical Data Distribution for Federated Visual
 * Classification", arXiv:1909.06335). Small α gives clients few dominant classes; large α tends to IID.
 *
 * Pure and seeded: the same labels, options and seed give the same partition.
 *
 * Minimum-size rule: after the Dirichlet split, while some client holds fewer than `minSamples`, the smallest
 * client (lowest index on ties) receives one sample from the largest client (lowest index on ties), taken
 * from the donor's most plentiful class (lowest class on ties). This terminates (it needs
 * clients × minSamples ≤ samples, checked up front), moves only the deficit, and keeps the skew of the draw,
 * unlike the common "redraw until every client is big enough", which can loop for a long time at small α.
 */
import { createRng, gamma, shuffle, type Rng } from '@fedwarden/shared';

export interface DirichletPartitionOptions {
  readonly clients: number;
  /** Concentration α > 0. */
  readonly alpha: number;
  readonly seed: number;
  readonly numClasses: number;
  /** Every client ends with at least this many samples. Default 20. */
  readonly minSamples?: number;
}

export const DEFAULT_MIN_SAMPLES_PER_CLIENT = 20;

/** Indices into `labels` for each client, ascending; every index appears in exactly one client. */
export function dirichletPartition(labels: ArrayLike<number>, options: DirichletPartitionOptions): Int32Array[] {
  const { clients, alpha, seed, numClasses } = options;
  const minSamples = options.minSamples ?? DEFAULT_MIN_SAMPLES_PER_CLIENT;
  if (!Number.isSafeInteger(clients) || clients < 1) throw new RangeError(`dirichletPartition: clients must be a positive integer, got ${clients}`);
  if (!(Number.isFinite(alpha) && alpha > 0)) throw new RangeError(`dirichletPartition: alpha must be finite and > 0, got ${alpha}`);
  if (!Number.isSafeInteger(numClasses) || numClasses < 1) throw new RangeError(`dirichletPartition: bad numClasses ${numClasses}`);
  if (!Number.isSafeInteger(minSamples) || minSamples < 0) throw new RangeError(`dirichletPartition: bad minSamples ${minSamples}`);
  if (clients * minSamples > labels.length) {
    throw new RangeError(`dirichletPartition: ${clients} clients × ${minSamples} samples exceeds the ${labels.length} samples`);
  }

  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as number;
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) throw new RangeError(`dirichletPartition: label ${label} at ${i} outside [0, ${numClasses})`);
    (byClass[label] as number[]).push(i);
  }

  const rng = createRng(seed);
  // held[client][class] = the indices of that class the client holds
  const held: number[][][] = Array.from({ length: clients }, () => Array.from({ length: numClasses }, () => []));
  byClass.forEach((indices, label) => {
    shuffle(rng, indices);
    const counts = apportion(indices.length, dirichlet(rng, clients, alpha));
    let next = 0;
    counts.forEach((n, client) => {
      ((held[client] as number[][])[label] as number[]).push(...indices.slice(next, next + n));
      next += n;
    });
  });

  enforceMinimum(held, minSamples);
  return held.map((perClass) => Int32Array.from(perClass.flat()).sort());
}

/** A draw from the symmetric Dirichlet(α) on `k` categories, by normalised Gamma(α, 1) draws. */
export function dirichlet(rng: Rng, k: number, alpha: number): number[] {
  const draws = Array.from({ length: k }, () => gamma(rng, alpha));
  const total = draws.reduce((a, b) => a + b, 0);
  if (total > 0 && Number.isFinite(total)) return draws.map((g) => g / total);
  // Every Gamma draw underflowed (tiny α): the Dirichlet's limit is a point mass on one category.
  const winner = Math.min(k - 1, Math.floor(rng.next() * k));
  return draws.map((_, i) => (i === winner ? 1 : 0));
}

/** Integer counts summing to `total` in proportion to `shares` (largest remainder; ties to the lower index). */
function apportion(total: number, shares: readonly number[]): number[] {
  const exact = shares.map((p) => p * total);
  const counts = exact.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left === 0) break;
    counts[i] = (counts[i] as number) + 1;
    left--;
  }
  return counts;
}

function enforceMinimum(held: number[][][], minSamples: number): void {
  const size = (client: number) => (held[client] as number[][]).reduce((n, c) => n + c.length, 0);
  const sizes = held.map((_, c) => size(c));
  for (;;) {
    let smallest = 0;
    let largest = 0;
    sizes.forEach((s, c) => {
      if (s < (sizes[smallest] as number)) smallest = c;
      if (s > (sizes[largest] as number)) largest = c;
    });
    if ((sizes[smallest] as number) >= minSamples) return;
    const donor = held[largest] as number[][];
    let richest = 0;
    donor.forEach((indices, label) => {
      if (indices.length > (donor[richest] as number[]).length) richest = label;
    });
    const moved = (donor[richest] as number[]).pop() as number;
    ((held[smallest] as number[][])[richest] as number[]).push(moved);
    sizes[largest] = (sizes[largest] as number) - 1;
    sizes[smallest] = (sizes[smallest] as number) + 1;
  }
}
