import { describe, expect, it } from 'vitest';
import { dequantizeSum, quantizationBits, quantize } from './quantize.ts';
import { seededBytes } from '../rng.ts';
import { codeOf } from '../test-support.ts';

/** Rounding randomness that gives coordinate i the little-endian u32 us[i]. */
function uniforms(...us: number[]): (n: number) => Uint8Array {
  return (n) => {
    expect(n).toBe(4 * us.length);
    const out = new Uint8Array(n);
    const view = new DataView(out.buffer);
    us.forEach((u, i) => view.setUint32(4 * i, u, true));
    return out;
  };
}

/** Σ of quantized vectors mod 2^32, as the coordinator sees it after unmasking. */
function sumMod32(vectors: Uint32Array[]): Uint32Array {
  const sum = new Uint32Array((vectors[0] as Uint32Array).length);
  for (const v of vectors) for (let i = 0; i < sum.length; i++) sum[i] = ((sum[i] as number) + (v[i] as number)) >>> 0;
  return sum;
}

describe('quantizationBits', () => {
  it('is 32 − ⌈log2 n⌉', () => {
    const cases: [number, number][] = [[1, 32], [2, 31], [3, 30], [4, 30], [5, 29], [8, 29], [9, 28], [16, 28], [17, 27], [128, 25], [129, 24], [255, 24]];
    for (const [n, bits] of cases) expect([n, quantizationBits(n)]).toEqual([n, bits]);
  });

  it('leaves room for n values of 2^b − 1 below 2^32', () => {
    for (let n = 1; n <= 255; n++) {
      const bits = quantizationBits(n);
      expect(n * (2 ** bits - 1)).toBeLessThan(2 ** 32);
      if (bits < 32) expect(n * (2 ** (bits + 1) - 1)).toBeGreaterThanOrEqual(2 ** 32); // and one more bit would wrap
    }
  });

  it('rejects group sizes outside 1..255', () => {
    for (const n of [0, 256, 1.5, Number.NaN]) expect(codeOf(() => quantizationBits(n))).toBe('BAD_CONFIG');
  });
});

describe('quantize', () => {
  it('hand-computed cases: 2 bits over [−1, 1], steps of 2/3', () => {
    // y = −1 → 0; y = 1 → 3; y = 0 → 1.5; y = 0.5 → 2.25; y = 2 and −3 are clipped to 3 and 0.
    const values = Float32Array.of(-1, 1, 0, 0.5, 2, -3);
    const down = quantize(values, 1, 1, 2, uniforms(0, 0, 0x80000000, 0x40000000, 0, 0));
    expect([...down.q]).toEqual([0, 3, 1, 2, 3, 0]);
    expect(down.clipped).toBe(2);
    const up = quantize(values, 1, 1, 2, uniforms(0xffffffff, 0, 0x7fffffff, 0x3fffffff, 0, 0xffffffff));
    expect([...up.q]).toEqual([0, 3, 2, 3, 3, 0]);
  });

  it('clips before it scales by the weight, so a weight bounds its member', () => {
    const values = Float32Array.of(0.5, -0.75, 3, 0.1, -40);
    const halved = Float32Array.of(0.25, -0.375, 0.5, 0.05, -0.5); // clip(v)·0.5, exact in float32
    const a = quantize(values, 0.5, 1, 12, seededBytes(3));
    const b = quantize(halved, 1, 1, 12, seededBytes(3));
    expect(a.q).toEqual(b.q);
    expect(a.clipped).toBe(2); // 3 and −40 exceed 1
    // 2 bits over [−1, 1], weight ½: y = ½·clip(v) ∈ [−½, ½] → q ∈ [0.75, 2.25], so 1 or 2 whatever the input.
    const q = quantize(Float32Array.of(-1e30, 1e30, -1, 1), 0.5, 1, 2, uniforms(0, 0xffffffff, 0, 0xffffffff)).q;
    expect([...q]).toEqual([1, 2, 1, 2]);
  });

  it('is unbiased: E[q] is the exact scaled value', () => {
    // (0.3 + 1)·15/2 = 9.75 with float32 0.3; 20 000 draws of Bernoulli(0.75) have standard error 0.0031.
    const v = Math.fround(0.3);
    const exact = ((v + 1) * 15) / 2;
    for (const random of [seededBytes(11), undefined]) {
      const { q } = quantize(new Float32Array(20_000).fill(v), 1, 1, 4, random);
      const mean = q.reduce((s, x) => s + x, 0) / q.length;
      expect(Math.abs(mean - exact)).toBeLessThan(0.02);
      expect(new Set(q)).toEqual(new Set([9, 10]));
    }
  });

  it('draws rounding randomness 4 bytes per coordinate, in bounded chunks', () => {
    const requests: number[] = [];
    const random = seededBytes(5);
    quantize(new Float32Array(40_000), 1, 1, 8, (n) => (requests.push(n), random(n)));
    expect(requests.reduce((a, b) => a + b, 0)).toBe(4 * 40_000);
    expect(Math.max(...requests)).toBeLessThanOrEqual(64 * 1024);
  });

  it('rejects bad parameters (BAD_CONFIG) and non-finite values (BAD_UPDATE)', () => {
    const v = Float32Array.of(0.5);
    for (const w of [0, -0.5, 1.01, Number.NaN]) expect(codeOf(() => quantize(v, w, 1, 8))).toBe('BAD_CONFIG');
    for (const c of [0, -1, Number.POSITIVE_INFINITY]) expect(codeOf(() => quantize(v, 1, c, 8))).toBe('BAD_CONFIG');
    for (const b of [0, 33, 8.5]) expect(codeOf(() => quantize(v, 1, 1, b))).toBe('BAD_CONFIG');
    for (const x of [Number.NaN, Number.POSITIVE_INFINITY]) expect(codeOf(() => quantize(Float32Array.of(0, x), 1, 1, 8))).toBe('BAD_UPDATE');
    expect(() => quantize(v, 1, 1, 8, () => new Uint8Array(3))).toThrow(/quantize: random returned the wrong number of bytes/);
  });
});

describe('dequantizeSum', () => {
  it('hand-computed: 2 bits over [−1, 1], two inputs', () => {
    // sum·(2/3) − 2: 0 → −2, 3 → 0, 6 → 2, 4 → 2/3.
    expect([...dequantizeSum(Uint32Array.of(0, 3, 6, 4), 2, 1, 2)]).toEqual([-2, 0, 2, Math.fround(2 / 3)]);
  });

  it('recovers Σ y within count steps of 2c/(2^b − 1) per coordinate (plus float32 rounding)', () => {
    const random = seededBytes(21);
    for (const [count, bits, clip] of [[5, 6, 0.5], [5, quantizationBits(5), 0.5], [255, quantizationBits(255), 2]] as const) {
      const inputs = Array.from({ length: count }, () => Float32Array.from(random(64), (b) => ((b / 255) * 3 - 1.5) * clip));
      const exact = new Float64Array(64);
      for (const x of inputs) x.forEach((v, i) => (exact[i] = (exact[i] as number) + Math.max(-clip, Math.min(clip, v))));
      const sum = sumMod32(inputs.map((x) => quantize(x, 1, clip, bits, random).q));
      const got = dequantizeSum(sum, count, clip, bits);
      const bound = (count * 2 * clip) / (2 ** bits - 1);
      got.forEach((g, i) => {
        const e = exact[i] as number;
        expect(Math.abs(g - e)).toBeLessThanOrEqual(bound + Math.abs(e) * 2 ** -23 + 2 ** -126);
      });
    }
  });

  it('never wraps: 255 members all at +clip (and beyond) sum to 255·(2^24 − 1) < 2^32', () => {
    const bits = quantizationBits(255);
    const members = Array.from({ length: 255 }, (_, i) => quantize(Float32Array.of(3, i % 2 ? 3 : 1e30), 1, 3, bits));
    const sum = sumMod32(members.map((m) => m.q));
    expect([...sum]).toEqual([255 * (2 ** 24 - 1), 255 * (2 ** 24 - 1)]);
    expect([...dequantizeSum(sum, 255, 3, bits)]).toEqual([765, 765]);
    expect(members.reduce((s, m) => s + m.clipped, 0)).toBe(128); // the 1e30 of every even member
  });

  it('rejects counts that could have wrapped, and bad parameters', () => {
    const sum = new Uint32Array(1);
    expect(codeOf(() => dequantizeSum(sum, 257, 1, 24))).toBe('BAD_CONFIG'); // 257·(2^24 − 1) ≥ 2^32
    expect(codeOf(() => dequantizeSum(sum, 256, 1, 24))).toBeUndefined();
    expect(codeOf(() => dequantizeSum(sum, 2, 1, 32))).toBe('BAD_CONFIG');
    expect(codeOf(() => dequantizeSum(sum, 0, 1, 24))).toBe('BAD_CONFIG');
    expect(codeOf(() => dequantizeSum(sum, 1, 0, 24))).toBe('BAD_CONFIG');
    expect(codeOf(() => dequantizeSum(sum, 1, 1, 33))).toBe('BAD_CONFIG');
  });
});
