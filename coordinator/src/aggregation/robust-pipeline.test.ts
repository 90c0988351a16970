import { describe, expect, it } from 'vitest';
import { cosine, createRng, normal } from '@fedwarden/shared';
import { createBetaReputation } from '../reputation/beta-reputation.ts';
import { createFedAvg } from './fedavg-strategy.ts';
import { createFedwardenStrategy, type PipelineStep } from './robust-pipeline.ts';
import { syntheticUnits } from './synthetic-units.ts';
import { context, unit } from './test-helpers.ts';

describe('fedwarden strategy', () => {
  it('keeps honest units, clips boosted ones, rejects the attackers, and reports evidence', () => {
    const dim = 2000;
    const counts = { honest: 40, 'sign-flip': 6, sybil: 6, noise: 6, scaled: 6, boosted: 4 };
    const { units, kinds, direction } = syntheticUnits({ dim, counts, seed: 11 });
    const units2 = [...units, unit('nan', new Array<number>(dim).fill(Number.NaN))];
    const steps: PipelineStep[] = [];
    const r = createFedwardenStrategy({ onStep: (s) => steps.push(s) }).aggregate(units2, context(dim));

    const kindOf = new Map(units.map((u, i) => [u.id, kinds[i]]));
    expect(new Set(r.kept.map((id) => kindOf.get(id)))).toEqual(new Set(['honest', 'boosted']));
    expect(r.kept).toHaveLength(44);
    expect(r.rejected).toHaveLength(25);
    expect(r.rejected.find((v) => v.id === 'nan')?.reason).toBe('non-finite values');
    // boosted units (×10 an honest update) are honest in direction: kept, clipped to 2 × the median norm
    const boosted = r.adjusted.filter((v) => v.id.startsWith('boosted'));
    expect(boosted).toHaveLength(4);
    expect(boosted[0]!.reason).toMatch(/^norm clipped \d+\.\d× to /);
    // The six identical Sybils are rejected as near-duplicates, the six scaled attackers (one shared direction,
    // a little private noise each) as an unusually similar group, and the six sign flippers as opposing the
    // units' consensus before DBSCAN (which, without the scaled bloc pulling the consensus, also finds some noise
    // units to be outliers); DBSCAN then sees at most 50 units: minPts ⌈50/5⌉.
    expect(r.diagnostics).toMatchObject({ majority: true, width: 256, sketched: true, minPts: 10 });
    expect(r.diagnostics.collusion).toMatchObject({ duplicates: 6, similar: 6, round: { threshold: 0.6 } });
    const colluding = r.rejected.filter((v) => v.reason.includes('collusion'));
    expect(colluding.map((v) => kindOf.get(v.id))).toEqual([...new Array(6).fill('sybil'), ...new Array(6).fill('scaled')]);
    expect(colluding[6]!.reason).toMatch(/^collusion: (this round|history) cosine 0\.8\d with scaled-\d, 0\.\d\d above the typical 0\.0\d \(threshold 0\.60; .*\); group of 6: scaled-0, /);
    const opposing = r.rejected.filter((v) => v.reason.includes(', opposing)'));
    expect(opposing.map((v) => kindOf.get(v.id))).toEqual(new Array(6).fill('sign-flip'));
    expect(opposing[0]!.reason).toMatch(/\(cosine -0\.\d+ ≤ -0\.\d+, opposing\)$/);

    const outcome = new Map(r.evidence.map((e) => [e.unitId, e.outcome]));
    expect(outcome.get('honest-0')).toBe('kept');
    expect(outcome.get('boosted-0')).toBe('clipped');
    expect(outcome.get('sign-flip-0')).toBe('rejected');
    expect(outcome.get('nan')).toBe('rejected');
    expect(steps).toEqual(['sanity', 'reference', 'clip', 'project', 'cosine', 'collusion', 'consensus', 'dbscan', 'reputation', 'average']);

    // the step points along the honest direction; FedAvg's is dragged off by the attackers
    const ours = cosine(r.step, direction);
    const fedAvg = cosine(createFedAvg().aggregate(units, context(dim)).step, direction);
    expect(ours).toBeGreaterThan(0.95); // measured 0.988
    expect(fedAvg).toBeLessThan(0.75); // measured 0.669
  });

  it('weights kept units by their members\' mean reputation', () => {
    const book = createBetaReputation();
    book.recordRound(1, [{ unitId: 'b', members: ['b'], outcome: 'rejected' }]); // b: 1/3
    const r = createFedwardenStrategy({ reputation: book }).aggregate([unit('a', [1]), unit('b', [3])], context(1));
    // weights 1 × 0.5 and 1 × 1/3: (0.5·1 + 1/3·3) / (5/6) = 1.8
    expect(r.step[0]).toBeCloseTo(1.8, 6);
  });

  it('rejects a unit whose members are all excluded, without evidence against it', () => {
    const book = createBetaReputation();
    for (let round = 1; round <= 3; round++) book.recordRound(round, [{ unitId: 'x', members: ['x'], outcome: 'rejected' }]);
    expect(book.isExcluded('x')).toBe(true);
    const ctx = { ...context(2), round: 4 };
    const group = unit('g1', [1, 1], 10, ['x', 'y']); // secagg group: multiplier (0 + 0.5)/2
    const r = createFedwardenStrategy({ reputation: book }).aggregate([unit('x', [1, 0]), group], ctx);
    expect(r.rejected).toEqual([{ id: 'x', reason: 'reputation: every member excluded' }]);
    expect(r.kept).toEqual(['g1']);
    expect(r.evidence).toEqual([{ unitId: 'g1', members: ['x', 'y'], outcome: 'kept' }]);
  });

  it('with a trusted reference, survives a majority of poisoned units that defeats the majority rules', () => {
    // Secure groups each holding an attacker: 7 sign-flipped and 2 boosted units against 5 honest ones.
    const dim = 1000;
    const { units, kinds, direction } = syntheticUnits({ dim, counts: { honest: 5, 'sign-flip': 7, boosted: 2 }, seed: 5 });
    // Without a reference, half the units poisoned defeat every majority rule (median norm, DBSCAN, the units'
    // consensus): the step is far off the honest direction.
    const without = createFedwardenStrategy().aggregate(units, context(dim));
    expect(cosine(without.step, direction)).toBeLessThan(0.5); // measured 0.35

    // The reference: the honest direction seen through the operator's own (noisy) root-data step.
    const noisy = syntheticUnits({ dim, counts: { honest: 1 }, seed: 99 }).units[0]!.delta;
    const reference = Float32Array.from(direction, (g, j) => g + 0.5 * noisy[j]!);
    const r = createFedwardenStrategy().aggregate(units, { ...context(dim), reference: { delta: reference, replicates: [] } });
    const kindOf = new Map(units.map((u, i) => [u.id, kinds[i]]));
    expect(r.rejected.map((v) => kindOf.get(v.id))).toEqual(new Array(7).fill('sign-flip'));
    expect(r.rejected[0]!.reason).toMatch(/^points away from the trusted reference \(cosine -0\.\d+ ≤ -0\.\d+, opposing\)$/);
    // The norm bound is 2 × the reference's norm, not the median: the ×10 boosted units are clipped to it.
    let refNorm = 0;
    for (const x of reference) refNorm += x * x;
    expect(r.diagnostics.normBound).toBeCloseTo(2 * Math.sqrt(refNorm), 5);
    expect(r.adjusted.map((v) => kindOf.get(v.id))).toEqual(['boosted', 'boosted']);
    expect(Object.keys(r.diagnostics.reference?.cosines ?? {})).toHaveLength(14);
    expect(cosine(r.step, direction)).toBeGreaterThan(0.9);
  });

  it('keeps units that oppose the reference only within its noise, and gives them negative evidence', () => {
    // Late training: 12 units scattered around orthogonal to the reference, two of them slightly against it.
    // Unit i is c·e₀ + √(1 − c²)·e₁₊ᵢ; the replicates are the reference turned by ±0.035 rad towards e₁…e₁₂.
    const dim = 16;
    const cosines = [-0.09, -0.07, -0.02, 0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.12, 0.13];
    const units = cosines.map((c, i) => unit(`u${i}`, Array.from({ length: dim }, (_, j) => (j === 0 ? c : j === i + 1 ? Math.sqrt(1 - c * c) : 0))));
    const turned = (theta: number) => Float32Array.from({ length: dim }, (_, j) => (j === 0 ? Math.cos(theta) : j <= 12 ? Math.sin(theta) / Math.sqrt(12) : 0));
    const reference = { delta: Float32Array.from({ length: dim }, (_, j) => (j === 0 ? 1 : 0)), replicates: [turned(0.12), turned(-0.12)] };
    const r = createFedwardenStrategy().aggregate(units, { ...context(dim), reference });
    expect(r.rejected).toEqual([]);
    expect(r.kept).toHaveLength(12);
    expect(r.doubted.map((v) => v.id)).toEqual(['u0', 'u1']);
    expect(r.evidence.filter((e) => e.outcome === 'doubted').map((e) => e.unitId)).toEqual(['u0', 'u1']);
    expect(r.evidence.filter((e) => e.outcome === 'kept')).toHaveLength(10);
    // Without replicates the reference cannot tell those two from noise, and rejects them as before.
    const blind = createFedwardenStrategy().aggregate(units, { ...context(dim), reference: { ...reference, replicates: [] } });
    expect(blind.rejected.map((v) => v.id)).toEqual(['u0', 'u1']);
    expect(blind.doubted).toEqual([]);
    // A doubt about a unit whose member was itself doubted or rejected lately rejects the unit.
    const reputation = createBetaReputation();
    reputation.recordRound(1, [{ unitId: 'u0', members: ['u0'], outcome: 'rejected' }, { unitId: 'u1', members: ['u1'], outcome: 'kept' }]);
    const known = createFedwardenStrategy({ reputation }).aggregate(units, { ...context(dim), round: 2, reference });
    expect(known.rejected).toEqual([{ id: 'u0', reason: expect.stringMatching(/within its noise .*, and member u0 was doubted or rejected in 1 of its last 5 participations$/) }]);
    expect(known.doubted.map((v) => v.id)).toEqual(['u1']);
    expect(known.evidence.filter((e) => e.outcome !== 'kept')).toEqual([
      { unitId: 'u0', members: ['u0'], outcome: 'rejected' },
      { unitId: 'u1', members: ['u1'], outcome: 'doubted' },
    ]);
    expect(createFedwardenStrategy({ reputation, doubtWindow: 0 }).aggregate(units, { ...context(dim), round: 2, reference }).rejected).toEqual([]);
    expect(() => createFedwardenStrategy({ doubtWindow: 31 })).toThrow(/doubtWindow 31/);
  });

  it('returns a zero step when every unit is rejected', () => {
    const r = createFedwardenStrategy().aggregate([unit('z', [0, 0]), unit('w', [1, 1], 0)], context(2));
    expect(Array.from(r.step)).toEqual([0, 0]);
    expect(r.kept).toEqual([]);
  });
});

describe('fedwarden strategy against a copier', () => {
  it('rejects a copier and the participant it imitates without blaming either: a pair cannot say who copied whom', () => {
    const dim = 2000;
    const rng = createRng(3);
    const direction = () => Float32Array.from({ length: dim }, () => normal(rng) / Math.sqrt(dim));
    const own = Array.from({ length: 30 }, direction); // each participant's data pulls its own way, round after round
    const strategy = createFedwardenStrategy();
    let linked = 0;
    for (let round = 1; round <= 6; round++) {
      const honest = own.map((d, i) => unit(`h${i}`, Array.from(d, (x) => x + 0.3 * (normal(rng) / Math.sqrt(dim)))));
      const copier = unit('copier', Array.from(own[0]!, (x) => x + normal(rng) / Math.sqrt(dim)));
      const r = strategy.aggregate([...honest, copier], { ...context(dim), round, seed: round });
      const victim = r.rejected.find((v) => v.id === 'h0');
      if (victim === undefined) continue;
      linked++;
      expect(victim.reason).toMatch(/^collusion: .* group of 2: /);
      expect(r.rejected.map((v) => v.id)).toContain('copier');
      expect(r.evidence.filter((e) => e.unitId === 'h0' || e.unitId === 'copier')).toEqual([]);
    }
    expect(linked).toBeGreaterThan(0); // the history links them (measured from round 2)
  });
});
