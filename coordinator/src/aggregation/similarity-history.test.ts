import { describe, expect, it } from 'vitest';
import { SimilarityHistory } from './similarity-history.ts';

const rows = (...vs: number[][]) => Float64Array.from(vs.flat());

describe('SimilarityHistory', () => {
  it('keeps λ·h + x per participation, in the order of the members asked for', () => {
    const h = new SimilarityHistory({ decay: 0.5 });
    expect(Array.from(h.record(1, ['a', 'b'], rows([1, 0], [0, 1]), 2))).toEqual([1, 0, 0, 1]);
    // b sits out round 2: its history waits for it (forgetting is per participation, not per round).
    expect(Array.from(h.record(2, ['a'], rows([0, 1]), 2))).toEqual([0.5, 1]);
    expect(Array.from(h.record(4, ['b', 'a'], rows([1, 0], [1, 1]), 2))).toEqual([1, 0.5, 1.25, 1.5]);
    expect(h.size).toBe(2);
  });

  it('averages out independent noise around a shared direction', () => {
    // Two members: the direction (1, 0) plus opposite noise ±(0, 1) each round, alternating in sign.
    const h = new SimilarityHistory({ decay: 0.9 });
    let sums: Float64Array = new Float64Array(4);
    for (let r = 1; r <= 20; r++) {
      const s = r % 2 === 0 ? 1 : -1;
      const x = Math.SQRT1_2;
      sums = h.record(r, ['a', 'b'], rows([x, s * x], [x, -s * x]), 2);
    }
    // One round's cosine is 0 (perpendicular); the histories' is close to 1.
    const [a0, a1, b0, b1] = sums as unknown as [number, number, number, number];
    const cos = (a0 * b0 + a1 * b1) / (Math.hypot(a0, a1) * Math.hypot(b0, b1));
    expect(cos).toBeGreaterThan(0.98);
  });

  it('replaces a round recorded again instead of counting it twice, and refuses an earlier round', () => {
    const h = new SimilarityHistory({ decay: 0.5 });
    h.record(1, ['a'], rows([2, 0]), 2);
    h.record(2, ['a'], rows([0, 4]), 2);
    expect(Array.from(h.record(2, ['a'], rows([0, 2]), 2))).toEqual([1, 2]); // 0.5·(2, 0) + (0, 2)
    expect(() => h.record(1, ['a'], rows([1, 1]), 2)).toThrow('SimilarityHistory.record: round 1 for member a, whose history is already at round 2');
  });

  it('starts over when the width changes, and forgets members absent too long', () => {
    const h = new SimilarityHistory({ decay: 0.5, forgetAfter: 3 });
    h.record(1, ['a', 'b'], rows([1, 0], [0, 1]), 2);
    h.record(4, ['a'], rows([1, 0]), 2);
    expect(h.size).toBe(2); // b last seen 3 rounds ago: kept
    h.record(5, ['a'], rows([1, 0]), 2);
    expect(h.size).toBe(1); // 4 rounds: forgotten
    expect(Array.from(h.record(6, ['a'], rows([1, 0, 0]), 3))).toEqual([1, 0, 0]);
  });

  it('refuses malformed input, naming it', () => {
    const h = new SimilarityHistory();
    expect(() => h.record(1, ['a', 'b'], rows([1, 0]), 2)).toThrow('SimilarityHistory.record: 2 values for 2 members × width 2');
    expect(() => h.record(1, ['a', 'a'], rows([1, 0], [0, 1]), 2)).toThrow('a member appears twice in one round');
    expect(() => h.record(-1, ['a'], rows([1]), 1)).toThrow('SimilarityHistory.record: round -1');
    expect(() => new SimilarityHistory({ decay: 1 })).toThrow('SimilarityHistory: decay 1 not in [0, 1)');
    expect(() => new SimilarityHistory({ forgetAfter: 0 })).toThrow('SimilarityHistory: forgetAfter 0 not an integer ≥ 1');
  });
});
