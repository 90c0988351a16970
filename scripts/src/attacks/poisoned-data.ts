/**
 * Marks on poisoned datasets, so that poisoning is applied once: an attack's poisonData may be called up front
 * by a simulation and again by the Byzantine model wrapper at training time, and a label flip applied twice
 * would silently restore the honest labels. Identity-based (a WeakSet), so marks vanish with the data.
 */
import type { LabeledData } from '@fedwarden/client';

const poisoned = new WeakSet<LabeledData>();

export function markPoisoned(data: LabeledData): LabeledData {
  poisoned.add(data);
  return data;
}

export function isPoisoned(data: LabeledData): boolean {
  return poisoned.has(data);
}
