import { describe, expect, it } from 'vitest';
import { hex, loadVectorFile } from '../crypto/vector-file.ts';
import { AES_POLYNOMIAL, GF256_GENERATOR, gfAdd, gfDiv, gfInv, gfMul } from './gf256.ts';
import { codeOf } from '../test-support.ts';

interface ProductVector {
  name: string;
  a: string;
  b: string;
  product: string;
}

const fips197 = loadVectorFile<ProductVector>('gf256-fips197.json');
const byte = (s: string): number => hex(s)[0] as number;

/** Shift-and-add multiplication, written from the definition (FIPS 197 §4.2), independent of the tables. */
function referenceMul(a: number, b: number): number {
  let product = 0;
  for (let bit = 0; bit < 8; bit++) {
    if ((b >> bit) & 1) product ^= a;
    a = a & 0x80 ? ((a << 1) ^ AES_POLYNOMIAL) & 0xff : a << 1;
  }
  return product;
}

describe('GF(2^8) known answers (FIPS 197 §4.2)', () => {
  it('has the six worked products', () => {
    expect(fips197.vectors).toHaveLength(6);
  });

  for (const v of fips197.vectors) {
    it(v.name, () => {
      expect(gfMul(byte(v.a), byte(v.b))).toBe(byte(v.product));
      expect(gfMul(byte(v.b), byte(v.a))).toBe(byte(v.product));
      expect(referenceMul(byte(v.a), byte(v.b))).toBe(byte(v.product));
    });
  }
});

describe('GF(2^8) arithmetic', () => {
  it('multiplication agrees with shift-and-add on all 65 536 pairs', () => {
    for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) if (gfMul(a, b) !== referenceMul(a, b)) expect([a, b, gfMul(a, b)]).toEqual([a, b, referenceMul(a, b)]);
  });

  it('{03} generates all 255 nonzero elements', () => {
    const seen = new Set<number>();
    for (let i = 0, x = 1; i < 255; i++, x = gfMul(x, GF256_GENERATOR)) seen.add(x);
    expect(seen.size).toBe(255);
    expect(seen.has(0)).toBe(false);
  });

  it('addition is XOR, with 0 as identity and every element its own negative', () => {
    expect(gfAdd(0x57, 0x83)).toBe(0xd4); // FIPS 197 §4.1
    for (let a = 0; a < 256; a++) {
      expect(gfAdd(a, 0)).toBe(a);
      expect(gfAdd(a, a)).toBe(0);
    }
  });

  it('inverts and divides', () => {
    expect(gfMul(0x53, gfInv(0x53))).toBe(1);
    expect(gfInv(0x53)).toBe(0xca);
    for (let a = 1; a < 256; a++) {
      expect(gfMul(a, gfInv(a))).toBe(1);
      for (let b = 1; b < 256; b++) if (gfDiv(gfMul(a, b), b) !== a) expect([a, b]).toBe('a·b/b = a');
    }
    for (let b = 1; b < 256; b++) expect(gfDiv(0, b)).toBe(0);
  });

  it('refuses to invert or divide by zero', () => {
    expect(codeOf(() => gfInv(0))).toBe('INTERNAL');
    expect(() => gfDiv(1, 0)).toThrow(/gfDiv: division by zero/);
  });
});
