/**
 * The isolation forest's findings as reputation evidence (Defences.review, anomaly/anomaly-doubt.ts): a member
 * the forest finds anomalous round after round is flagged and then excluded, one anomalous once keeps its
 * standing, the forest never rejects a unit by itself, and a restarted coordinator (Defences.resume) neither
 * loses nor double counts the evidence.
 */
import { describe, expect, it } from 'vitest';
import { createRng, deriveSeed, normal } from '@fedwarden/shared';
import { syntheticUnits } from './aggregation/synthetic-units.ts';
import { parseConfig } from './config.ts';
import { Defences, type Review, type UnitStats } from './defences.ts';
import { MemoryReputationStore, type ReputationStore } from './reputation/reputation-store.ts';

const config = parseConfig({});
const DIM = 200;
const HONEST = 20;

/** Self-reported stats, all ordinary: what the forest's evidence counts is what the coordinator measures. */
const ORDINARY = (rng: ReturnType<typeof createRng>): UnitStats => ({ meanLoss: 1 + 0.1 * normal(rng), trainMs: 1000 + 100 * normal(rng), numSamples: Math.round(100 + 10 * normal(rng)) });

/**
 * One round: 20 honest units and 'm', whose update is honest, or, when `odd`, boosted ×10 (a model-replacement
 * attempt in an honest direction: the norm bound clips it, the pipeline keeps it).
 */
function round(defences: Defences, r: number, odd: boolean, mStats?: UnitStats): Review {
  const { units } = syntheticUnits({ dim: DIM, counts: { honest: HONEST + 1, boosted: 1 }, seed: r });
  const named = units.filter((_, i) => i !== (odd ? HONEST : HONEST + 1)).map((u, i) => (i === HONEST ? { ...u, id: 'm', members: ['m'] } : u));
  const rng = createRng(deriveSeed(r, 7));
  const stats = new Map(named.map((u) => [u.id, ORDINARY(rng)]));
  if (mStats !== undefined) stats.set('m', mStats);
  return defences.review(r, DIM, named.filter((u) => defences.selectable(u.members[0] as string, r)), stats, deriveSeed(99, r));
}

describe('Defences: isolation-forest findings as evidence', () => {
  it('flags, then excludes, a member anomalous in every round from its fourth on; the forest itself rejects nothing', () => {
    const defences = new Defences(config);
    const fates: string[] = [];
    let flaggedAt: number | undefined;
    let excludedAt: number | undefined;
    // m sends honest updates for three rounds (units kept from round 1 on define normal), boosted ones after.
    for (let r = 1; r <= 14 && excludedAt === undefined; r++) {
      const review = round(defences, r, r >= 4);
      expect(review.rejected).toEqual([]); // kept (clipped) every time it took part: the forest only doubts
      fates.push(review.doubted.some((v) => v.id === 'm') ? 'doubted' : 'kept');
      if (flaggedAt === undefined && defences.flagged().includes('m')) flaggedAt = r;
      if (!defences.selectable('m', r + 1)) excludedAt = r;
    }
    // From round 4 on the forest is reliable (3 rounds, 63 rows of history), and m is doubted every round.
    expect(fates.slice(0, 3)).toEqual(['kept', 'kept', 'kept']);
    expect(fates.slice(3).every((f) => f === 'doubted')).toBe(true);
    expect(flaggedAt).toBeLessThanOrEqual(6); // measured 5: doubted in 2 of 5 rounds (flagRejectionRate)
    expect(excludedAt).toBeLessThanOrEqual(11); // measured 11: the eighth doubt in a row takes the score under ¼
    expect(defences.flagged()).toEqual(['m']);
  });

  it('keeps the standing of a member anomalous once, and of the honest ones', () => {
    const defences = new Defences(config);
    let once: Review | undefined;
    for (let r = 1; r <= 20; r++) {
      const review = round(defences, r, r === 6);
      if (r === 6) once = review;
    }
    expect(once?.doubted).toEqual([{ id: 'm', reason: expect.stringMatching(/^anomalous to the isolation forest \((warning|critical), score 0\.\d{3}, norm robust z \+\d+\.\d\)$/) }]);
    expect(once?.kept).toContain('m');
    expect(defences.flagged()).toEqual([]);
    expect(defences.reputation.excluded()).toEqual([]);
    expect(defences.reputation.score('m')).toBeGreaterThan(0.8);
  });

  it('never doubts an honest member for the figures it reports, however unusual, round after round', () => {
    const defences = new Defences(config);
    let alerted = 0;
    for (let r = 1; r <= 20; r++) {
      const review = round(defences, r, false, r >= 4 ? { meanLoss: 3, trainMs: 8000, numSamples: 1000 } : undefined);
      if (review.alerts.some((a) => a.unit === 'm' && a.severity !== 'info')) alerted++;
      expect(review.doubted).toEqual([]);
    }
    expect(alerted).toBeGreaterThan(10); // measured 17 of its 17 odd rounds: its figures stand out
    expect(defences.flagged()).toEqual([]);
    expect(defences.reputation.score('m')).toBeGreaterThan(0.9);
  });

  it('gives no evidence before the forest is reliable', () => {
    const defences = new Defences(config);
    const third = [1, 2, 3].map((r) => round(defences, r, r === 3)).at(-1) as Review;
    // Round 3 is scored (42 rows of history) and m alerted, but 2 rounds of history are not enough.
    expect(third.alerts.some((a) => a.unit === 'm' && a.severity !== 'info')).toBe(true);
    expect(third.doubted).toEqual([]);
    // Kept, kept, clipped (½, ½): α = 0.9·1.9 + ½, β = ½; a doubt would have made it α = 0.9·1.9, β = 1.
    expect(defences.reputation.score('m')).toBeCloseTo((0.9 * 1.9 + 0.5 + 1) / (0.9 * 1.9 + 1 + 2), 12);
  });

  it('resumes after a restart with the same findings and evidence as a coordinator that never stopped', () => {
    const copy = (from: ReputationStore): MemoryReputationStore => {
      const to = new MemoryReputationStore();
      for (const [id, r] of from.entries()) to.set(id, { ...r });
      return to;
    };
    const straight = new Defences(config, new MemoryReputationStore());
    const firstStore = new MemoryReputationStore();
    const first = new Defences(config, firstStore);
    const remembered: Array<Review['isolationHistory']> = [];
    let lastStep: Float32Array | undefined;
    for (let r = 1; r <= 5; r++) {
      round(straight, r, r >= 4);
      const review = round(first, r, r >= 4);
      remembered.push(review.isolationHistory);
      lastStep = review.step;
    }
    // The restarted process: reputation from its store, the forest and the last step from the round records.
    const restarted = new Defences(config, copy(firstStore));
    restarted.resume(remembered, lastStep);
    const cold = new Defences(config, copy(firstStore));
    for (let r = 6; r <= 8; r++) {
      const a = round(straight, r, true);
      const b = round(restarted, r, true);
      const c = round(cold, r, true);
      expect(b.alerts).toEqual(a.alerts);
      expect(b.doubted).toEqual(a.doubted);
      expect(b.excluded).toEqual(a.excluded);
      expect(b.doubted.map((v) => v.id)).toEqual(['m']);
      // Without the history the restarted forest would start cold: no finding, no evidence.
      expect(c.doubted).toEqual([]);
    }
    expect(restarted.reputation.score('m')).toBeCloseTo(straight.reputation.score('m'), 12);
    expect(restarted.reputation.recentSuspicions('m', 5)).toBe(straight.reputation.recentSuspicions('m', 5));
  });
});
