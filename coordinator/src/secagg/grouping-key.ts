/**
 * The grouping key: the coordinator secret that orders participants into secure groups, so that no participant
 * can predict or steer where it sits (one that could would put one attacker in every group; docs/secure-groups.md).
 * Production derives it with HKDF-SHA256 (RFC 5869) from the coordinator's long-term ML-KEM secret key under its
 * own label: it lasts as long as that key, needs no file of its own, and is never logged. Simulations and tests
 * inject one derived from their seed instead, which replays a run and which anyone who knows the seed recomputes.
 */
import { createHmac } from 'node:crypto';
import { FedwardenError, KDF_LABELS, hkdfSha256, type KemKeyPair } from '@fedwarden/shared';

export const GROUPING_KEY_BYTES = 32;

/** The production grouping key, from the coordinator identity's secret key. */
export function groupingKeyFromIdentity(keyPair: KemKeyPair): Uint8Array {
  if (!(keyPair?.secretKey instanceof Uint8Array) || keyPair.secretKey.length < GROUPING_KEY_BYTES) {
    throw new FedwardenError('INTERNAL', 'groupingKeyFromIdentity: the identity has no secret key');
  }
  return hkdfSha256(keyPair.secretKey, new Uint8Array(0), KDF_LABELS.secaggGrouping, GROUPING_KEY_BYTES);
}

/** A grouping key anyone who knows `seed` can recompute: simulations and tests only, never a real federation. */
export function groupingKeyFromSeed(seed: number): Uint8Array {
  if (!Number.isSafeInteger(seed)) throw new FedwardenError('BAD_CONFIG', `groupingKeyFromSeed: seed must be an integer, got ${seed}`);
  return hkdfSha256(new TextEncoder().encode(`fedwarden replayable grouping seed ${seed}`), new Uint8Array(0), KDF_LABELS.secaggGrouping, GROUPING_KEY_BYTES);
}

export function checkGroupingKey(key: Uint8Array, where: string): void {
  if (!(key instanceof Uint8Array) || key.length !== GROUPING_KEY_BYTES) {
    throw new FedwardenError('BAD_CONFIG', `${where}: the grouping key must be ${GROUPING_KEY_BYTES} bytes`);
  }
}

/**
 * `ids` sorted by HMAC-SHA256(key, context ‖ id): to anyone without the key a uniformly random permutation, and
 * one that learning some positions (a member learns its group) does not help to extend. `context` separates the
 * uses (policy, round).
 */
export function keyedOrder(key: Uint8Array, context: string, ids: readonly string[]): string[] {
  const tags = new Map(ids.map((id) => [id, createHmac('sha256', key).update(`${context}\0${id}`).digest('hex')]));
  return [...ids].sort((a, b) => compare(tags.get(a) as string, tags.get(b) as string) || compare(a, b));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
