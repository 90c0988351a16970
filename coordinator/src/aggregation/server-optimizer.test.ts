import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SERVER_LEARNING_RATE,
  initialServerOptimizerState,
  resolveServerOptimizer,
  resumableServerOptimizer,
  serverOptimizerStep,
  type ServerOptimizerKind,
  type ServerOptimizerSettings,
} from './server-optimizer.ts';

const settings = (kind: ServerOptimizerKind, learningRate = 0.1): ServerOptimizerSettings => ({ kind, learningRate, momentum: 0.9, beta2: 0.99, tau: 1e-3 });

function run(s: ServerOptimizerSettings, deltas: number[][], start = [0, 0]): number[] {
  let state = initialServerOptimizerState(s.kind, start.length, s.tau);
  let x: Float32Array = Float32Array.from(start);
  for (const d of deltas) {
    const out = serverOptimizerStep(s, state, x, Float32Array.from(d));
    x = out.next;
    state = out.state;
  }
  return [...x];
}

describe('server optimizers', () => {
  it('none adds the aggregate, whatever the learning rate', () => {
    expect(run(settings('none', 0.01), [[1, -2], [0.5, 0.5]], [1, 1])).toEqual([2.5, -0.5]);
  });

  it('fedavgm accumulates momentum: m = β·m + Δ, x += η·m', () => {
    // m1 = 1 → x = 0.1; m2 = 0.9 + 1 = 1.9 → x = 0.1 + 0.19 = 0.29
    const [x] = run(settings('fedavgm'), [[1, 0], [1, 0]]);
    expect(x).toBeCloseTo(0.29, 6);
  });

  it('fedavgm with β = 0 and η = 1 is plain FedAvg', () => {
    const s = { ...settings('fedavgm', 1), momentum: 0 };
    expect(run(s, [[1, -2], [0.5, 0.5]], [1, 1])).toEqual(run(settings('none'), [[1, -2], [0.5, 0.5]], [1, 1]));
  });

  it('fedadam matches Reddi et al. Algorithm 2 by hand', () => {
    // Step 1, Δ = 0.5: m = 0.05, v = 0.99·1e-6 + 0.01·0.25, x = 0.1·m/(√v + τ).
    const m1 = 0.1 * 0.5;
    const v1 = 0.99 * 1e-6 + 0.01 * 0.25;
    const x1 = (0.1 * m1) / (Math.sqrt(v1) + 1e-3);
    // Step 2, Δ = −0.2.
    const m2 = 0.9 * m1 + 0.1 * -0.2;
    const v2 = 0.99 * v1 + 0.01 * 0.04;
    const x2 = x1 + (0.1 * m2) / (Math.sqrt(v2) + 1e-3);
    const [x] = run(settings('fedadam'), [[0.5, 0], [-0.2, 0]]);
    expect(x).toBeCloseTo(x2, 6);
  });

  it('fedyogi moves v additively by the sign of v − Δ², fedadam multiplicatively', () => {
    const s = settings('fedyogi');
    const state = initialServerOptimizerState('fedyogi', 1, s.tau);
    const { state: after } = serverOptimizerStep(s, state, new Float32Array(1), Float32Array.of(0.5));
    // v0 = τ² < Δ² → v1 = v0 + (1 − β₂)·Δ²
    expect(after.v?.[0]).toBeCloseTo(1e-6 + 0.01 * 0.25, 9);
    // Δ = 0 afterwards: Yogi leaves v where it is, Adam shrinks it by β₂.
    const yogi = serverOptimizerStep(s, after, new Float32Array(1), Float32Array.of(0)).state.v?.[0] as number;
    const adam = serverOptimizerStep({ ...s, kind: 'fedadam' }, { ...after, kind: 'fedadam' }, new Float32Array(1), Float32Array.of(0)).state.v?.[0] as number;
    expect(yogi).toBeCloseTo(after.v?.[0] as number, 9);
    expect(adam).toBeCloseTo(0.99 * (after.v?.[0] as number), 9);
  });

  it('adaptive steps are about η per coordinate for aggregates well above τ, and damped by τ below it', () => {
    const large = run(settings('fedadam', 0.01), [[10, 1e-5]]);
    expect(large[0]).toBeCloseTo(0.01, 4);
    // Δ ≪ τ: v stays near its start τ², so m/(√v + τ) ≈ (1 − β₁)·Δ/2τ: a coordinate that hardly moved is not blown up to η.
    expect((large[1] as number) / ((0.01 * 0.1 * 1e-5) / 2e-3)).toBeCloseTo(1, 2);
  });

  it('leaves its inputs alone, so a caller commits the state only once the round is stored', () => {
    const s = settings('fedadam');
    const state = initialServerOptimizerState('fedadam', 2, s.tau);
    const global = Float32Array.of(1, 2);
    serverOptimizerStep(s, state, global, Float32Array.of(3, 4));
    expect([...global]).toEqual([1, 2]);
    expect([...(state.m as Float32Array)]).toEqual([0, 0]);
    expect(state.steps).toBe(0);
  });

  it('refuses a state of another kind or length', () => {
    const s = settings('fedadam');
    expect(() => serverOptimizerStep(s, initialServerOptimizerState('fedavgm', 2, s.tau), new Float32Array(2), new Float32Array(2))).toThrow(/state is fedavgm/);
    expect(() => serverOptimizerStep(s, initialServerOptimizerState('fedadam', 3, s.tau), new Float32Array(2), new Float32Array(2))).toThrow(/m has 3 values/);
    expect(() => serverOptimizerStep(s, initialServerOptimizerState('fedadam', 2, s.tau), new Float32Array(2), new Float32Array(3))).toThrow(/step has 3 values/);
  });

  it('fills the learning rate from the kind when none is given', () => {
    expect(resolveServerOptimizer({ kind: 'fedadam', momentum: 0.9, beta2: 0.99, tau: 1e-3 }).learningRate).toBe(DEFAULT_SERVER_LEARNING_RATE.fedadam);
    expect(resolveServerOptimizer({ kind: 'fedadam', learningRate: 0.5, momentum: 0.9, beta2: 0.99, tau: 1e-3 }).learningRate).toBe(0.5);
  });

  it('continues a stored state only when kind, round and length match the resumed checkpoint', () => {
    const state = initialServerOptimizerState('fedadam', 4, 1e-3);
    const stored = { round: 3, state };
    expect(resumableServerOptimizer('fedadam', stored, 3, 4)).toEqual({ state });
    expect(resumableServerOptimizer('fedyogi', stored, 3, 4).why).toMatch(/stored state is fedadam, the configuration says fedyogi/);
    expect(resumableServerOptimizer('fedadam', stored, 4, 4).why).toMatch(/of round 3, the checkpoint of round 4/);
    expect(resumableServerOptimizer('fedadam', stored, 3, 5).why).toMatch(/has 4 values, the adapter 5/);
    expect(resumableServerOptimizer('fedadam', undefined, 2, 4).why).toMatch(/no stored state/);
    expect(resumableServerOptimizer('fedadam', undefined, 0, 4)).toEqual({});
    expect(resumableServerOptimizer('none', undefined, 7, 4)).toEqual({});
  });
});
