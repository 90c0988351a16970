import { describe, expect, it } from 'vitest';
import { createRng } from '@fedwarden/shared';
import { syntheticUnits } from './aggregation/synthetic-units.ts';
import { parseConfig } from './config.ts';
import { Defences } from './defences.ts';

const config = parseConfig({});
const stats = new Map<string, { meanLoss: number; trainMs: number; numSamples: number }>();

function unit(id: string, delta: number[]) {
  return { id, delta: Float32Array.from(delta), weight: 10, members: [id] };
}

/** Honest updates: a shared direction plus each participant's own noise (never copies of one another). */
function honestUnits(ids: readonly string[], round: number) {
  const rng = createRng(round);
  return ids.map((id) => unit(id, [1, 1, 0.5, 0, 0, 0].map((x) => x + 0.3 * (rng.next() - 0.5))));
}

describe('Defences.review', () => {
  it('takes the adapter length from the federation, not from whichever unit came first', () => {
    const defences = new Defences(config);
    const honest = honestUnits(['a', 'b', 'c', 'd'], 1);
    // A malformed update arriving first must not make the honest ones look malformed.
    const review = defences.review(1, 6, [unit('evil', [1, 1]), ...honest], stats, 7);
    expect(review.kept).toEqual(['a', 'b', 'c', 'd']);
    expect(review.rejected.map((v) => v.id)).toEqual(['evil']);
    expect(review.step).toHaveLength(6);
  });

  it('turns rejections into reputation evidence that ends in exclusion', () => {
    const defences = new Defences(config);
    const ids = Array.from({ length: 8 }, (_, i) => `h${i}`);
    for (let round = 1; round <= 4; round++) {
      defences.review(round, 6, [...honestUnits(ids, round), unit('flip', [-4, -4, -2, 0, 0, 0])], stats, round);
    }
    expect(defences.flagged()).toEqual(['flip']);
    expect(defences.selectable('flip', 5)).toBe(false);
    expect(defences.selectable('h0', 5)).toBe(true);
  });
});

describe('Defences: units refused before aggregation', () => {
  const refused = [{ id: 'group-2', members: ['x', 'y'], reason: 'sum outside the honest range' }];

  it('lists them first among the rejected, keeps them from the strategy, and gives their members negative evidence', () => {
    const defences = new Defences(config);
    const review = defences.review(1, 6, honestUnits(['a', 'b', 'c', 'd'], 1), stats, 7, undefined, refused);
    expect(review.kept).toEqual(['a', 'b', 'c', 'd']);
    expect(review.rejected).toEqual([{ id: 'group-2', reason: 'sum outside the honest range' }]);
    for (const id of ['x', 'y']) expect(defences.reputation.score(id), id).toBeLessThan(0.5);
    expect(defences.reputation.score('a')).toBeGreaterThan(0.5);
  });

  it('records them in a round that ends without review, once', () => {
    const defences = new Defences(config);
    expect(defences.recordBlame(1, [], [])).toEqual([]);
    expect(defences.reputation.lastRound).toBe(0); // nothing to record: the round is left free
    expect(defences.recordBlame(1, ['z'], refused)).toEqual([]);
    for (const id of ['x', 'y', 'z']) expect(defences.reputation.score(id), id).toBeLessThan(0.5);
    expect(() => defences.recordBlame(1, [], refused)).toThrow(RangeError);
  });
});

describe('Defences isolation forest', () => {
  it('learns normal from the units the strategy kept, and says which rounds it did not score', () => {
    const defences = new Defences(config);
    // 20 honest units and one sign flip in 200 dimensions (in 6, honest units pass for near-duplicates).
    const units = (round: number) => syntheticUnits({ dim: 200, counts: { honest: 20, 'sign-flip': 1 }, seed: round }).units;
    const first = defences.review(1, 200, units(1), stats, 1);
    expect(first.rejected.map((v) => v.id)).toEqual(['sign-flip-0']);
    expect(first.isolationSkipped).toBe('history has 0 rows, needs 21');
    // Only the 20 kept units entered the history, and 21 units need 21 rows. (Had the rejected unit's row
    // entered too, round 2 would be scored.)
    const second = defences.review(2, 200, units(2), stats, 2);
    expect(second.kept).toHaveLength(20);
    expect(second.isolationSkipped).toBe('history has 20 rows, needs 21');
    const third = defences.review(3, 200, units(3), stats, 3);
    expect('isolationSkipped' in third).toBe(false);
  });
});

describe('Defences weight cap', () => {
  it('keeps a participant claiming a huge dataset from dominating the mean', () => {
    const defences = new Defences(config);
    const ids = Array.from({ length: 6 }, (_, i) => `h${i}`);
    const honest = honestUnits(ids, 3);
    // Inside the honest cloud but far along +y, and claiming a billion samples.
    const greedy = { ...unit('greedy', [1, 1.6, 0.5, 0, 0, 0]), weight: 1e9 };
    const review = defences.review(1, 6, [...honest, greedy], stats, 5);
    expect(review.kept).toContain('greedy');
    const honestMeanY = honest.reduce((s, u) => s + u.delta[1]!, 0) / honest.length;
    // Uncapped, the step would be the greedy update itself (y ≈ 1.6); capped at 3 × the median weight
    // (30 of 90 total), it moves y only part of the way.
    expect(review.step[1]!).toBeLessThan(honestMeanY + 0.5 * (1.6 - honestMeanY));
  });
});
