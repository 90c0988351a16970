/** The chaos test's fault script: the planned share of participants every round, valid moments, a replayable seed. */
import { describe, expect, it } from 'vitest';
import { chaosPlan, victimsOf, type ChaosPlanOptions } from './chaos-plan.ts';

const trainSteps = Array.from({ length: 50 }, (_, i) => 5 + (i % 7));
const base: ChaosPlanOptions = { seed: 7, mode: 'secagg', rounds: 6, participants: 50, fraction: 0.2, trainSteps };

describe('chaosPlan', () => {
  it('cuts the given fraction of distinct participants in every round', () => {
    const plan = chaosPlan(base);
    expect(plan.disconnects).toHaveLength(6);
    for (const round of plan.disconnects) {
      const ids = round.map((d) => d.participant);
      expect(ids).toHaveLength(10);
      expect(new Set(ids).size).toBe(10);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(ids.every((p) => Number.isInteger(p) && p >= 0 && p < 50)).toBe(true);
    }
    // Different participants from round to round.
    expect(new Set(plan.disconnects.map((r) => r.map((d) => d.participant).join())).size).toBe(6);
    expect(victimsOf(plan, 3).size).toBe(10);
    expect(victimsOf(plan, 7).size).toBe(0);
  });

  it('replays from its seed and changes with it', () => {
    expect(chaosPlan(base)).toEqual(chaosPlan(base));
    expect(chaosPlan({ ...base, seed: 8 }).disconnects).not.toEqual(chaosPlan(base).disconnects);
  });

  it('draws moments the mode has, within each participant’s training and the upload delay bound', () => {
    for (const mode of ['trusted', 'secagg'] as const) {
      const plan = chaosPlan({ ...base, mode, maxUploadDelayMs: 15 });
      const kinds = new Set<string>();
      for (const d of plan.disconnects.flat()) {
        const m = d.moment;
        kinds.add(m.kind === 'stage' ? m.stage : m.kind);
        if (m.kind === 'train') expect(m.step).toBeLessThan(trainSteps[d.participant] as number);
        if (m.kind === 'upload') expect(m.delayMs).toBeLessThanOrEqual(15);
      }
      // The suite's seed exercises every moment the mode has.
      expect([...kinds].sort()).toEqual(mode === 'trusted' ? ['train', 'upload'] : ['encaps', 'masked', 'shares', 'train', 'unmask', 'upload']);
    }
  });

  it('kills the coordinator once, in neither the first nor the last round', () => {
    const rounds = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const { kill } = chaosPlan({ ...base, seed });
      expect(kill.round).toBeGreaterThanOrEqual(2);
      expect(kill.round).toBeLessThanOrEqual(5);
      if (kill.moment.kind === 'train') expect(kill.moment.step).toBeLessThan(Math.min(...trainSteps));
      if (kill.moment.kind === 'upload') expect(kill.moment.delayMs).toBe(0);
      rounds.add(kill.round);
    }
    expect([...rounds].sort()).toEqual([2, 3, 4, 5]);
  });

  it('refuses options it cannot honour', () => {
    expect(() => chaosPlan({ ...base, rounds: 2 })).toThrow(/rounds must be an integer ≥ 3/);
    expect(() => chaosPlan({ ...base, fraction: 1 })).toThrow(/fraction/);
    expect(() => chaosPlan({ ...base, trainSteps: trainSteps.slice(1) })).toThrow(/trainSteps/);
    expect(() => chaosPlan({ ...base, trainSteps: trainSteps.map(() => 0) })).toThrow(/trainSteps/);
  });
});
