import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MOD_ADD_CHUNK_WORDS, MOD_ADD_SIMD, addModVectors, addModWords, addModWordsAll, addModWordsScalar, wipeModAdd } from './mod-add.ts';
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

describe('addModVectors', () => {
  const words = (n: number): Uint32Array => new Uint32Array(randomBytes(4 * n).buffer.slice(0, 4 * n));

  it('adds and subtracts whole word vectors mod 2^32, like BigInt arithmetic, across chunk boundaries', () => {
    for (const n of [0, 1, 15, 16, 17, MOD_ADD_CHUNK_WORDS - 1, MOD_ADD_CHUNK_WORDS, 2 * MOD_ADD_CHUNK_WORDS + 5]) {
      for (const sign of [1, -1] as const) {
        const t = words(n);
        t.set(EDGES.slice(0, Math.min(n, EDGES.length)));
        const ops = [words(n), words(n), Uint32Array.from({ length: n }, (_, i) => EDGES[i % EDGES.length] as number)];
        const expected = Uint32Array.from(t, (x, i) => Number(BigInt.asUintN(32, ops.reduce((acc, y) => acc + BigInt(sign) * BigInt(y[i] as number), BigInt(x)))));
        const got = t.slice();
        addModVectors(got, ops, sign);
        expect(got).toEqual(expected);
      }
    }
  });

  it('reads vectors at any word offset into a shared buffer, and leaves the operands alone', () => {
    const backing = words(3 * 1000 + 1);
    const a = backing.subarray(1, 1001);
    const b = backing.subarray(1001, 2001);
    const before = backing.slice();
    const t = new Uint32Array(1000);
    addModVectors(t, [a, b], 1);
    expect(t).toEqual(Uint32Array.from(a, (x, i) => (x + (b[i] as number)) >>> 0));
    expect(backing).toEqual(before);
  });

  it('checks that every operand has the target\'s length', () => {
    expect(codeOf(() => addModVectors(new Uint32Array(4), [new Uint32Array(3)], 1))).toBe('INTERNAL');
    expect(codeOf(() => addModVectors(new Uint32Array(4), [new Int32Array(4) as unknown as Uint32Array], 1))).toBe('INTERNAL');
  });
});

describe('addModWordsAll', () => {
  it('equals addModWords of each operand in turn, and writes the target only when all are in', () => {
    for (const n of [0, 1, 17, MOD_ADD_CHUNK_WORDS]) {
      const { t } = operands(n);
      const ops = [operands(n).k, operands(n).k, operands(n).k].map((k, i) => [k, (i === 1 ? -1 : 1) as 1 | -1] as const);
      const one = t.slice();
      for (const [k, sign] of ops) addModWords(one, k, sign);
      const all = t.slice();
      addModWordsAll(all, ops);
      expect(all).toEqual(one);
    }
    const { t, k } = operands(8);
    const before = t.slice();
    expect(codeOf(() => addModWordsAll(t, [[k, 1], [k.subarray(4), 1]]))).toBe('INTERNAL');
    expect(t).toEqual(before);
    expect(codeOf(() => addModWordsAll(new Int32Array(MOD_ADD_CHUNK_WORDS + 1), []))).toBe('INTERNAL');
  });
});
