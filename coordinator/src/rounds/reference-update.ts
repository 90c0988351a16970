/**
 * The round's trusted reference update (FLTrust, Cao et al., NDSS 2021): the operator's hook trains the
 * round's global adapter on a small clean root dataset while participants train, and returns the delta that
 * the fedwarden strategy measures units against (aggregation/reference.ts).
 *
 * A reference is optional: a hook that fails, or returns a delta of the wrong length, with non-finite values
 * or all zeros, costs the round its reference (logged), never the round itself.
 */
import { allFinite, type Logger } from '@fedwarden/shared';
import type { TrustedReference } from '../aggregation/strategy.ts';

/**
 * Trains on the operator's root data from `global` and returns the delta, or the delta with replicates
 * trained on disjoint parts of the root data (aggregation/reference.ts uses them to measure the root sample's
 * noise).
 */
export type ReferenceHook = (
  global: Float32Array,
  round: number,
) => Promise<Float32Array | TrustedReference> | Float32Array | TrustedReference;

const wellFormed = (v: Float32Array, length: number): boolean => v.length === length && allFinite(v) && v.some((x) => x !== 0);

/**
 * The round's trusted reference, or undefined (no hook, or it failed: logged). Malformed replicates, or a
 * single one, cost the reference its noise estimate (logged), not the reference.
 */
export async function trainReference(
  hook: ReferenceHook | undefined,
  global: Float32Array,
  round: number,
  log: Logger,
): Promise<TrustedReference | undefined> {
  if (!hook) return undefined;
  try {
    const returned = await hook(global.slice(), round);
    const { delta, replicates } = returned instanceof Float32Array ? { delta: returned, replicates: [] } : returned;
    if (!(delta instanceof Float32Array) || !wellFormed(delta, global.length)) {
      log.warn('reference update malformed; round runs without it', { length: delta?.length, expected: global.length });
      return undefined;
    }
    if (replicates.length === 0) return { delta, replicates };
    if (replicates.length < 2 || !replicates.every((v) => v instanceof Float32Array && wellFormed(v, global.length))) {
      log.warn('reference replicates malformed; round runs without their noise estimate', { replicates: replicates.length });
      return { delta, replicates: [] };
    }
    return { delta, replicates };
  } catch (err) {
    log.warn('reference training failed; round runs without it', { err: err instanceof Error ? err.message : String(err) });
    return undefined;
  }
}
