import { describe, expect, it } from 'vitest';
import { FedwardenError, quantizationBits, quantize } from '@fedwarden/shared';
import { checkSumRange, honestSumRange } from './sum-range.ts';

/** Rounding randomness that always rounds down (0xffffffff) or always up (0). */
const rounding = (u: number) => (n: number) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) new DataView(out.buffer).setUint32(i, u, true);
  return out;
};

describe('honestSumRange', () => {
  it('hand-computed bounds at 8 bits (T = 255)', () => {
    // w = 1: [⌊0⌋ − 1 → 0, ⌈255⌉ + 1 → 255 (capped at T)]
    expect(honestSumRange([1], 8)).toEqual({ lo: 0, hi: 255 });
    // w = ½: (1 − ½)·255/2 = 63.75 → 63 − 1 = 62; (1 + ½)·255/2 = 191.25 → 192 + 1 = 193
    expect(honestSumRange([0.5], 8)).toEqual({ lo: 62, hi: 193 });
    // w = ¼: 95.625 → 94; 159.375 → 161
    expect(honestSumRange([0.25], 8)).toEqual({ lo: 94, hi: 161 });
    // The survivors' bounds add up.
    expect(honestSumRange([1, 0.5, 0.25], 8)).toEqual({ lo: 156, hi: 609 });
  });

  it('refuses weights outside (0, 1], bad bits, and members that could wrap', () => {
    for (const bad of [[0], [1.5], [Number.NaN], []]) expect(() => honestSumRange(bad, 8)).toThrow(FedwardenError);
    expect(() => honestSumRange([1], 33)).toThrow(FedwardenError);
    expect(() => honestSumRange([1, 1, 1], 31)).toThrow(/can wrap/);
    expect(honestSumRange([1, 1], 31).hi).toBe(2 * (2 ** 31 - 1));
  });

  it('contains every value quantize can produce, at the clip and beyond it, rounding either way', () => {
    for (const n of [2, 5, 16, 255]) {
      const bits = quantizationBits(n);
      for (const w of [1, 0.999, 0.5, 1 / 3, 0.01, 1e-6]) {
        const { lo, hi } = honestSumRange([w], bits);
        for (const clip of [1, 0.1, 7.3]) {
          const values = Float32Array.of(-1e30, -clip, -clip / 2, 0, clip / 3, clip, 1e30);
          for (const u of [0, 0xffffffff]) {
            for (const q of quantize(values, w, clip, bits, rounding(u)).q) {
              expect(q).toBeGreaterThanOrEqual(lo);
              expect(q).toBeLessThanOrEqual(hi);
            }
          }
        }
      }
    }
  });
});

describe('checkSumRange', () => {
  it('accepts sums on the bounds and names the coordinates outside them', () => {
    const range = honestSumRange([1, 0.5, 0.25], 8); // [156, 609]
    expect(checkSumRange(Uint32Array.of(156, 609, 400), range)).toEqual({ ok: true });
    const verdict = checkSumRange(Uint32Array.of(156, 609, 155, 610, 2 ** 32 - 1, 300), range);
    expect(verdict).toMatchObject({ ok: false, outside: 3, coordinate: 2, value: 155 });
    expect(!verdict.ok && verdict.reason).toMatch(/^sum outside the honest range \[156, 609\] in 3 of 6 coordinates \(first: coordinate 2 = 155\)/);
  });

  it('rejects a sum that one member wrapped around by adding 2^31 to its input', () => {
    const bits = quantizationBits(5);
    const honest = [0.2, -0.1, 0.05, 0, 0.3].map((v) => quantize(Float32Array.of(v, -v), 1, 1, bits, rounding(0)).q);
    const sum = new Uint32Array(2);
    for (const q of honest) for (let k = 0; k < 2; k++) sum[k] = ((sum[k] as number) + (q[k] as number)) >>> 0;
    const range = honestSumRange([1, 1, 1, 1, 1], bits);
    expect(checkSumRange(sum, range).ok).toBe(true);
    for (let k = 0; k < 2; k++) sum[k] = ((sum[k] as number) + 2 ** 31) >>> 0;
    expect(checkSumRange(sum, range)).toMatchObject({ ok: false, outside: 2 });
  });
});
