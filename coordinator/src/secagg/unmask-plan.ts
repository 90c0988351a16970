/**
 * Who the coordinator asks to unmask, and whether that can still work: pure helpers of group-protocol.ts.
 * Survivor s is asked about each of its masking partners: a survivor's self-mask seed b_j, or a dropped
 * member's pairwise master P_j. Every such secret needs t shares; these functions count who could give them.
 */
import { sortedSet, type UnmaskRequest } from './group-state.ts';

/** For each survivor: its partners in U3 and its partners that dropped. */
export function planUnmask(partners: ReadonlyMap<number, readonly number[]>, u3: ReadonlySet<number>): Map<number, UnmaskRequest> {
  const out = new Map<number, UnmaskRequest>();
  for (const i of sortedSet(u3)) {
    const p = partners.get(i) ?? [];
    out.set(i, { survivors: p.filter((j) => u3.has(j)), dropped: p.filter((j) => !u3.has(j)) });
  }
  return out;
}

/** Why the unmask plan cannot succeed even if every survivor replies, or undefined if it can. */
export function infeasible(
  partners: ReadonlyMap<number, readonly number[]>,
  requests: ReadonlyMap<number, UnmaskRequest>,
  t: number,
  survived: (i: number) => boolean,
): string | undefined {
  if (requests.size === 0) return 'no masked input arrived';
  for (const [i, r] of requests) {
    if (r.survivors.length < t) return `survivor ${i} has ${r.survivors.length} surviving partners, threshold is ${t}`;
  }
  for (const [d, p] of partners) {
    if (survived(d)) continue;
    const holders = p.filter(survived).length;
    if (holders > 0 && holders < t) return `dropped member ${d} has ${holders} surviving partners, threshold is ${t}`;
  }
  return undefined;
}

/**
 * Whether every secret the unmasking needs (b_s for each survivor, P_d for each dropped member asked about)
 * can still get t shares: those already replied plus those of requested members not yet replied and not gone.
 */
export function enoughRepliesPossible(
  requests: ReadonlyMap<number, UnmaskRequest>,
  replied: ReadonlySet<number>,
  gone: ReadonlySet<number>,
  survivors: Iterable<number>,
  t: number,
): boolean {
  const selfCount = new Map<number, number>();
  const masterCount = new Map<number, number>();
  const bump = (m: Map<number, number>, j: number): void => void m.set(j, (m.get(j) ?? 0) + 1);
  for (const [i, r] of requests) {
    if (gone.has(i) && !replied.has(i)) continue;
    for (const j of r.survivors) bump(selfCount, j);
    for (const j of r.dropped) bump(masterCount, j);
  }
  for (const s of survivors) if ((selfCount.get(s) ?? 0) < t) return false;
  for (const r of requests.values()) for (const d of r.dropped) if ((masterCount.get(d) ?? 0) < t) return false;
  return true;
}
