import { describe, expect, it } from 'vitest';
import { createBetaReputation, type UnitEvidence } from './beta-reputation.ts';
import { evidenceFromResult } from './evidence.ts';
import { MemoryReputationStore } from './reputation-store.ts';

const solo = (id: string, outcome: UnitEvidence['outcome']): UnitEvidence => ({ unitId: id, members: [id], outcome });

describe('beta reputation (Jøsang & Ismail 2002) with forgetting', () => {
  it('starts a newcomer neutral', () => {
    const book = createBetaReputation();
    expect(book.score('new')).toBe(0.5);
    expect(book.weightMultiplier('new')).toBe(0.5);
    expect(book.isExcluded('new')).toBe(false);
    expect(book.flagged()).toEqual([]);
  });

  it('flags after one rejection and excludes after three consecutive ones', () => {
    const book = createBetaReputation();
    expect(book.recordRound(1, [solo('x', 'rejected'), solo('h', 'kept')])).toEqual([]);
    expect(book.score('x')).toBeCloseTo(1 / 3, 12); // β = 1
    expect(book.score('h')).toBeCloseTo(2 / 3, 12); // α = 1
    expect(book.flagged()).toEqual(['x']);
    book.recordRound(2, [solo('x', 'rejected')]);
    expect(book.score('x')).toBeCloseTo(1 / 3.9, 12); // β = 0.9 + 1, still ≥ 0.25
    expect(book.recordRound(3, [solo('x', 'rejected')])).toEqual(['x']); // β = 2.71: 1/4.71 < 0.25
    expect(book.isExcluded('x')).toBe(true);
    expect(book.weightMultiplier('x')).toBe(0);
    expect(book.excluded()).toEqual(['x']);
  });

  it('lifts the exclusion after the cooldown with the record decayed by λ^cooldown', () => {
    const book = createBetaReputation();
    for (let r = 1; r <= 3; r++) book.recordRound(r, [solo('x', 'rejected')]);
    for (let r = 4; r <= 8; r++) {
      expect(book.isExcluded('x', r)).toBe(true);
      book.recordRound(r, [solo('h', 'kept')]);
    }
    expect(book.isExcluded('x')).toBe(false); // round 9
    const beta = 2.71 * 0.9 ** 5;
    expect(book.score('x')).toBeCloseTo(1 / (beta + 2), 12); // ≈ 0.278: back in, still flagged
    expect(book.flagged()).toEqual(['x']);
    expect(book.recordRound(9, [solo('x', 'rejected')])).toEqual(['x']); // one more rejection: out again
    expect(book.score('x')).toBeCloseTo(1 / (0.9 * beta + 1 + 2), 12);
  });

  it('keeps flagging a repeat offender after kept rounds rebuild its score', () => {
    const kept = (book: ReturnType<typeof createBetaReputation>, from: number, to: number) => {
      for (let r = from; r <= to; r++) book.recordRound(r, [solo('x', 'kept')]);
    };
    const offend = (flagAfterExclusions?: number) => {
      const book = createBetaReputation(flagAfterExclusions === undefined ? {} : { flagAfterExclusions });
      for (let r = 1; r <= 3; r++) book.recordRound(r, [solo('x', 'rejected')]); // excluded through 8
      book.recordRound(9, [solo('x', 'rejected')]); // excluded again: the second time
      kept(book, 15, 40);
      return book;
    };
    const book = offend();
    expect(book.score('x')).toBeGreaterThan(0.9);
    expect(book.flagged()).toEqual(['x']);
    expect(offend(0).flagged()).toEqual([]);
    expect(offend(3).flagged()).toEqual([]);
    const once = createBetaReputation();
    for (let r = 1; r <= 3; r++) once.recordRound(r, [solo('x', 'rejected')]);
    kept(once, 9, 40);
    expect(once.flagged()).toEqual([]); // excluded once, then kept: not a suspect any more
    expect(() => createBetaReputation({ flagAfterExclusions: -1 })).toThrow(/flagAfterExclusions/);
  });

  it('flags a participant rejected in a third of its rounds, even while kept rounds keep its score up', () => {
    const book = createBetaReputation();
    // Rejected every other round: never low enough to be excluded, and kept in the last rounds.
    for (let r = 1; r <= 12; r++) book.recordRound(r, [solo('x', r % 2 === 0 && r < 10 ? 'rejected' : 'kept'), solo('h', r === 3 ? 'rejected' : 'kept')]);
    expect(book.score('x')).toBeGreaterThan(0.5);
    expect(book.excluded()).toEqual([]);
    expect(book.flagged()).toEqual(['x']); // 4 of 12 rejected; h: 1 of 12
    const lenient = createBetaReputation({ flagRejectionRate: 0.5 });
    for (let r = 1; r <= 12; r++) lenient.recordRound(r, [solo('x', r % 2 === 0 && r < 10 ? 'rejected' : 'kept')]);
    expect(lenient.flagged()).toEqual([]);
    expect(() => createBetaReputation({ flagRejectionRate: 2 })).toThrow(/flagRejectionRate/);
  });

  it('forgetting lets an on-off attacker\'s good history fade', () => {
    const run = (forgetting: number): number[] => {
      const book = createBetaReputation({ forgetting });
      let round = 0;
      for (let i = 0; i < 20; i++) book.recordRound(++round, [solo('x', 'kept')]);
      const scores: number[] = [];
      for (let i = 0; i < 10; i++) {
        book.recordRound(++round, [solo('x', 'rejected')]);
        scores.push(book.score('x'));
      }
      return scores;
    };
    const forgetful = run(0.9);
    const remembering = run(1);
    // λ = 0.9: α = (1 − 0.9²⁰)/0.1 ≈ 8.78 after the good rounds; the 9th bad round brings it under 0.4
    expect(forgetful[7]!).toBeGreaterThan(0.4);
    expect(forgetful[8]!).toBeLessThan(0.4);
    // λ = 1: 20 good rounds still outweigh 10 bad ones: 21/32
    expect(remembering[9]!).toBeCloseTo(21 / 32, 12);
  });

  it('shares a secure group\'s evidence with its members, fully or divided', () => {
    const group: UnitEvidence = { unitId: 'g', members: ['a', 'b', 'c', 'd', 'e'], outcome: 'rejected' };
    const full = createBetaReputation();
    full.recordRound(1, [group, { unitId: 'g2', members: ['f', 'k'], outcome: 'clipped' }]);
    expect(full.score('a')).toBeCloseTo(1 / 3, 12);
    expect(full.score('f')).toBeCloseTo(1.5 / 3, 12); // ½ positive, ½ negative
    expect(full.unitMultiplier(['a', 'f'])).toBeCloseTo((1 / 3 + 0.5) / 2, 12);
    const divided = createBetaReputation({ groupEvidence: 'divided' });
    divided.recordRound(1, [group]);
    expect(divided.score('e')).toBeCloseTo(1 / 2.2, 12); // β = 1/5
  });

  it('remembers which of the last participations were suspect, whatever the score', () => {
    const book = createBetaReputation();
    let round = 0;
    for (let i = 0; i < 20; i++) book.recordRound(++round, [solo('x', 'kept')]);
    expect(book.recentSuspicions('x', 5)).toBe(0);
    book.recordRound(++round, [solo('x', 'doubted')]);
    book.recordRound(++round, [solo('y', 'kept')]); // x sat this one out: the window counts participations
    book.recordRound(++round, [solo('x', 'clipped')]); // ½ against ½: not suspect
    book.recordRound(++round, [solo('x', 'rejected')]);
    expect(book.score('x')).toBeGreaterThan(0.7); // a score test (< ½) sees nothing wrong
    expect([1, 2, 3, 5].map((w) => book.recentSuspicions('x', w))).toEqual([1, 1, 2, 2]);
    for (let i = 0; i < 3; i++) book.recordRound(++round, [solo('x', 'kept')]);
    expect([3, 4, 5, 6].map((w) => book.recentSuspicions('x', w))).toEqual([0, 1, 1, 2]);
    for (let i = 0; i < 40; i++) book.recordRound(++round, [solo('x', 'doubted')]);
    expect(book.recentSuspicions('x', 30)).toBe(30); // the record holds 30 participations
    expect(book.recentSuspicions('new', 5)).toBe(0);
    expect(() => book.recentSuspicions('x', 0)).toThrow(/window 0 not an integer in \[1, 30\]/);
    expect(() => book.recentSuspicions('x', 31)).toThrow(/window 31/);
  });

  it('persists through its store and refuses to record a round twice', () => {
    const store = new MemoryReputationStore();
    const book = createBetaReputation({ store });
    book.recordRound(4, [solo('x', 'kept')]);
    expect(() => book.recordRound(4, [solo('x', 'kept')])).toThrow(/not after/);
    const reopened = createBetaReputation({ store });
    expect(reopened.lastRound).toBe(4);
    expect(reopened.score('x')).toBeCloseTo(2 / 3, 12);
  });
});

describe('evidenceFromResult', () => {
  it('maps verdicts to outcomes and skips the listed units', () => {
    const units = ['a', 'b', 'c', 'd'].map((id) => ({ id, delta: new Float32Array(1), weight: 1, members: [id] }));
    const result = {
      kept: ['a', 'b'],
      rejected: [{ id: 'c', reason: 'DBSCAN noise' }, { id: 'd', reason: 'reputation' }],
      adjusted: [{ id: 'b', reason: 'norm clipped' }],
    };
    expect(evidenceFromResult(units, result, new Set(['d']))).toEqual([
      { unitId: 'a', members: ['a'], outcome: 'kept' },
      { unitId: 'b', members: ['b'], outcome: 'clipped' },
      { unitId: 'c', members: ['c'], outcome: 'rejected' },
    ]);
  });
  it('doubted evidence counts against a participant as a rejection does, and adds up over rounds', () => {
    const book = createBetaReputation();
    const doubtedRounds = [1, 2, 3].map((r) => book.recordRound(r, [solo('d', 'doubted'), solo('h', 'kept')]));
    expect(doubtedRounds).toEqual([[], [], ['d']]);
    expect(book.score('h')).toBeGreaterThan(0.7);
    expect(book.flagged()).toEqual(['d']);
  });
});
