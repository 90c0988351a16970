import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.ts';
import { Defences } from './defences.ts';

const config = parseConfig({});
const stats = new Map<string, { meanLoss: number; trainMs: number; numSamples: number }>();

function unit(id: string, delta: number[]) {
  return { id, delta: Float32Array.from(delta), weight: 10, members: [id] };
}

describe('Defences.review', () => {
  it('takes the adapter length from the federation, not from whichever unit came first', () => {
    const defences = new Defences(config);
    const honest = ['a', 'b', 'c', 'd'].map((id, i) => unit(id, [1 + i * 0.01, 1, 0.5]));
    // A malformed update arriving first must not make the honest ones look malformed.
    const review = defences.review(1, 3, [unit('evil', [1, 1]), ...honest], stats, 7);
    expect(review.kept).toEqual(['a', 'b', 'c', 'd']);
    expect(review.rejected.map((v) => v.id)).toEqual(['evil']);
    expect(review.step).toHaveLength(3);
  });

  it('turns rejections into reputation evidence that ends in exclusion', () => {
    const defences = new Defences(config);
    const honest = () => Array.from({ length: 8 }, (_, i) => unit(`h${i}`, [1, 1 + i * 0.02, 0.5 - i * 0.01]));
    for (let round = 1; round <= 4; round++) defences.review(round, 3, [...honest(), unit('flip', [-4, -4, -2])], stats, round);
    expect(defences.flagged()).toEqual(['flip']);
    expect(defences.selectable('flip', 5)).toBe(false);
    expect(defences.selectable('h0', 5)).toBe(true);
  });
});
