/**
 * The fedwarden strategy (DESIGN.md, "Privacy modes and Byzantine robustness"): over aggregation units —
 * participants in trusted mode, secure groups' mean updates in secagg mode —
 *   1. sanity checks (sanity.ts): shape, finite values, positive weight, free riders;
 *   1b. when the round has a trusted reference (reference.ts, FLTrust's root-data step): units pointing away
 *      from it are rejected, and the norm bound below is centred on its norm instead of the median. Units
 *      that point away by less than its noise are doubted: one round's doubt alone proves nothing, so such a
 *      unit is kept (with negative reputation evidence) unless a member's record already leans the same way,
 *      a reputation score below ½ (more evidence of misbehaviour than of good behaviour): two weak signals
 *      that agree reject it. Honest participants, doubted now and then by chance, keep their data; a repeat
 *      offender, or a secure group holding one, does not get in on the reference's noise;
 *   2. norm bound (norm-bound.ts): each unit scaled to at most clipFactor × median norm, applied as a factor
 *      in step 6, never by copying a delta;
 *   3. count-sketch projection (projection.ts, seeded from ctx.seed) and cosine distances (cosine.ts);
 *   4. colluding near-duplicates are rejected (collusion.ts); then the DBSCAN majority cluster
 *      (dbscan-filter.ts): minority clusters are rejected, and noise units unless they align with the
 *      majority as well as its own members do; without a majority, units within the norm bound are kept;
 *   5. reputation weighting, when a book is given: weight × mean weightMultiplier of the unit's members
 *      (a unit whose members are all excluded is rejected, with no evidence recorded against it);
 *   6. the weighted average Σ wᵢ·cᵢ·xᵢ / Σ wᵢ (cᵢ the clip factor).
 * The strategy does not update reputation: its result carries `evidence`, which the coordinator passes to
 * reputation.recordRound once the round is final.
 * Tolerance: f < n/2 units whose directions lie outside the honest cloud are rejected (sign flips, noise,
 * Sybil or scaled minorities); any unit, inside the cloud or not, is capped at clipFactor × the median norm;
 * reputation then shrinks and excludes repeat offenders. Not covered: attacks inside the honest cloud
 * ("a little is enough", Baruch et al. 2019) beyond what the norm bound allows, and an attacking majority.
 * `onStep` is a profiling hook (bench:robust passes a clock); the strategy itself reads no clock.
 */
import { deriveSeed } from '@fedwarden/shared';

import { type BetaReputation, type UnitEvidence } from '../reputation/beta-reputation.ts';
import { evidenceFromResult } from '../reputation/evidence.ts';
import { nearDuplicates, subMatrix } from './collusion.ts';
import { cosineDistances } from './cosine.ts';
import { dbscanMajority, type DbscanOptions } from './dbscan-filter.ts';
import { normBoundFactors, type NormBoundOptions } from './norm-bound.ts';
import { PROJECTION_DEFAULTS, projectDeltas } from './projection.ts';
import { checkAgainstReference, type ReferenceOptions } from './reference.ts';
import { sanityCheck, type SanityOptions } from './sanity.ts';
import type { AggregationResult, AggregationUnit, Strategy, StrategyContext, UnitVerdict } from './strategy.ts';
import { scaledWeightedMean } from './unit-math.ts';

export type PipelineStep = 'sanity' | 'reference' | 'clip' | 'project' | 'cosine' | 'dbscan' | 'reputation' | 'average';

export interface FedwardenOptions extends SanityOptions, NormBoundOptions, ReferenceOptions {
  /** Reputation book for weighting (read only here). Default: none, weights as given. */
  readonly reputation?: BetaReputation;
  /** Count-sketch width m. Default 256 (exact cosines when dim ≤ 2m). */
  readonly projectionDim?: number;
  readonly dbscan?: DbscanOptions;
  /**
   * A unit doubted by the reference is rejected when a member's reputation score is below this (header, 1b).
   * Default ½; 0 keeps every doubted unit. Needs `reputation`.
   */
  readonly doubtedBelow?: number;
  /** Units closer than this cosine distance to another unit are rejected as colluding. Default 0.01; 0 disables. */
  readonly duplicateDistance?: number;
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
  const doubtedBelow = options.doubtedBelow ?? 0.5;
  if (!(doubtedBelow >= 0 && doubtedBelow <= 1)) throw new RangeError(`createFedwardenStrategy: doubtedBelow ${doubtedBelow} not in [0, 1]`);
  return {
    name: 'fedwarden',
    tolerance:
      'norm bound (c × median) + near-duplicate (collusion) rejection + DBSCAN majority cluster on cosine ' +
      'distances + beta reputation; ' +
      'f < n/2 units with directions outside the honest cloud, every unit capped at c × the median norm',
    aggregate(units, ctx) {
      const sane = sanityCheck(units, ctx.dim, options);
      step('sanity');
      const ref = ctx.reference === undefined ? undefined : checkAgainstReference(sane.kept, sane.norms, ctx.reference, options);
      const suspects = ref ? doubtedSuspects(ref.doubted, sane.kept, options.reputation, doubtedBelow, ctx.round) : new Map<string, string>();
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
      const colluding = nearDuplicates(dist, keptNorms, n, options.duplicateDistance);
      const candidates = Array.from({ length: n }, (_, i) => i).filter((i) => !colluding.has(i));
      const withinBound = candidates.map((i) => nb.factors[i] === 1);
      // Noise is readmitted only above three standard deviations of a random direction's cosine (dbscan-filter.ts).
      const dbscanOptions = { rescueFloor: 3 / Math.sqrt(projection.width), ...options.dbscan };
      const clusters = dbscanMajority(subMatrix(dist, n, candidates), candidates.length, dbscanOptions, withinBound);
      step('dbscan');

      const rejected: UnitVerdict[] = [...sane.rejected, ...(ref?.rejected ?? [])];
      for (const v of ref?.doubted ?? []) {
        const who = suspects.get(v.id);
        if (who !== undefined) rejected.push({ id: v.id, reason: `${v.reason}, and ${who}` });
      }
      for (const i of colluding) rejected.push({ id: (kept[i] as AggregationUnit).id, reason: 'near-duplicate of another unit (collusion)' });
      for (const r of clusters.rejected) {
        rejected.push({ id: (kept[candidates[r.index] as number] as AggregationUnit).id, reason: r.reason });
      }
      const excludedByReputation = new Set<string>();
      const survivors: AggregationUnit[] = [];
      const weights: number[] = [];
      const scales: number[] = [];
      for (const c of clusters.kept) {
        const i = candidates[c] as number;
        const u = kept[i] as AggregationUnit;
        const multiplier = options.reputation?.unitMultiplier(u.members, ctx.round) ?? 1;
        if (!(multiplier > 0)) {
          rejected.push({ id: u.id, reason: 'reputation: every member excluded' });
          excludedByReputation.add(u.id);
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
      const doubted = new Set(ref?.doubted.map((v) => v.id));
      const evidence = evidenceFromResult(units, result, excludedByReputation).map((e) =>
        doubted.has(e.unitId) && e.outcome !== 'rejected' ? { ...e, outcome: 'doubted' as const } : e,
      );
      return {
        ...result,
        doubted: ref?.doubted.filter((v) => survivorIds.has(v.id)) ?? [],
        evidence,
        diagnostics: {
          normBound: nb.bound,
          ...(ref ? { reference: { norm: ref.norm, noise: ref.noise, cosines: Object.fromEntries(sane.kept.map((u, i) => [u.id, ref.cosines[i] as number])) } } : {}),
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
 * Doubted units with a member whose reputation score is below `below`, each with the words naming that member
 * (header, 1b). Empty without a reputation book.
 */
function doubtedSuspects(
  doubted: readonly UnitVerdict[],
  units: readonly AggregationUnit[],
  book: BetaReputation | undefined,
  below: number,
  round: number,
): Map<string, string> {
  const out = new Map<string, string>();
  if (!book || doubted.length === 0) return out;
  const byId = new Map(units.map((u) => [u.id, u]));
  for (const v of doubted) {
    for (const m of byId.get(v.id)?.members ?? []) {
      const score = book.score(m, round);
      if (score < below) {
        out.set(v.id, `member ${m}'s reputation ${score.toFixed(2)} < ${below}`);
        break;
      }
    }
  }
  return out;
}
