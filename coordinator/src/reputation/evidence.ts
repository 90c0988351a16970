/**
 * Turns a strategy's verdicts into reputation evidence, one entry per unit: rejected → 'rejected', kept and
 * adjusted (clipped) → 'clipped', kept → 'kept'. Any strategy's result can feed the reputation book this way,
 * so simulations can compare reputation under every baseline. Units listed in `skip` get no evidence (units
 * left out for their members' reputation: counting that as a rejection would feed exclusion back into
 * itself). A repeated unit id yields evidence once. withDoubts() marks doubted units.
 */
import type { AggregationResult, AggregationUnit } from '../aggregation/strategy.ts';
import type { UnitEvidence } from './beta-reputation.ts';

export function evidenceFromResult(
  units: readonly AggregationUnit[],
  result: Pick<AggregationResult, 'kept' | 'rejected' | 'adjusted'>,
  skip: ReadonlySet<string> = new Set(),
): UnitEvidence[] {
  const kept = new Set(result.kept);
  const adjusted = new Set(result.adjusted.map((v) => v.id));
  const rejected = new Set(result.rejected.map((v) => v.id));
  const out: UnitEvidence[] = [];
  const seen = new Set<string>();
  for (const u of units) {
    if (seen.has(u.id) || skip.has(u.id)) continue;
    seen.add(u.id);
    const outcome = kept.has(u.id) ? (adjusted.has(u.id) ? 'clipped' : 'kept') : rejected.has(u.id) ? 'rejected' : undefined;
    if (outcome !== undefined) out.push({ unitId: u.id, members: u.members, outcome });
  }
  return out;
}

/**
 * The evidence with the units in `doubted` turned from kept or clipped into 'doubted' (a unit the reference or
 * the isolation forest doubts); a rejected unit keeps its verdict, and units with no evidence get none.
 */
export function withDoubts(evidence: readonly UnitEvidence[], doubted: ReadonlySet<string>): UnitEvidence[] {
  return evidence.map((e) => (doubted.has(e.unitId) && e.outcome !== 'rejected' ? { ...e, outcome: 'doubted' as const } : e));
}
