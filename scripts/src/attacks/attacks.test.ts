import { describe, expect, it } from 'vitest';
import type { LabeledData } from '@fedwarden/client';
import { cosine, createRng, l2Norm, normal } from '@fedwarden/shared';
import type { Attack, AttackContext } from './attack.ts';
import { alie, alieZMax } from './alie.ts';
import { freeRider } from './free-rider.ts';
import { gaussianNoise } from './gaussian-noise.ts';
import { ipm } from './ipm.ts';
import { flipLabels, labelFlip } from './label-flip.ts';
import { onOff } from './on-off.ts';
import { isPoisoned } from './poisoned-data.ts';
import { scaling } from './scaling.ts';
import { signFlip } from './sign-flip.ts';
import { sybil } from './sybil.ts';

/**
 * Three hand-made benign deltas with easy statistics:
 *   mean μ = [2, 2, 1]; sample standard deviation (divisor 2) σ = [1, 2, 2]
 *   (coordinate 0: deviations −1, 1, 0 → √(2/2) = 1; coordinates 1 and 2: −2, 0, 2 in some order → √(8/2) = 2).
 */
const B1 = Float32Array.of(1, 2, -1);
const B2 = Float32Array.of(3, 0, 1);
const B3 = Float32Array.of(2, 4, 3);

function context(overrides: Partial<AttackContext> = {}): AttackContext {
  return {
    round: 1,
    global: new Float32Array(3),
    benign: [B1, B2, B3],
    numParticipants: 50,
    numByzantine: 10,
    rng: createRng(7),
    ...overrides,
  };
}

const rows = (deltas: Float32Array[]) => deltas.map((d) => Array.from(d));

function expectRowsClose(actual: Float32Array[], expected: number[][]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((row, i) => {
    const want = expected[i] as number[];
    expect(row).toHaveLength(want.length);
    want.forEach((w, j) => expect(row[j]).toBeCloseTo(w, 5));
  });
}

const DATA: LabeledData = { inputs: Float32Array.of(0.1, 0.2, 0.3, 0.4), labels: Int32Array.of(0, 1, 2, 9), count: 4, inputDim: 1, numClasses: 10 };

describe('label flip', () => {
  it('maps y → C − 1 − y and shares the inputs', () => {
    const poisoned = labelFlip().poisonData!(DATA);
    expect(Array.from(poisoned.labels)).toEqual([9, 8, 7, 0]);
    expect(poisoned.inputs).toBe(DATA.inputs);
    expect(Array.from(DATA.labels)).toEqual([0, 1, 2, 9]); // the honest data is untouched
  });

  it('flips only source → target in the targeted variant', () => {
    expect(Array.from(flipLabels(DATA, { source: 1, target: 7 }).labels)).toEqual([0, 7, 2, 9]);
    expect(() => flipLabels(DATA, { source: 1, target: 10 })).toThrow(/target/);
    expect(() => labelFlip({ source: 1 })).toThrow(/both/);
  });

  it('never poisons twice (a second flip would restore the labels)', () => {
    const attack = labelFlip();
    const once = attack.poisonData!(DATA);
    expect(isPoisoned(once)).toBe(true);
    expect(attack.poisonData!(once)).toBe(once);
  });

  it('sends the honest deltas it trained', () => {
    expect(rows(labelFlip().craft(context()))).toEqual(rows([B1, B2, B3]));
  });
});

describe('sign flip', () => {
  it('sends −s·δ, s = 4 by default', () => {
    expect(rows(signFlip().craft(context()))).toEqual([[-4, -8, 4], [-12, -0, -4], [-8, -16, -12]]);
    expect(rows(signFlip({ scale: 1 }).craft(context()))).toEqual([[-1, -2, 1], [-3, -0, -1], [-2, -4, -3]]);
    expect(() => signFlip({ scale: -1 })).toThrow(/scale/);
  });
});

describe('gaussian noise', () => {
  // 10,000 coordinates of 0.01: every benign norm is exactly 1.
  const d = 10_000;
  const flat = new Float32Array(d).fill(0.01);
  const big = (rng = createRng(3)) => context({ global: new Float32Array(d), benign: [flat, flat], rng });

  it('draws noise whose norm is normRatio × the mean benign norm, independently per participant', () => {
    const [a, b] = gaussianNoise().craft(big()) as [Float32Array, Float32Array];
    // ‖x‖ for x ~ N(0, σ²I_d) concentrates at σ√d = 10 with standard deviation ≈ σ/√2 = 0.07.
    expect(l2Norm(a)).toBeGreaterThan(9.6);
    expect(l2Norm(a)).toBeLessThan(10.4);
    expect(Math.abs(a.reduce((s, x) => s + x, 0) / d)).toBeLessThan(0.01); // mean ≈ 0 (sd 0.001)
    expect(Array.from(a)).not.toEqual(Array.from(b));
    expect(rows(gaussianNoise().craft(big()))).toEqual(rows([a, b])); // same seed, same noise
  });

  it('honours an absolute σ', () => {
    const [a] = gaussianNoise({ sigma: 2 }).craft(big()) as [Float32Array];
    expect(l2Norm(a) / Math.sqrt(d)).toBeGreaterThan(1.9);
    expect(l2Norm(a) / Math.sqrt(d)).toBeLessThan(2.1);
  });
});

describe('scaling (model replacement)', () => {
  it('boosts the base attack by λ = n/f by default, and poisons like the base', () => {
    // n/f = 50/10 = 5; the default base (label flip) sends the honest deltas.
    expect(rows(scaling().craft(context()))).toEqual(rows([B1, B2, B3].map((b) => b.map((x) => 5 * x))));
    expect(Array.from(scaling().poisonData!(DATA).labels)).toEqual([9, 8, 7, 0]);
  });

  it('takes a fixed λ and any base attack', () => {
    const attack = scaling({ lambda: 2, base: signFlip({ scale: 1 }) });
    expect(rows(attack.craft(context()))).toEqual([[-2, -4, 2], [-6, -0, -2], [-4, -8, -6]]);
    expect(attack.poisonData).toBeUndefined();
  });
});

describe('ALIE', () => {
  it('computes z_max = Φ⁻¹((n − s)/n), s = ⌊n/2 + 1⌋ − f, as in the paper', () => {
    // n = 50, f = 10: s = 26 − 10 = 16, Φ⁻¹(34/50 = 0.68) = 0.46770.
    expect(alieZMax(50, 10)).toBeCloseTo(0.4677, 4);
    // n = 20, f = 4: s = 7, Φ⁻¹(13/20 = 0.65) = 0.38532.
    expect(alieZMax(20, 4)).toBeCloseTo(0.3853, 4);
    // n = 10, f = 5: s = 1, Φ⁻¹(0.9) = 1.28155.
    expect(alieZMax(10, 5)).toBeCloseTo(1.2816, 4);
    // n = 50, f = 1: s = 25, Φ⁻¹(0.5) = 0: too few attackers to shift at all.
    expect(alieZMax(50, 1)).toBeCloseTo(0, 10);
    expect(() => alieZMax(10, 6)).toThrow(/majority/);
  });

  it('sends μ − z·σ of the Byzantine deltas, identical for all, within μ ± z·σ', () => {
    const z = alieZMax(50, 10);
    const out = alie().craft(context());
    const expected = [2 - z * 1, 2 - z * 2, 1 - z * 2];
    expectRowsClose(out, [expected, expected, expected]);
    const mu = [2, 2, 1];
    const sigma = [1, 2, 2];
    for (const row of out) row.forEach((x, j) => expect(Math.abs(x - (mu[j] as number))).toBeLessThanOrEqual(z * (sigma[j] as number) + 1e-6));
    expect(rows(alie({ z: 1 }).craft(context()))).toEqual([[1, 0, -1], [1, 0, -1], [1, 0, -1]]);
  });

  it('degenerates to the honest delta with a single Byzantine participant (σ = 0)', () => {
    expect(rows(alie().craft(context({ benign: [B2] })))).toEqual([[3, 0, 1]]);
  });
});

describe('IPM', () => {
  it('sends −ε·mean, ε = 0.5 by default', () => {
    expect(rows(ipm().craft(context()))).toEqual([[-1, -1, -0.5], [-1, -1, -0.5], [-1, -1, -0.5]]);
    expectRowsClose(ipm({ epsilon: 0.1 }).craft(context()), [[-0.2, -0.2, -0.1], [-0.2, -0.2, -0.1], [-0.2, -0.2, -0.1]]);
  });
});

describe('Sybils', () => {
  it('send one identical vector with the mean benign norm, in a direction fixed across rounds', () => {
    const attack = sybil();
    const first = attack.craft(context());
    const [a, b, c] = first as [Float32Array, Float32Array, Float32Array];
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).toEqual(Array.from(a));
    const meanNorm = (Math.sqrt(6) + Math.sqrt(10) + Math.sqrt(29)) / 3; // ‖B1‖, ‖B2‖, ‖B3‖
    expect(l2Norm(a)).toBeCloseTo(meanNorm, 5);

    // Next round, other deltas (norm 1 each) and another rng: same direction, new length.
    const [later] = attack.craft(context({ round: 2, benign: [Float32Array.of(1, 0, 0)], rng: createRng(99) })) as [Float32Array];
    expect(l2Norm(later)).toBeCloseTo(1, 5);
    later.forEach((x, j) => expect(x).toBeCloseTo((a[j] as number) / meanNorm, 5));
  });

  it('send −scale·mean in negated-mean mode', () => {
    expect(rows(sybil({ mode: 'negated-mean', scale: 2 }).craft(context()))).toEqual([[-4, -4, -2], [-4, -4, -2], [-4, -4, -2]]);
  });

  it('add independent noise of `noise` × the shared vector\'s norm, so that pairs have a cosine near 1/(1 + noise²)', () => {
    // d = 4,000 so that norms and cosines are close to their expectations (relative error ≈ 1/√d ≈ 0.016).
    const d = 4000;
    const benign = Array.from({ length: 4 }, (_, i) => Float32Array.from({ length: d }, (_, j) => ((i + j) % 7) - 3));
    const ctx = () => context({ global: new Float32Array(d), benign, rng: createRng(7) });
    const p = sybil().craft(ctx())[0] as Float32Array; // same seed, same direction: the shared vector without noise
    const [a, b, c] = sybil({ noise: 0.5 }).craft(ctx()) as [Float32Array, Float32Array, Float32Array];
    const diff = Float32Array.from(a, (x, j) => x - (p[j] as number));
    expect(l2Norm(diff) / l2Norm(p)).toBeCloseTo(0.5, 1);
    expect(cosine(a, b)).toBeCloseTo(1 / (1 + 0.25), 1);
    expect(cosine(b, c)).toBeCloseTo(0.8, 1);
    // the mean of the identities keeps the shared vector: noise averages out
    const mean = Float32Array.from(a, (x, j) => (x + (b[j] as number) + (c[j] as number)) / 3);
    expect(cosine(mean, p)).toBeGreaterThan(0.93); // 1/√(1 + 0.25/3) ≈ 0.96
  });

  it('jitter each identity\'s norm by its own factor in [1 − normJitter, 1 + normJitter], direction unchanged', () => {
    const out = sybil({ normJitter: 0.2 }).craft(context());
    const p = sybil().craft(context())[0] as Float32Array; // context() brings a fresh rng: the same direction
    const factors = out.map((x) => l2Norm(x) / l2Norm(p));
    for (const f of factors) expect(Math.abs(f - 1)).toBeLessThanOrEqual(0.2 + 1e-6);
    expect(new Set(factors.map((f) => f.toFixed(6))).size).toBe(3);
    for (const x of out) expect(cosine(x, p)).toBeCloseTo(1, 6);
  });

  it('with the defaults, draw nothing beyond the direction, and refuse bad noise and jitter', () => {
    // The direction takes one normal per coordinate (three here); the copies take nothing more.
    const rng = createRng(7);
    sybil({ noise: 0, normJitter: 0 }).craft(context({ rng }));
    const manual = createRng(7);
    for (let j = 0; j < 3; j++) normal(manual);
    expect(rng.next()).toBe(manual.next());
    expect(() => sybil({ noise: -0.1 })).toThrow(/noise must be a finite number/);
    expect(() => sybil({ normJitter: 1 })).toThrow(/normJitter must be below 1/);
    expect(() => sybil({ normJitter: 2 })).toThrow(/normJitter must be a finite number in \[0, 1\]/);
    expect(sybil({ noise: 0.3 }).description).toMatch(/independent noise 0.3$/);
  });
});

describe('free rider', () => {
  it('sends zeros', () => {
    expect(rows(freeRider().craft(context()))).toEqual([[0, 0, 0], [0, 0, 0], [0, 0, 0]]);
  });
});

describe('on-off', () => {
  it('is honest for honestRounds rounds, then delegates (sign flip by default)', () => {
    const attack = onOff({ honestRounds: 2 });
    expect(rows(attack.craft(context({ round: 1 })))).toEqual(rows([B1, B2, B3]));
    expect(rows(attack.craft(context({ round: 2 })))).toEqual(rows([B1, B2, B3]));
    expect(rows(attack.craft(context({ round: 3 })))).toEqual([[-4, -8, 4], [-12, -0, -4], [-8, -16, -12]]);
    expect(onOff().description).toMatch(/10 rounds/);
  });

  it("poisons only from the switch on, and not at all when called without a round", () => {
    const attack: Attack = onOff({ honestRounds: 2, then: labelFlip() });
    expect(attack.poisonData!(DATA, 2)).toBe(DATA);
    expect(attack.poisonData!(DATA)).toBe(DATA);
    expect(Array.from(attack.poisonData!(DATA, 3).labels)).toEqual([9, 8, 7, 0]);
  });
});

describe('input checks', () => {
  it('reject an empty round or deltas of the wrong length, naming the attack', () => {
    expect(() => ipm().craft(context({ benign: [] }))).toThrow(/ipm: no benign deltas/);
    expect(() => signFlip().craft(context({ benign: [Float32Array.of(1, 2)] }))).toThrow(/signFlip: delta length 2 != adapter length 3/);
  });
});
