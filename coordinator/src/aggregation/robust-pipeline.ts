/**
 * The fedwarden strategy (DESIGN.md, "Privacy modes and Byzantine robustness"): over aggregation units —
 * participants in trusted mode, secure groups' mean updates in secagg mode —
 *   1. sanity checks (sanity.ts): shape, finite values, positive weight, free riders;
 *   1b. when the round has a trusted reference (reference.ts, FLTrust's root-data step): units pointing away
 *      from it are rejected, and the norm bound below is centred on its norm instead of the median. Units
 *      that point away by less than its noise are doubted: one round's doubt alone proves nothing, so such a
 *      unit is kept (with 'doubted' reputation evidence) unless a member was itself doubted or rejected in one
 *      of its last W = doubtWindow (5) participations (BetaReputation.recentSuspicions; doubts of the reference,
 *      of the consensus and of the isolation forest all count): two weak signals that agree reject it, however
 *      good the member's older record. (The former rule, a reputation score below ½, let an on-off attacker
 *      spend the score it earned while honest on its hostile rounds.) An honest member doubted by chance in a
 *      fraction p of its rounds loses p·(1 − (1 − p)^W) ≤ W·p² of its updates (recent-doubt.test.ts measures
 *      9.8 % at p = 1/6, as predicted; that is 0.2 % at p = 2 %, 1.1 % at 5 %, 4.1 % at 10 %); an attacker gets
 *      a doubted update in at most once every W + 1 participations, and a repeat offender, or a secure group
 *      holding one, not at all. W = 5 keeps that duty cycle at a sixth. On the MNIST simulation (50
 *      participants, seed 1, 30 rounds, 100 root digits, no attack) the reference doubted no honest unit before
 *      round 22 and ≈ 10 % of them in the last rounds; the rule rejected 11 of 1,500 honest unit-rounds, all
 *      in rounds 27–30;
 *   2. norm bound (norm-bound.ts): each unit scaled to at most clipFactor × median norm, applied as a factor
 *      in step 6, never by copying a delta;
 *   3. count-sketch projection (projection.ts, seeded from ctx.seed) and cosine distances (cosine.ts);
 *   4. colluding units are rejected (collusion.ts): near-duplicates, and groups of units far more alike than
 *      the round's units in general, in this round's updates or in their participants' histories
 *      (similarity-groups.ts, similarity-history.ts: colluders that add independent noise to one direction);
 *   4b. without a trusted reference, every round, the units' consensus (consensus.ts: each unit against the
 *      coordinate-wise median of the other units' directions) judges direction by the rules of 1b, its noise
 *      the spread of the upper half of the cosines: opposing units beyond 2 σ and outliers with cosine ≤ 0 are
 *      rejected, opposing units within the noise doubted. This
 *      is the directional check of the late rounds, where honest non-IID updates are nearly orthogonal and no
 *      DBSCAN cluster holds a majority;
 *   then the DBSCAN majority cluster (dbscan-filter.ts): minority clusters are rejected, and noise units
 *      unless they align with the majority as well as its own members do; without a majority every remaining
 *      unit is kept (each already capped by the norm bound);
 *   5. reputation weighting, when a book is given: weight × mean weightMultiplier of the unit's members
 *      (a unit whose members are all excluded is rejected, with no evidence recorded against it);
 *   6. the weighted average Σ wᵢ·cᵢ·xᵢ / Σ wᵢ (cᵢ the clip factor).
 * The strategy does not update reputation: its result carries `evidence`, which the coordinator passes to
 * reputation.recordRound once the round is final.
 * Tolerance: f < n/2 units whose directions oppose the honest consensus (or the trusted reference) are
 * rejected in every round; while a majority cluster exists, also those outside the honest cloud (noise, Sybil or
 * scaled minorities); any unit, inside the cloud or not, is capped at clipFactor × the median norm;
 * reputation then shrinks and excludes repeat offenders. Not covered: attacks inside the honest cloud
 * ("a little is enough", Baruch et al. 2019) beyond what the norm bound allows, and an attacking majority.
 * `onStep` is a profiling hook (bench:robust passes a clock); the strategy itself reads no clock.
 */
import { deriveSeed } from '@fedwarden/shared';

import { RECENT_PARTICIPATIONS, type BetaReputation, type UnitEvidence } from '../reputation/beta-reputation.ts';
import { evidenceFromResult } from '../reputation/evidence.ts';
import { CollusionCheck, subMatrix, type CollusionDiagnostics, type CollusionOptions } from './collusion.ts';
import { consensusCosines, consensusNoise } from './consensus.ts';
import { cosineDistances } from './cosine.ts';
import { dbscanMajority, type DbscanOptions } from './dbscan-filter.ts';
import { normBoundFactors, type NormBoundOptions } from './norm-bound.ts';
import { PROJECTION_DEFAULTS, projectDeltas } from './projection.ts';
import { checkAgainstReference, judgeByCosines, type ReferenceCheck, type ReferenceOptions } from './reference.ts';
import { sanityCheck, type SanityOptions } from './sanity.ts';
import type { AggregationResult, AggregationUnit, Strategy, StrategyContext, UnitVerdict } from './strategy.ts';
import { scaledWeightedMean } from './unit-math.ts';

export type PipelineStep = 'sanity' | 'reference' | 'clip' | 'project' | 'cosine' | 'collusion' | 'consensus' | 'dbscan' | 'reputation' | 'average';

export interface FedwardenOptions extends SanityOptions, NormBoundOptions, ReferenceOptions {
  /** Reputation book for weighting (read only here). Default: none, weights as given. */
  readonly reputation?: BetaReputation;
  /** Count-sketch width m. Default 256 (exact cosines when dim ≤ 2m). */
  readonly projectionDim?: number;
  readonly dbscan?: DbscanOptions;
  /**
   * W: a doubted unit is rejected when a member was doubted or rejected in one of its last W participations
   * (header, 1b). Default 5; 0 keeps every doubted unit. Needs `reputation`.
   */
  readonly doubtWindow?: number;
  /**
   * Without a trusted reference, judge each unit's direction against the coordinate-wise median of the units'
   * directions (consensus.ts), with reference.ts's rules. Default true.
   */
  readonly consensus?: boolean;
  /** Units closer than this cosine distance to another unit are rejected as colluding. Default 0.01; 0 disables. */
  readonly duplicateDistance?: number;
  /**
   * The collusion check beyond near-duplicates (collusion.ts): its similarity floor, MADs, history decay…;
   * `{ similarity: false }` leaves only the near-duplicates. The strategy keeps the participants' histories.
   */
  readonly collusion?: Omit<CollusionOptions, 'duplicateDistance'>;
  /** Called after each step, in order; for profiling. */
  readonly onStep?: (step: PipelineStep) => void;
}

export interface FedwardenDiagnostics {
  readonly normBound: number;
  /**
   * The trusted reference's norm, the standard error of a cosine with it (0 without replicates) and each
   * checked unit's cosine with it, when the round had one.
   */
  readonly reference?: { readonly norm: number; readonly noise: number; readonly cosines: Readonly<Record<string, number>> };
  /** Without a trusted reference: each judged unit's cosine with the others' consensus (consensus.ts). */
  readonly consensus?: { readonly cosines: Readonly<Record<string, number>> };
  /** Units rejected as colluding (near-duplicates, unusually similar groups) and the similarity thresholds. */
  readonly collusion: CollusionDiagnostics;
  readonly eps: number;
  readonly minPts: number;
  /** False when no cluster held a majority (or fewer than 3 units): nothing was rejected by direction. */
  readonly majority: boolean;
  readonly clusterSizes: readonly number[];
  /** Units DBSCAN called noise but readmitted for their alignment with the majority. */
  readonly rescued: readonly string[];
  /** Width of the vectors compared (m, or dim in exact mode) and whether they were sketched. */
  readonly width: number;
  readonly sketched: boolean;
}

export interface FedwardenResult extends AggregationResult {
  /** Units kept although they point away from the trusted reference within its noise (reference.ts). */
  readonly doubted: readonly UnitVerdict[];
  /** One entry per unit for reputation.recordRound (none for units excluded by reputation). */
  readonly evidence: UnitEvidence[];
  readonly diagnostics: FedwardenDiagnostics;
}

export interface FedwardenStrategy extends Strategy {
  aggregate(units: readonly AggregationUnit[], ctx: StrategyContext): FedwardenResult;
}

export function createFedwardenStrategy(options: FedwardenOptions = {}): FedwardenStrategy {
  const m = options.projectionDim ?? PROJECTION_DEFAULTS.dim;
  if (!(Number.isInteger(m) && m >= 1)) throw new RangeError(`createFedwardenStrategy: projectionDim ${m}`);
  const step = options.onStep ?? ((): void => {});
  // Owns the participants' histories across rounds (collusion.ts).
  const collusion = new CollusionCheck({ ...options.collusion, ...(options.duplicateDistance !== undefined ? { duplicateDistance: options.duplicateDistance } : {}) }, m);
  const doubtWindow = options.doubtWindow ?? DOUBT_WINDOW;
  if (!(Number.isInteger(doubtWindow) && doubtWindow >= 0 && doubtWindow <= RECENT_PARTICIPATIONS)) {
    throw new RangeError(`createFedwardenStrategy: doubtWindow ${doubtWindow} not an integer in [0, ${RECENT_PARTICIPATIONS}]`);
  }
  return {
    name: 'fedwarden',
    tolerance:
      'norm bound (c × median) + collusion (near-duplicates, unusually similar groups) rejection + DBSCAN majority cluster on cosine ' +
      'distances + beta reputation; ' +
      'f < n/2 units with directions outside the honest cloud, every unit capped at c × the median norm',
    aggregate(units, ctx) {
      const sane = sanityCheck(units, ctx.dim, options);
      step('sanity');
      const ref = ctx.reference === undefined ? undefined : checkAgainstReference(sane.kept, sane.norms, ctx.reference, options);
      const suspects = ref ? doubtedSuspects(ref.doubted, sane.kept, options.reputation, doubtWindow) : new Map<string, string>();
      const passed = sane.kept.map((u, i) => (ref?.passed[i] ?? true) && !suspects.has(u.id));
      const kept = sane.kept.filter((_, i) => passed[i]);
      const keptNorms = sane.norms.filter((_, i) => passed[i]);
      step('reference');
      const n = kept.length;
      const nb = normBoundFactors(kept, keptNorms, options, ref?.norm);
      step('clip');
      const projection = projectDeltas(kept.map((u) => u.delta), ctx.dim, deriveSeed(ctx.seed, 1), m);
      step('project');
      const dist = cosineDistances(projection.rows, n, projection.width);
      step('cosine');
      // Colluding near-duplicates go first, so that a block of identical attackers can neither pose as a
      // dense cluster nor break the honest majority that DBSCAN looks for.
      const collusionVerdicts = collusion.check(kept, dist, keptNorms, ctx);
      const colluding = collusionVerdicts.colluding;
      step('collusion');
      const screened = Array.from({ length: n }, (_, i) => i).filter((i) => !colluding.has(i));
      // 4b. Without a trusted reference, the units' own consensus judges their direction (consensus.ts).
      const consensus = ref === undefined && options.consensus !== false ? judgeByConsensus(kept, keptNorms, screened, ctx, options) : undefined;
      const consensusSuspects = consensus ? doubtedSuspects(consensus.check.doubted, kept, options.reputation, doubtWindow) : new Map<string, string>();
      const candidates = screened.filter((i, k) => (consensus?.check.passed[k] ?? true) && !consensusSuspects.has((kept[i] as AggregationUnit).id));
      step('consensus');
      // Noise is readmitted only above three standard deviations of a random direction's cosine (dbscan-filter.ts).
      const dbscanOptions = { rescueFloor: 3 / Math.sqrt(projection.width), ...options.dbscan };
      // Without a majority cluster every candidate is kept: the norm bound has already capped each one's
      // influence, and rejecting the large ones would let a bloc of small units push honest ones out.
      const clusters = dbscanMajority(subMatrix(dist, n, candidates), candidates.length, dbscanOptions);
      step('dbscan');

      const rejected: UnitVerdict[] = [...sane.rejected, ...(ref?.rejected ?? [])];
      for (const v of ref?.doubted ?? []) {
        const who = suspects.get(v.id);
        if (who !== undefined) rejected.push({ id: v.id, reason: `${v.reason}, and ${who}` });
      }
      for (const v of consensus?.check.rejected ?? []) rejected.push(v);
      for (const v of consensus?.check.doubted ?? []) {
        const who = consensusSuspects.get(v.id);
        if (who !== undefined) rejected.push({ id: v.id, reason: `${v.reason}, and ${who}` });
      }
      for (const [i, reason] of colluding) rejected.push({ id: (kept[i] as AggregationUnit).id, reason });
      for (const r of clusters.rejected) {
        rejected.push({ id: (kept[candidates[r.index] as number] as AggregationUnit).id, reason: r.reason });
      }
      // Units rejected without reputation evidence: whole-excluded ones, and similarity pairs (collusion.ts).
      const unblamed = new Set<string>(Array.from(collusionVerdicts.unblamed, (i) => (kept[i] as AggregationUnit).id));
      const survivors: AggregationUnit[] = [];
      const weights: number[] = [];
      const scales: number[] = [];
      for (const c of clusters.kept) {
        const i = candidates[c] as number;
        const u = kept[i] as AggregationUnit;
        const multiplier = options.reputation?.unitMultiplier(u.members, ctx.round) ?? 1;
        if (!(multiplier > 0)) {
          rejected.push({ id: u.id, reason: 'reputation: every member excluded' });
          unblamed.add(u.id);
          continue;
        }
        survivors.push(u);
        weights.push(u.weight * multiplier);
        scales.push(nb.factors[i] as number);
      }
      const survivorIds = new Set(survivors.map((u) => u.id));
      const adjusted = nb.adjusted.filter((v) => survivorIds.has(v.id));
      step('reputation');

      const result: AggregationResult = {
        step: scaledWeightedMean(survivors, ctx.dim, weights, scales),
        kept: survivors.map((u) => u.id),
        rejected,
        adjusted,
      };
      step('average');
      // A doubted unit that the later steps kept gives negative evidence; one they rejected keeps that verdict.
      const allDoubted = [...(ref?.doubted ?? []), ...(consensus?.check.doubted ?? [])];
      const doubted = new Set(allDoubted.map((v) => v.id));
      const evidence = evidenceFromResult(units, result, unblamed).map((e) =>
        doubted.has(e.unitId) && e.outcome !== 'rejected' ? { ...e, outcome: 'doubted' as const } : e,
      );
      return {
        ...result,
        doubted: allDoubted.filter((v) => survivorIds.has(v.id)),
        evidence,
        diagnostics: {
          normBound: nb.bound,
          ...(ref ? { reference: { norm: ref.norm, noise: ref.noise, cosines: Object.fromEntries(sane.kept.map((u, i) => [u.id, ref.cosines[i] as number])) } } : {}),
          ...(consensus ? { consensus: { cosines: Object.fromEntries(consensus.units.map((u, k) => [u.id, consensus.cosines[k] as number])) } } : {}),
          collusion: collusionVerdicts.diagnostics,
          eps: clusters.eps,
          minPts: clusters.minPts,
          majority: clusters.majority,
          clusterSizes: clusters.clusterSizes,
          rescued: clusters.rescued.map((r) => (kept[candidates[r] as number] as AggregationUnit).id),
          width: projection.width,
          sketched: !projection.exact,
        },
      };
    },
  };
}

/**
 * The consensus check (step 4b) over the units at `indices`: undefined when they are too few for a consensus.
 * `check` is aligned with `units` (the units at `indices`, in that order).
 */
function judgeByConsensus(
  kept: readonly AggregationUnit[],
  norms: Float64Array,
  indices: readonly number[],
  ctx: StrategyContext,
  options: ReferenceOptions,
): { readonly units: AggregationUnit[]; readonly cosines: Float64Array; readonly check: Pick<ReferenceCheck, 'passed' | 'rejected' | 'doubted'> } | undefined {
  const units = indices.map((i) => kept[i] as AggregationUnit);
  const cosines = consensusCosines(units, Float64Array.from(indices, (i) => norms[i] as number), ctx.dim, deriveSeed(ctx.seed, 2));
  if (cosines === undefined) return undefined;
  return { units, cosines, check: judgeByCosines(units, cosines, consensusNoise(cosines), options, "the units' consensus") };
}

/** W of the header's step 1b: participations in which a member's own doubt still counts against its unit. */
export const DOUBT_WINDOW = 5;

/**
 * Doubted units with a member doubted or rejected in one of its last `window` participations, each with the
 * words naming that member (header, 1b). Empty without a reputation book or with window 0.
 */
function doubtedSuspects(
  doubted: readonly UnitVerdict[],
  units: readonly AggregationUnit[],
  book: BetaReputation | undefined,
  window: number,
): Map<string, string> {
  const out = new Map<string, string>();
  if (!book || window === 0 || doubted.length === 0) return out;
  const byId = new Map(units.map((u) => [u.id, u]));
  for (const v of doubted) {
    for (const m of byId.get(v.id)?.members ?? []) {
      const times = book.recentSuspicions(m, window);
      if (times > 0) {
        out.set(v.id, `member ${m} was doubted or rejected in ${times} of its last ${window} participations`);
        break;
      }
    }
  }
  return out;
}
