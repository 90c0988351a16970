import { describe, expect, it } from 'vitest';
import { defaultDegree, defaultThreshold, neighbourGraph, binomialTail } from './graph.ts';
import { codeOf } from '../test-support.ts';

/** Why `graph` is not a simple undirected k-regular graph on 1..n with sorted rows, or undefined. */
function regularityProblem(graph: number[][], n: number, k: number): string | undefined {
  if (graph.length !== n + 1 || (graph[0] as number[]).length !== 0) return 'shape';
  const edges = new Set<string>();
  for (let i = 1; i <= n; i++) {
    const row = graph[i] as number[];
    if (row.length !== k || new Set(row).size !== k) return `degree of ${i}`;
    for (let p = 0; p < k; p++) {
      const j = row[p] as number;
      if (p > 0 && j <= (row[p - 1] as number)) return `row ${i} not sorted`;
      if (j === i || j < 1 || j > n) return `bad neighbour ${j} of ${i}`;
      edges.add(`${i}-${j}`);
    }
  }
  for (const e of edges) if (!edges.has(e.split('-').reverse().join('-'))) return `asymmetric ${e}`;
  return undefined;
}

function connected(graph: number[][], n: number): boolean {
  const seen = new Set([1]);
  const queue = [1];
  while (queue.length > 0) {
    for (const j of graph[queue.pop() as number] as number[]) {
      if (!seen.has(j)) {
        seen.add(j);
        queue.push(j);
      }
    }
  }
  return seen.size === n;
}

describe('neighbourGraph', () => {
  it('complete: everyone but oneself', () => {
    expect(neighbourGraph(4, { kind: 'complete' }, 0)).toEqual([[], [2, 3, 4], [1, 3, 4], [1, 2, 4], [1, 2, 3]]);
    expect(neighbourGraph(1, { kind: 'complete' }, 0)).toEqual([[], []]);
  });

  it('kRegular: symmetric, no self-loops, every degree k, connected', () => {
    for (const [n, k] of [[4, 2], [5, 2], [6, 4], [17, 10], [50, 8], [100, 14], [255, 16], [255, 252]] as const) {
      for (const seed of [0, 1, 0xffffffff]) {
        const graph = neighbourGraph(n, { kind: 'kRegular', k }, seed);
        expect(regularityProblem(graph, n, k)).toBeUndefined();
        expect(connected(graph, n)).toBe(true);
      }
    }
  });

  it('the regularity check catches broken graphs', () => {
    expect(regularityProblem([[], [2], []], 2, 1)).toMatch(/degree/);
    expect(regularityProblem([[], [2], [3]], 3, 1)).toBeDefined();
    expect(regularityProblem([[], [2, 3], [1, 3], [1, 2]], 3, 2)).toBeUndefined();
  });

  it('kRegular with k = n − 1 is the complete graph', () => {
    expect(neighbourGraph(5, { kind: 'kRegular', k: 4 }, 9)).toEqual(neighbourGraph(5, { kind: 'complete' }, 0));
    expect(neighbourGraph(6, { kind: 'kRegular', k: 5 }, 9)).toEqual(neighbourGraph(6, { kind: 'complete' }, 0));
  });

  it('is deterministic per seed, and different seeds give different graphs', () => {
    const spec = { kind: 'kRegular', k: 6 } as const;
    expect(neighbourGraph(40, spec, 123)).toEqual(neighbourGraph(40, spec, 123));
    const distinct = new Set([1, 2, 3, 4, 5].map((seed) => JSON.stringify(neighbourGraph(40, spec, seed))));
    expect(distinct.size).toBe(5);
  });

  it('rejects bad sizes, degrees and seeds (BAD_CONFIG)', () => {
    const bad: [number, Parameters<typeof neighbourGraph>[1], number][] = [
      [0, { kind: 'complete' }, 0],
      [256, { kind: 'complete' }, 0],
      [10, { kind: 'kRegular', k: 3 }, 0],
      [10, { kind: 'kRegular', k: 0 }, 0],
      [10, { kind: 'kRegular', k: 10 }, 0],
      [10, { kind: 'kRegular', k: 4 }, -1],
      [10, { kind: 'kRegular', k: 4 }, 2 ** 32],
      [10, { kind: 'ring' } as unknown as Parameters<typeof neighbourGraph>[1], 0],
    ];
    for (const [n, spec, seed] of bad) expect([n, spec, codeOf(() => neighbourGraph(n, spec, seed))]).toEqual([n, spec, 'BAD_CONFIG']);
  });
});

describe('defaultDegree', () => {
  it('is complete up to 16 members, then (without dropouts) the even 2·⌈log2 n⌉', () => {
    const cases: [number, number][] = [[1, 0], [2, 1], [5, 4], [16, 15], [17, 10], [32, 10], [33, 12], [100, 14], [255, 16]];
    for (const [n, k] of cases) expect([n, defaultDegree(n, 0)]).toEqual([n, k]);
    for (let n = 17; n <= 255; n++) {
      expect(defaultDegree(n, 0) % 2).toBe(0);
      const k = defaultDegree(n);
      expect(k % 2 === 0 || k === n - 1).toBe(true); // even for a ring, or the complete graph
    }
  });

  it('always gives a graph neighbourGraph accepts', () => {
    for (let n = 1; n <= 255; n++) {
      const k = defaultDegree(n);
      const spec = k >= n - 1 ? ({ kind: 'complete' } as const) : ({ kind: 'kRegular', k } as const);
      expect(neighbourGraph(n, spec, n)[n]).toHaveLength(k);
    }
  });
});

describe('defaultThreshold', () => {
  it('is ⌈2k/3⌉: more than half of k, at most k', () => {
    const cases: [number, number][] = [[1, 1], [2, 2], [3, 2], [4, 3], [10, 7], [15, 10], [16, 11]];
    for (const [k, t] of cases) expect([k, defaultThreshold(k)]).toEqual([k, t]);
    for (let k = 1; k <= 254; k++) {
      const t = defaultThreshold(k);
      expect(t > k / 2 && t <= k).toBe(true);
    }
  });

  it('rejects k outside 1..254', () => {
    for (const k of [0, 255, 2.5]) expect(codeOf(() => defaultThreshold(k))).toBe('BAD_CONFIG');
  });
});

describe('defaultDegree sized for dropouts', () => {
  it('binomialTail matches hand-computed values', () => {
    // P[Bin(4, 0.5) > 2] = (4 + 1) / 16
    expect(binomialTail(4, 0.5, 2)).toBeCloseTo(5 / 16, 12);
    expect(binomialTail(10, 0, 3)).toBe(0);
    expect(binomialTail(3, 0.2, -1)).toBeCloseTo(1, 12);
  });

  it('keeps the SecAgg+ 2⌈log2 n⌉ floor when dropouts are rare, grows k as they become likely', () => {
    expect(defaultDegree(100, 0)).toBe(14);
    const k10 = defaultDegree(100, 0.1);
    const k20 = defaultDegree(200, 0.1);
    expect(k10).toBeGreaterThan(14);
    expect(k10 % 2).toBe(0);
    // The bound it promises holds: n · P[a member loses more than k − t neighbours] ≤ 1e-3.
    expect(100 * binomialTail(k10, 0.1, k10 - defaultThreshold(k10))).toBeLessThanOrEqual(1e-3);
    expect(200 * binomialTail(k20, 0.1, k20 - defaultThreshold(k20))).toBeLessThanOrEqual(1e-3);
    // and k10 − 2 would not have met it.
    expect(100 * binomialTail(k10 - 2, 0.1, k10 - 2 - defaultThreshold(k10 - 2))).toBeGreaterThan(1e-3);
    // With t ≈ 2k/3 a sparse graph cannot absorb 30 % dropouts: complete.
    expect(defaultDegree(100, 0.3)).toBe(99);
  });
});
