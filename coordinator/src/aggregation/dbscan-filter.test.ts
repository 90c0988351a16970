import { describe, expect, it } from 'vitest';
import { cosineDistances } from './cosine.ts';
import { admissionCosine, chooseEps, cosinesToCluster, dbscanMajority, defaultMinPts, kDistances, runDbscan } from './dbscan-filter.ts';
import { projectDeltas } from './projection.ts';
import { syntheticUnits, type UnitKind } from './synthetic-units.ts';

/** Symmetric matrix from the upper triangle given row by row. */
function matrix(n: number, upper: readonly number[]): Float64Array {
  const d = new Float64Array(n * n);
  let k = 0;
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) d[a * n + b] = d[b * n + a] = upper[k++]!;
  return d;
}

describe('DBSCAN majority filter, hand-made distances', () => {
  // 0, 1, 2 close together (0.1); 3 and 4 far from everything (1) and from each other (0.9).
  const five = matrix(5, [0.1, 0.1, 1, 1, 0.1, 1, 1, 1, 1, 0.9]);

  it('derives minPts and eps from the data', () => {
    expect(defaultMinPts(5)).toBe(2);
    expect(defaultMinPts(50)).toBe(10);
    expect(Array.from(kDistances(five, 5, 1))).toEqual([0.1, 0.1, 0.1, 0.9, 0.9]);
    expect(chooseEps(five, 5, 2)).toBeCloseTo(0.2, 12); // 2 × median(0.1, 0.1, 0.1, 0.9, 0.9)
    expect(chooseEps(five, 5, 2, { epsFactor: 100 })).toBe(0.7); // clamped at epsMax
  });

  it('keeps the majority cluster and rejects noise', () => {
    const r = dbscanMajority(five, 5);
    expect(r.majority).toBe(true);
    expect(r.kept).toEqual([0, 1, 2]);
    expect(r.rejected.map((v) => v.index)).toEqual([3, 4]);
    expect(r.rejected[0]!.reason).toMatch(/^DBSCAN noise/);
    expect(r.clusterSizes).toEqual([3]);
  });

  it('without a majority cluster keeps every unit (the norm bound has capped them already)', () => {
    // two pairs, far apart: clusters of 2 and 2 among 4
    const pairs = matrix(4, [0.1, 1, 1, 1, 1, 0.1]);
    const r = dbscanMajority(pairs, 4, {});
    expect(r.majority).toBe(false);
    expect(r.clusterSizes).toEqual([2, 2]);
    expect(r.kept).toEqual([0, 1, 2, 3]);
    expect(r.rejected).toEqual([]);
  });

  it('keeps everything when n < 3', () => {
    expect(dbscanMajority(matrix(2, [1.9]), 2).kept).toEqual([0, 1]);
    expect(dbscanMajority(new Float64Array(0), 0).kept).toEqual([]);
  });
});

describe('DBSCAN majority filter on synthetic updates', () => {
  const cases: Array<[string, Partial<Record<UnitKind, number>>]> = [
    ['all honest', { honest: 40 }],
    ['10 sign-flipped', { honest: 40, 'sign-flip': 10 }],
    ['10 identical Sybils', { honest: 40, sybil: 10 }],
    ['10 Gaussian noise', { honest: 40, noise: 10 }],
    ['10 scaled (boosted replacement)', { honest: 40, scaled: 10 }],
    ['30 mixed', { honest: 40, 'sign-flip': 8, sybil: 8, noise: 7, scaled: 7 }],
  ];
  for (const dim of [300, 2000]) {
    for (const [name, counts] of cases) {
      it(`${name}, d = ${dim} (${dim > 512 ? 'sketched' : 'exact'}): honest kept, attackers rejected`, () => {
        for (const seed of [1, 2, 3]) {
          const { units, kinds } = syntheticUnits({ dim, counts, seed });
          const p = projectDeltas(units.map((u) => u.delta), dim, seed + 100);
          const r = dbscanMajority(cosineDistances(p.rows, units.length, p.width), units.length);
          expect(r.majority).toBe(true);
          const keptKinds = new Set(r.kept.map((i) => kinds[i]));
          expect(r.kept.length).toBe(counts.honest);
          expect([...keptKinds]).toEqual(['honest']);
        }
      });
    }
  }
});

describe('readmitting noise aligned with the majority', () => {
  it('computes each unit\'s cosine with the cluster direction (members leave themselves out) from distances alone', () => {
    const { units } = syntheticUnits({ dim: 50, counts: { honest: 6, noise: 2 }, seed: 4 });
    const n = units.length;
    const p = projectDeltas(units.map((u) => u.delta), 50, 1); // exact at d = 50
    const dist = cosineDistances(p.rows, n, p.width);
    const cluster = [0, 1, 2, 3];
    const unitVec = units.map((u) => {
      const norm = Math.hypot(...u.delta);
      return Array.from(u.delta, (x) => x / norm);
    });
    const got = cosinesToCluster(dist, n, cluster);
    for (let i = 0; i < n; i++) {
      const sum = new Array<number>(50).fill(0);
      for (const j of cluster) if (j !== i) unitVec[j]!.forEach((x, k) => (sum[k]! += x));
      const dot = unitVec[i]!.reduce((s, x, k) => s + x * sum[k]!, 0);
      expect(got[i]).toBeCloseTo(dot / Math.hypot(...sum), 5);
    }
  });

  it('keeps diffuse honest units that density calls noise, and still rejects the attackers', () => {
    // Late-training geometry: honest updates only loosely aligned (pairwise cosines ≈ 0.12–0.36), which leaves
    // many of them without enough close neighbours to be DBSCAN core or border points.
    const counts = { honest: 40, noise: 6, 'sign-flip': 4 };
    for (const seed of [1, 3, 4, 5]) {
      const { units, kinds } = syntheticUnits({ dim: 2000, counts, seed, alignment: [0.35, 0.6] });
      const n = units.length;
      const p = projectDeltas(units.map((u) => u.delta), 2000, seed);
      const dist = cosineDistances(p.rows, n, p.width);
      const honestKept = (kept: number[]) => kept.filter((i) => kinds[i] === 'honest').length;
      const plain = dbscanMajority(dist, n, { rescue: false });
      const r = dbscanMajority(dist, n, { rescueFloor: 3 / Math.sqrt(p.width) });
      expect(r.majority).toBe(true);
      expect(honestKept(plain.kept), 'the premise: density alone drops honest units').toBeLessThan(36);
      expect(honestKept(r.kept)).toBeGreaterThanOrEqual(39);
      expect(r.kept.filter((i) => kinds[i] !== 'honest')).toEqual([]);
      expect(r.rescued.length).toBe(r.kept.length - plain.kept.length);
      expect(r.rescued.every((i) => !plain.kept.includes(i))).toBe(true);
    }
  });

  it('admits down to the lower end of the members\' cosines, never below the floor', () => {
    expect(admissionCosine([0.5, 0.6, 0.7, 0.4], 0)).toBeCloseTo(Math.min(0.4, 0.55 - 3 * 1.4826 * 0.1), 12);
    expect(admissionCosine([0.5, 0.5, 0.5, 0.2], 0)).toBe(0.2); // MAD 0: the lowest member
    expect(admissionCosine([0.1, 0.3, 0.5], 0.19)).toBe(0.19);
    expect(admissionCosine([0.5, Number.NaN], 0)).toBe(Number.POSITIVE_INFINITY);
    expect(admissionCosine([], 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('never readmits a minority cluster, however aligned', () => {
    // 0–3 one tight cluster, 4–5 a tight pair close to it, 6 far from everything.
    const d = matrix(7, [
      0.05, 0.05, 0.05, 0.3, 0.3, 1,
      0.05, 0.05, 0.3, 0.3, 1,
      0.05, 0.3, 0.3, 1,
      0.3, 0.3, 1,
      0.02, 1,
      1,
    ]);
    const r = dbscanMajority(d, 7, { eps: 0.1, minPts: 2 });
    expect(r.clusterSizes).toEqual([4, 2]);
    expect(r.kept).toEqual([0, 1, 2, 3]);
    expect(r.rescued).toEqual([]);
    expect(r.rejected.map((v) => v.index)).toEqual([4, 5, 6]);
  });
});

describe('runDbscan', () => {
  it('gives the same clusters with the fast merge as the library unpatched', () => {
    const counts = { honest: 60, 'sign-flip': 15, sybil: 10, noise: 10, scaled: 5 };
    const { units } = syntheticUnits({ dim: 300, counts, seed: 9 });
    const p = projectDeltas(units.map((u) => u.delta), 300, 1);
    const n = units.length;
    const dist = cosineDistances(p.rows, n, p.width);
    for (const [eps, minPts] of [[0.7, 20], [0.5, 5], [1.2, 3], [0.3, 2]] as const) {
      expect(runDbscan(dist, n, eps, minPts, true)).toEqual(runDbscan(dist, n, eps, minPts, false));
    }
  });
});
