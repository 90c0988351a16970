/**
 * Neighbour graphs for SecAgg+ (Bell, Bonawitz, Gascón, Lepoint, Raykova, "Secure Single-Server Aggregation
 * with (Poly)Logarithmic Overhead", CCS 2020): each member pairs (pairwise masks, secret shares) with k
 * neighbours instead of all n − 1 members, with k = O(log n). The k-regular graph here is the Harary-style ring
 * of a random permutation: members sit on a ring in a seeded random order and each links to its k/2 nearest on
 * either side.
 *
 * Limits: the coordinator draws the graph (from a seeded, non-cryptographic generator, rng.ts); a malicious
 * coordinator can choose any graph, so members should at least check their degree and threshold in the
 * round setup. Bell et al. draw a uniformly random graph; a random ring has the same degree but more local
 * structure, which is why the threshold is kept well above k/2.
 * Errors: all arguments come from configuration: BAD_CONFIG.
 */
import { FedwardenError } from '../errors.ts';
import { createRng, shuffle } from '../rng.ts';
import { SHAMIR_MAX_SHARES } from './shamir.ts';

export type GraphSpec = { readonly kind: 'complete' } | { readonly kind: 'kRegular'; readonly k: number };

/** Groups up to this size pair every member with every other. */
export const COMPLETE_GRAPH_MAX_MEMBERS = 16;

/**
 * Neighbours of members 1..n: result[i] is the sorted list of i's neighbours; result[0] is empty.
 * kRegular needs an even k with 2 ≤ k < n − 1; k = n − 1 gives the complete graph.
 */
export function neighbourGraph(n: number, spec: GraphSpec, seed: number): number[][] {
  checkMembers('neighbourGraph', n);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new FedwardenError('BAD_CONFIG', 'neighbourGraph: seed must be a u32');
  }
  switch (spec.kind) {
    case 'complete':
      return complete(n);
    case 'kRegular': {
      const { k } = spec;
      if (k === n - 1) return complete(n);
      if (!Number.isInteger(k) || k < 2 || k > n - 1 || k % 2 !== 0) {
        throw new FedwardenError('BAD_CONFIG', `neighbourGraph: k must be even with 2 <= k <= ${n - 1}, got ${k}`);
      }
      return ring(n, k, seed);
    }
    default: {
      const unknown: never = spec;
      throw new FedwardenError('BAD_CONFIG', `neighbourGraph: unknown kind ${String((unknown as GraphSpec).kind)}`);
    }
  }
}

/**
 * k for a group of n that is expected to lose up to a fraction `dropout` of its members in a round.
 * Up to 16 members: all n − 1. Otherwise the smallest even k ≥ 2·⌈log2 n⌉ (SecAgg+) for which the chance
 * that some member loses more than k − t of its k neighbours (t = defaultThreshold(k)), and with them its
 * secrets, is at most `failureBound`: n · P[Binomial(k, dropout) > k − t] ≤ failureBound (a union bound;
 * neighbours are taken to drop independently). When no k < n − 1 achieves it, the complete graph.
 */
export function defaultDegree(n: number, dropout = 0.1, failureBound = 1e-3): number {
  checkMembers('defaultDegree', n);
  if (!(dropout >= 0 && dropout < 1)) throw new FedwardenError('BAD_CONFIG', 'defaultDegree: dropout must be in [0, 1)');
  if (!(failureBound > 0 && failureBound < 1)) throw new FedwardenError('BAD_CONFIG', 'defaultDegree: failureBound must be in (0, 1)');
  if (n <= COMPLETE_GRAPH_MAX_MEMBERS) return n - 1;
  for (let k = 2 * (32 - Math.clz32(n - 1)); k < n - 1; k += 2) {
    if (n * binomialTail(k, dropout, k - defaultThreshold(k)) <= failureBound) return k;
  }
  return n - 1;
}

/** P[Binomial(k, p) > m], summing the pmf by its ratio recurrence (k ≤ 254: no underflow of (1 − p)^k). */
export function binomialTail(k: number, p: number, m: number): number {
  if (p === 0) return m < 0 ? 1 : 0;
  let pmf = Math.pow(1 - p, k);
  let cdf = 0;
  for (let x = 0; x <= Math.min(m, k); x++) {
    cdf += pmf;
    pmf *= ((k - x) / (x + 1)) * (p / (1 - p));
  }
  return Math.max(0, 1 - cdf);
}

/**
 * Shamir threshold for degree k: ⌈2k/3⌉. An honest member reveals, per neighbour, a share of only one of its
 * two secrets. With t > k/2, even a coordinator that tells some of i's neighbours "i survived" and the others
 * "i dropped" cannot collect t shares of both of i's secrets. Neighbours colluding with the coordinator give
 * both; with c of them it needs 2(t − c) ≤ k − c, so t is safe while c < 2t − k: about k/3 at t ≈ 2k/3, the
 * margin SecAgg+ (Bell et al.) keeps against a malicious coordinator. The price: a member's secrets are lost,
 * and the round aborts, once more than k − t ≈ k/3 of its neighbours drop.
 */
export function defaultThreshold(k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > SHAMIR_MAX_SHARES - 1) {
    throw new FedwardenError('BAD_CONFIG', `defaultThreshold: k must be an integer in 1..${SHAMIR_MAX_SHARES - 1}`);
  }
  return Math.ceil((2 * k) / 3);
}

function complete(n: number): number[][] {
  const graph: number[][] = [[]];
  for (let i = 1; i <= n; i++) {
    const row: number[] = [];
    for (let j = 1; j <= n; j++) if (j !== i) row.push(j);
    graph.push(row);
  }
  return graph;
}

function ring(n: number, k: number, seed: number): number[][] {
  const order = shuffle(createRng(seed), Array.from({ length: n }, (_, i) => i + 1));
  const graph: number[][] = Array.from({ length: n + 1 }, () => []);
  for (let p = 0; p < n; p++) {
    const a = order[p] as number;
    for (let s = 1; s <= k / 2; s++) {
      // k < n − 1, so the k/2 positions on each side are distinct and each edge is added once.
      const b = order[(p + s) % n] as number;
      (graph[a] as number[]).push(b);
      (graph[b] as number[]).push(a);
    }
  }
  for (const row of graph) row.sort((x, y) => x - y);
  return graph;
}

function checkMembers(fn: string, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > SHAMIR_MAX_SHARES) {
    throw new FedwardenError('BAD_CONFIG', `${fn}: n must be an integer in 1..${SHAMIR_MAX_SHARES}`);
  }
}
