import { describe, expect, it } from 'vitest';
import { concatBytes, equalBytes } from './bytes.ts';

describe('concatBytes', () => {
  it('joins the parts in order, empty parts included', () => {
    expect(Array.from(concatBytes([Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)]))).toEqual([1, 2, 3]);
    expect(concatBytes([]).length).toBe(0);
  });
});

describe('equalBytes', () => {
  it('is true for the same bytes only: any differing byte, another length or a missing array is false', () => {
    const a = Uint8Array.of(1, 2, 3, 4);
    expect(equalBytes(a, Uint8Array.of(1, 2, 3, 4))).toBe(true);
    for (let i = 0; i < a.length; i++) {
      const b = a.slice();
      b[i] = (b[i] as number) ^ 0x80;
      expect(equalBytes(a, b)).toBe(false);
    }
    expect(equalBytes(a, a.subarray(0, 3))).toBe(false);
    expect(equalBytes(a, undefined)).toBe(false);
    expect(equalBytes(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});
