/**
 * The round's trusted reference update (FLTrust, Cao et al., NDSS 2021): the operator's hook trains the
 * round's global adapter on a small clean root dataset while participants train, and returns the delta that
 * the fedwarden strategy measures units against (aggregation/reference.ts).
 *
 * A reference is optional: a hook that fails, or returns a delta of the wrong length, with non-finite values
 * or all zeros, costs the round its reference (logged), never the round itself.
 */
import type { Logger } from '@fedwarden/shared';

/** Trains on the operator's root data from `global` and returns the delta. */
export type ReferenceHook = (global: Float32Array, round: number) => Promise<Float32Array>;

/** The round's trusted reference delta, or undefined (no hook, or it failed: logged). */
export async function trainReference(
  hook: ReferenceHook | undefined,
  global: Float32Array,
  round: number,
  log: Logger,
): Promise<Float32Array | undefined> {
  if (!hook) return undefined;
  try {
    const delta = await hook(global.slice(), round);
    if (delta.length !== global.length || !delta.every(Number.isFinite) || !delta.some((x) => x !== 0)) {
      log.warn('reference update malformed; round runs without it', { length: delta.length, expected: global.length });
      return undefined;
    }
    return delta;
  } catch (err) {
    log.warn('reference training failed; round runs without it', { err: err instanceof Error ? err.message : String(err) });
    return undefined;
  }
}
