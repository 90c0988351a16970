import { describe, expect, it } from 'vitest';
import { generateKemKeyPair, hkdfSha256, silentLogger } from '@fedwarden/shared';
import { parseConfig } from '../config.ts';
import { Coordinator } from '../coordinator.ts';
import { ephemeralIdentity } from '../identity.ts';
import { GROUPING_KEY_BYTES, groupingKeyFromIdentity, groupingKeyFromSeed, keyedOrder } from './grouping-key.ts';

const seed = (b: number) => new Uint8Array(64).fill(b);

describe('grouping key', () => {
  it('is HKDF-SHA256 of the identity secret key under its own label: fixed for one identity, different for another', () => {
    const a = generateKemKeyPair(seed(1));
    const key = groupingKeyFromIdentity(a);
    expect(key.length).toBe(GROUPING_KEY_BYTES);
    expect(key).toEqual(hkdfSha256(a.secretKey, new Uint8Array(0), 'fedwarden/v1/secagg/grouping', 32));
    expect(groupingKeyFromIdentity(generateKemKeyPair(seed(1)))).toEqual(key); // a restarted coordinator keeps its groups
    expect(groupingKeyFromIdentity(generateKemKeyPair(seed(2)))).not.toEqual(key);
  });

  it('is not the one anyone can compute from a seed', () => {
    const key = groupingKeyFromIdentity(generateKemKeyPair(seed(1)));
    for (const s of [0, 1, 2, 42]) expect(groupingKeyFromSeed(s)).not.toEqual(key);
    expect(groupingKeyFromSeed(1)).toEqual(groupingKeyFromSeed(1));
    expect(groupingKeyFromSeed(1)).not.toEqual(groupingKeyFromSeed(2));
    expect(() => groupingKeyFromSeed(1.5)).toThrow('groupingKeyFromSeed: seed must be an integer, got 1.5');
  });

  it('orders ids by keyed hash: a permutation that depends on key and context, not on input order', () => {
    const ids = Array.from({ length: 30 }, (_, i) => `p${i}`);
    const key = groupingKeyFromSeed(3);
    const order = keyedOrder(key, 'fixed', ids);
    expect([...order].sort()).toEqual([...ids].sort());
    expect(keyedOrder(key, 'fixed', [...ids].reverse())).toEqual(order);
    expect(keyedOrder(key, 'reshuffle/1', ids)).not.toEqual(order);
    expect(keyedOrder(groupingKeyFromSeed(4), 'fixed', ids)).not.toEqual(order);
  });

  it('is refused by the coordinator at the wrong length, before anything opens', () => {
    const config = parseConfig({ port: 0, participants: ['a', 'b'].map((id, i) => ({ id, tokenSha256: String(i).repeat(64) })) });
    expect(() => new Coordinator(config, ephemeralIdentity(), silentLogger, { groupingKey: new Uint8Array(16) })).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG', message: 'Coordinator: options.groupingKey: the grouping key must be 32 bytes' }),
    );
  });
});
