/**
 * Trusted-reference check: the trust bootstrapping of FLTrust (Cao, Fang, Liu, Gong, "FLTrust: Byzantine-robust
 * Federated Learning via Trust Bootstrapping", NDSS 2021), used as one step of the fedwarden pipeline.
 *
 * The operator holds a small clean root dataset from the task's domain (FLTrust uses 100 examples) and, each
 * round, trains the current global adapter on it exactly as a participant would; the resulting delta is the
 * reference. Honest units, however non-IID, descend the same loss and point into the reference's half-space;
 * a unit that pushes the model the opposite way (a sign flip, a label-flipped or boosted replacement update, or
 * a secure group's sum that such a member dominates) has cosine ≤ 0 with it.
 *
 * Why this step exists: every other check of the pipeline trusts a majority of units (the median norm, the
 * DBSCAN majority cluster). In secagg mode a unit is a group's sum, and one attacker poisons the whole group:
 * with 20 % attackers in groups of 5, about 70 % of the groups hold one (1 − C(40,5)/C(50,5)), so the
 * majority is poisoned and majority rules fail. The reference does not depend on any majority.
 *
 * What it does, when the coordinator has a reference for the round:
 *   - the norm bound is centred on the reference's norm instead of the units' median (norm-bound.ts);
 *   - a unit is rejected when its cosine c with the reference is at most `minCosine` (0) and it is also
 *       opposing:   c ≤ −½ × the 90th-percentile cosine of the round's units — it pushes against the reference
 *                   at least half as hard as the best-aligned units pull with it — and c ≤ −2 σ, σ the
 *                   standard error of a cosine with the reference (below). Needs no majority: this is what
 *                   rejects poisoned secure groups when most groups are poisoned; or
 *       an outlier: c < median − 3 robust σ of the cosines (robust-stats.ts) — below the cohort, which holds
 *                   when honest units are the majority (trusted mode): label flippers sit just below zero
 *                   while honest units sit clearly above it.
 *   Why not every c ≤ 0 (FLTrust's ReLU): near convergence, honest units' cosines with a 100-example
 *   reference scatter around zero (measured on the MNIST task at round 30: −0.10 to 0.15), although the
 *   reference stays consistent from round to round (cosine ≈ 0.78 between consecutive references): it then
 *   mostly points at what the root set alone still misfits. Rejecting every c ≤ 0 dropped a third of the
 *   honest units in late rounds and cost 1.1 points of final accuracy without attack; the two rules above
 *   cost 0.4 (pnpm simulate --clients 50 --rounds 30, seed 1: 88.1 % without a reference, 87.0 % with c ≤ 0,
 *   87.7 % with these rules).
 * The reference's own noise: 100 root examples are a sample, and late in training what the reference points
 *   at is largely that sample's misfits, so a unit's cosine with it carries sampling noise the units' spread
 *   cannot tell apart from disagreement. When the operator also trains R ≥ 2 replicates on disjoint parts of
 *   the root data, each unit's cosines with them differ only by that noise (every part is drawn from the same
 *   distribution): the pooled robust scale s of the deviations from each unit's replicate mean gives the
 *   standard error of a cosine with the whole root set, σ = s / √(R − 1) (the standard error of a mean of R
 *   measurements, s·√(R/(R−1)) / √R). An "opposing" cosine must lie 2 σ below zero (one-sided, ≈ 2 % of units
 *   whose true cosine is 0, fewer for honest units, whose true cosines are positive), so that noise alone does
 *   not call an honest unit opposing; attackers who oppose the reference do so on every part of the root data.
 *   Why 2 and not 3: at 3 σ, secure groups holding a sign-flipping attacker late in training (cosines −0.09 to
 *   −0.16, 2–2.9 σ) got in, and secagg sign-flip fell from 85.0 % to 82.1–84.1 % (seed 1); honest units'
 *   late-round doubts in trusted mode sat within 1.5 σ (−0.06 to −0.09 with σ ≈ 0.05–0.07).
 *   A unit that meets the other opposing conditions but not 2 σ is *doubted*: the pipeline keeps it, since one
 *   round cannot tell it from noise, unless a member's reputation already leans against it (robust-pipeline.ts),
 *   and gives its members negative reputation evidence, so that consistent opposition (label flippers late in
 *   training) adds up over rounds while chance doubts about honest units wash out (reputation/beta-reputation.ts).
 *   Measured (pnpm simulate --matrix --defences fedwarden, seed 1, 50 participants, 100 root digits, two
 *   halves): without attack 87.5 % → 87.9 %, free riders 86.7 % → 87.3 % (no honest unit rejected by the
 *   reference any more); label-flip detection stays at 100 / 90 % precision / recall only because doubts are
 *   evidence — keeping doubted units without it let label flippers go unflagged (recall 50 %).
 *   The noise is pooled over all units, attackers included, since their cosines vary with the root sample as
 *   honest ones do: no majority is assumed. Without replicates σ = 0 and the rule is as it was.
 * Cosines are exact (one O(d) dot product per unit), not sketched: decisions near zero must not flip with a
 * count sketch's ±1/√m error.
 *
 * Assumptions and limits (as FLTrust): the root data must be clean and drawn from the task's distribution;
 * an attacker who knows the reference can stay inside its half-space (a weak attack, then capped by the norm
 * bound and checked by DBSCAN). Without a reference the pipeline runs exactly as before.
 */
import { l2Norm, quantile } from '@fedwarden/shared';
import { robustScale } from '../anomaly/robust-stats.ts';
import type { AggregationUnit, TrustedReference, UnitVerdict } from './strategy.ts';

export interface ReferenceOptions {
  /** Units with cosine to the reference at or below this are rejected. Default 0 (FLTrust's ReLU). */
  readonly minCosine?: number;
  /** Opposing units: cos ≤ −opposeFraction × the 90th-percentile cosine. Default 0.5. */
  readonly opposeFraction?: number;
  /** Outliers of the cohort: cos < median − outlierMads × the robust scale (≈ 1.4826·MAD) of the cosines. Default 3. */
  readonly outlierMads?: number;
  /** Opposing units must also lie this many standard errors of the reference's cosines below zero. Default 2 (header). */
  readonly opposeSigmas?: number;
}

export const REFERENCE_DEFAULTS = { minCosine: 0, opposeFraction: 0.5, outlierMads: 3, opposeSigmas: 2 } as const;

export interface ReferenceCheck {
  /** The reference's L2 norm (positive: a zero reference is refused). */
  readonly norm: number;
  /** Cosine of each unit with the reference, aligned with the units given. */
  readonly cosines: Float64Array;
  /** Standard error of those cosines from the root sample, estimated from the replicates (0 without). */
  readonly noise: number;
  /** Per unit: passed the check (doubted units pass). */
  readonly passed: boolean[];
  readonly rejected: UnitVerdict[];
  /** Units that oppose the reference by less than its noise: kept, with negative reputation evidence. */
  readonly doubted: UnitVerdict[];
}

/** ‖v‖₂ of a reference step, refusing a zero or non-finite one: the operator's own step must be well formed. */
function referenceNorm(v: Float32Array, what: string): number {
  const norm = l2Norm(v);
  if (!(Number.isFinite(norm) && norm > 0)) throw new RangeError(`checkAgainstReference: the ${what} must be finite and non-zero`);
  return norm;
}

/** Cosine of each unit with `v` (norm `vNorm`). */
function cosinesWith(units: readonly AggregationUnit[], norms: ArrayLike<number>, v: Float32Array, vNorm: number): Float64Array {
  const cosines = new Float64Array(units.length);
  units.forEach((u, i) => {
    if (u.delta.length !== v.length) throw new RangeError(`checkAgainstReference: unit ${u.id} has ${u.delta.length} ≠ ${v.length} values`);
    let dot = 0;
    for (let j = 0; j < v.length; j++) dot += (u.delta[j] as number) * (v[j] as number);
    cosines[i] = dot / ((norms[i] as number) * vNorm);
  });
  return cosines;
}

/**
 * Standard error of a unit's cosine with the whole-root reference, from R ≥ 2 replicates on disjoint root parts:
 * the pooled robust scale of each unit's deviations from its replicate mean, over √(R − 1) (see the header).
 */
export function replicateNoise(units: readonly AggregationUnit[], norms: ArrayLike<number>, replicates: readonly Float32Array[]): number {
  const r = replicates.length;
  if (r < 2 || units.length === 0) return 0;
  const perReplicate = replicates.map((v, k) => cosinesWith(units, norms, v, referenceNorm(v, `replicate ${k}`)));
  const deviations: number[] = [];
  for (let i = 0; i < units.length; i++) {
    let mean = 0;
    for (const c of perReplicate) mean += c[i] as number;
    mean /= r;
    for (const c of perReplicate) deviations.push((c[i] as number) - mean);
  }
  return robustScale(deviations).scale / Math.sqrt(r - 1);
}

/**
 * Check units (already sane: right length, finite, non-zero; `norms` their L2 norms) against a reference.
 * A zero or non-finite reference or replicate is refused, as is a single replicate (its noise is unknowable).
 */
export function checkAgainstReference(
  units: readonly AggregationUnit[],
  norms: ArrayLike<number>,
  reference: TrustedReference,
  options: ReferenceOptions = {},
): ReferenceCheck {
  if (norms.length !== units.length) throw new RangeError('checkAgainstReference: one norm per unit');
  const norm = referenceNorm(reference.delta, 'reference');
  if (reference.replicates.length === 1) throw new RangeError('checkAgainstReference: one replicate gives no noise estimate; give none or ≥ 2');
  if (reference.replicates.some((v) => v.length !== reference.delta.length)) throw new RangeError('checkAgainstReference: a replicate differs in length from the reference');
  const cosines = cosinesWith(units, norms, reference.delta, norm);
  const noise = replicateNoise(units, norms, reference.replicates);
  return { norm, cosines, noise, ...judgeByCosines(units, cosines, noise, options) };
}

/**
 * The rules of the header over given cosines with some reference (aligned with `units`) and that reference's
 * noise: what passed, what is rejected and what doubted. consensus.ts calls it with its own cosines.
 */
export function judgeByCosines(
  units: readonly AggregationUnit[],
  cosines: Float64Array,
  noise: number,
  options: ReferenceOptions = {},
  name = 'the trusted reference',
): Pick<ReferenceCheck, 'passed' | 'rejected' | 'doubted'> {
  const minCosine = options.minCosine ?? REFERENCE_DEFAULTS.minCosine;
  const fraction = options.opposeFraction ?? REFERENCE_DEFAULTS.opposeFraction;
  const mads = options.outlierMads ?? REFERENCE_DEFAULTS.outlierMads;
  const sigmas = options.opposeSigmas ?? REFERENCE_DEFAULTS.opposeSigmas;
  if (!(minCosine >= -1 && minCosine < 1)) throw new RangeError(`checkAgainstReference: minCosine ${minCosine} not in [-1, 1)`);
  if (!(fraction >= 0 && Number.isFinite(fraction))) throw new RangeError(`checkAgainstReference: opposeFraction ${fraction}`);
  if (!(mads >= 0 && Number.isFinite(mads))) throw new RangeError(`checkAgainstReference: outlierMads ${mads}`);
  if (!(sigmas >= 0 && Number.isFinite(sigmas))) throw new RangeError(`checkAgainstReference: opposeSigmas ${sigmas}`);
  if (cosines.length !== units.length) throw new RangeError(`judgeByCosines: ${cosines.length} cosines for ${units.length} units`);
  const passed: boolean[] = [];
  const rejected: UnitVerdict[] = [];
  const doubted: UnitVerdict[] = [];
  if (units.length === 0) return { passed, rejected, doubted };
  const signal = quantile(cosines, 0.9);
  const against = -fraction * signal;
  const beyondNoise = -sigmas * noise;
  const { center, scale } = robustScale(Array.from(cosines));
  const outlier = center - mads * scale;
  units.forEach((u, i) => {
    const cos = cosines[i] as number;
    const opposes = cos <= minCosine && signal > 0 && cos <= against;
    const why =
      cos > minCosine ? undefined
      : opposes && cos <= beyondNoise ? `≤ ${Math.min(against, beyondNoise).toFixed(3)}, opposing`
      : cos < outlier ? `< ${outlier.toFixed(3)}, an outlier`
      : undefined;
    passed.push(why === undefined);
    if (why !== undefined) rejected.push({ id: u.id, reason: `points away from ${name} (cosine ${cos.toFixed(3)} ${why})` });
    else if (opposes) {
      doubted.push({ id: u.id, reason: `points away from ${name} within its noise (cosine ${cos.toFixed(3)} ≤ ${against.toFixed(3)}, > ${beyondNoise.toFixed(3)} = −${sigmas} σ)` });
    }
  });
  return { passed, rejected, doubted };
}
