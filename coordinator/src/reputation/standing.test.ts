/** reputationStandings: enrolled participants without a record, flags and exclusions as the book reports them. */
import { describe, expect, it } from 'vitest';
import { createBetaReputation } from './beta-reputation.ts';
import { MemoryReputationStore } from './reputation-store.ts';
import { reputationStandings } from './standing.ts';

describe('reputationStandings', () => {
  it('lists enrolled newcomers and recorded participants, sorted, with score, exclusion, flag and counts', () => {
    const records = new MemoryReputationStore();
    const book = createBetaReputation({ store: records });
    // 'bad' is rejected three rounds running (excluded after its third), 'good' is kept.
    for (const round of [1, 2, 3]) {
      book.recordRound(round, [
        { unitId: 'good', members: ['good'], outcome: 'kept' },
        { unitId: 'bad', members: ['bad'], outcome: 'rejected' },
      ]);
    }
    const rows = reputationStandings(['new', 'good', 'bad'], book, records);
    expect(rows.map((r) => r.id)).toEqual(['bad', 'good', 'new']);
    const [bad, good, fresh] = rows;
    expect(bad).toMatchObject({ excluded: true, flagged: true, participations: 3, rejections: 3, exclusions: 1, lastRound: 3 });
    expect(bad!.score).toBeLessThan(0.25);
    expect(good).toMatchObject({ excluded: false, flagged: false, participations: 3, rejections: 0, exclusions: 0 });
    expect(good!.score).toBeGreaterThan(0.75);
    expect(fresh).toEqual({ id: 'new', score: 0.5, excluded: false, flagged: false, participations: 0, rejections: 0, exclusions: 0, lastRound: 0 });
  });
});
