import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MOD_ADD_CHUNK_WORDS, MOD_ADD_SIMD, addModWords, addModWordsScalar, wipeModAdd } from './mod-add.ts';
import { codeOf } from '../test-support.ts';

const EDGES = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe];

function operands(n: number): { t: Int32Array; k: Uint8Array } {
  const t = new Int32Array(randomBytes(4 * n).buffer.slice(0, 4 * n));
  const k = new Uint8Array(randomBytes(4 * n));
  const kv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  // Every pairing of edge values, on the first words.
  for (let i = 0; i < Math.min(n, EDGES.length ** 2); i++) {
    t[i] = EDGES[i % EDGES.length] as number;
    kv.setUint32(4 * i, EDGES[Math.floor(i / EDGES.length)] as number, true);
  }
  return { t, k };
}

describe('addModWords', () => {
  it('runs on WebAssembly SIMD here (a malformed module would silently fall back to the scalar loop)', () => {
    expect(MOD_ADD_SIMD).toBe(true);
  });

  it('adds and subtracts little-endian words mod 2^32, like the scalar reference and BigInt arithmetic', () => {
    for (const n of [0, 1, 4, 15, 16, 17, 63, 64, 65, 1000, MOD_ADD_CHUNK_WORDS]) {
      for (const sign of [1, -1] as const) {
        const { t, k } = operands(n);
        const kv = new DataView(k.buffer, k.byteOffset, k.byteLength);
        const expected = Int32Array.from(t, (x, i) => Number(BigInt.asIntN(32, BigInt(x) + BigInt(sign) * BigInt(kv.getUint32(4 * i, true)))));
        const simd = t.slice();
        addModWords(simd, k, sign);
        const scalar = t.slice();
        addModWordsScalar(scalar, k, sign);
        expect(simd).toEqual(expected);
        expect(scalar).toEqual(expected);
      }
    }
  });

  it('reads an operand at any byte offset', () => {
    const { t, k } = operands(100);
    const shifted = new Uint8Array(401);
    shifted.set(k, 1);
    const a = t.slice();
    const b = t.slice();
    addModWords(a, shifted.subarray(1), 1);
    addModWords(b, k, 1);
    expect(a).toEqual(b);
  });

  it('checks sizes', () => {
    expect(codeOf(() => addModWords(new Int32Array(MOD_ADD_CHUNK_WORDS + 1), new Uint8Array(4 * (MOD_ADD_CHUNK_WORDS + 1)), 1))).toBe('INTERNAL');
    expect(codeOf(() => addModWords(new Int32Array(4), new Uint8Array(15), 1))).toBe('INTERNAL');
    expect(() => wipeModAdd(MOD_ADD_CHUNK_WORDS * 2)).not.toThrow();
  });
});
