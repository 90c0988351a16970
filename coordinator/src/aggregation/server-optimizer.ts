/**
 * Server optimizers (Reddi et al., "Adaptive Federated Optimization", ICLR 2021, arXiv:2003.00295, Algorithm 2):
 * the round's aggregate Δ — whatever the strategy made of the units, robust or not — is a pseudo-gradient
 * (the direction the participants moved, so the server *adds* it), and the server takes an optimizer step along
 * it instead of adding it as it is:
 *
 *   none      x ← x + Δ                                      (FedAvg: the aggregate is the step)
 *   fedavgm   m ← β₁·m + Δ;               x ← x + η·m          (Hsu et al. 2019, arXiv:1909.06335)
 *   fedadam   m ← β₁·m + (1−β₁)·Δ;  v ← β₂·v + (1−β₂)·Δ²;                x ← x + η·m / (√v + τ)
 *   fedyogi   m as fedadam;         v ← v − (1−β₂)·Δ²·sign(v − Δ²);      x ← x + η·m / (√v + τ)
 *
 * As in the paper there is no bias correction and v starts at τ² (the paper's v₋₁ ≥ τ²); τ bounds the step of a
 * coordinate whose Δ has been tiny (η/τ·|m|, not unbounded). Robustness is not weakened: Δ is the robust
 * strategy's output, so a rejected unit has no way into m or v, and clipping bounds what one round adds to m.
 * Adaptive optimizers do amplify a small consistent direction, which is what a slow poisoning needs; the
 * robust pipeline's per-round verdicts are what stops one.
 *
 * Pure: the state goes in and comes out (the coordinator stores it with the round's checkpoint, so a restarted
 * coordinator continues the same trajectory). Computed in float64 per coordinate, stored as float32.
 */
import { FedwardenError } from '@fedwarden/shared';

export const SERVER_OPTIMIZERS = ['none', 'fedavgm', 'fedadam', 'fedyogi'] as const;
export type ServerOptimizerKind = (typeof SERVER_OPTIMIZERS)[number];

export interface ServerOptimizerSettings {
  readonly kind: ServerOptimizerKind;
  /** η, the server learning rate. Ignored by 'none'. */
  readonly learningRate: number;
  /** β₁: momentum (fedavgm) or first-moment decay (fedadam, fedyogi). */
  readonly momentum: number;
  /** β₂: second-moment decay (fedadam, fedyogi). */
  readonly beta2: number;
  /** τ: adaptivity floor (fedadam, fedyogi). */
  readonly tau: number;
}

/** η when the configuration gives none, per kind (measured on the MNIST task: docs/convergence.md). */
export const DEFAULT_SERVER_LEARNING_RATE: Readonly<Record<ServerOptimizerKind, number>> = {
  none: 1,
  fedavgm: 1,
  fedadam: 0.01,
  fedyogi: 0.01,
};

/** Settings with the learning rate filled in from the kind's default. */
export function resolveServerOptimizer(config: Omit<ServerOptimizerSettings, 'learningRate'> & { readonly learningRate?: number | undefined }): ServerOptimizerSettings {
  return { ...config, learningRate: config.learningRate ?? DEFAULT_SERVER_LEARNING_RATE[config.kind] };
}

/** The optimizer's memory between rounds; `m` and `v` are absent where the kind keeps none. */
export interface ServerOptimizerState {
  readonly kind: ServerOptimizerKind;
  /** Steps taken so far. */
  readonly steps: number;
  readonly m?: Float32Array;
  readonly v?: Float32Array;
}

export function initialServerOptimizerState(kind: ServerOptimizerKind, dim: number, tau: number): ServerOptimizerState {
  switch (kind) {
    case 'none':
      return { kind, steps: 0 };
    case 'fedavgm':
      return { kind, steps: 0, m: new Float32Array(dim) };
    case 'fedadam':
    case 'fedyogi':
      return { kind, steps: 0, m: new Float32Array(dim), v: new Float32Array(dim).fill(tau * tau) };
    default: {
      const unknown: never = kind;
      throw new RangeError(`unknown server optimizer ${String(unknown)}`);
    }
  }
}

/**
 * Whether a stored state can continue: it must be of the configured kind, stored after the round of the checkpoint
 * the coordinator resumes from, and of the adapter's length. Otherwise the optimizer starts fresh, and `why` says
 * why (for the log); a federation that never stored one starts fresh silently unless it has completed rounds
 * with an optimizer that keeps state.
 */
export function resumableServerOptimizer(
  kind: ServerOptimizerKind,
  stored: { readonly round: number; readonly state: ServerOptimizerState } | undefined,
  checkpointRound: number,
  dim: number,
): { state?: ServerOptimizerState; why?: string } {
  if (stored === undefined) return kind !== 'none' && checkpointRound > 0 ? { why: 'no stored state' } : {};
  if (stored.state.kind !== kind) return { why: `stored state is ${stored.state.kind}, the configuration says ${kind}` };
  if (stored.round !== checkpointRound) return { why: `stored state is of round ${stored.round}, the checkpoint of round ${checkpointRound}` };
  const length = stored.state.m?.length ?? dim;
  if (length !== dim || (stored.state.v?.length ?? dim) !== dim) return { why: `stored state has ${length} values, the adapter ${dim}` };
  return { state: stored.state };
}

/**
 * One server step: the new global adapter and the state after it. Neither `global` nor `state` is modified, so a
 * caller commits the state only once the round that used it is stored. Throws BAD_CONFIG when the state does
 * not fit the settings or the vectors' lengths disagree (a bug or a store from another federation, never data).
 */
export function serverOptimizerStep(
  settings: ServerOptimizerSettings,
  state: ServerOptimizerState,
  global: Float32Array,
  delta: Float32Array,
): { next: Float32Array; state: ServerOptimizerState } {
  const dim = global.length;
  if (delta.length !== dim) throw new FedwardenError('BAD_CONFIG', `server optimizer: step has ${delta.length} values, global adapter ${dim}`);
  if (state.kind !== settings.kind) throw new FedwardenError('BAD_CONFIG', `server optimizer: state is ${state.kind}, settings say ${settings.kind}`);
  for (const [name, vec] of [['m', state.m], ['v', state.v]] as const) {
    if (vec !== undefined && vec.length !== dim) throw new FedwardenError('BAD_CONFIG', `server optimizer: ${name} has ${vec.length} values, global adapter ${dim}`);
  }
  const next = new Float32Array(dim);
  const { learningRate: eta, momentum: beta1, beta2, tau } = settings;
  const steps = state.steps + 1;
  switch (settings.kind) {
    case 'none': {
      for (let i = 0; i < dim; i++) next[i] = (global[i] as number) + (delta[i] as number);
      return { next, state: { kind: 'none', steps } };
    }
    case 'fedavgm': {
      const m0 = state.m as Float32Array;
      const m = new Float32Array(dim);
      for (let i = 0; i < dim; i++) {
        const mi = beta1 * (m0[i] as number) + (delta[i] as number);
        m[i] = mi;
        next[i] = (global[i] as number) + eta * mi;
      }
      return { next, state: { kind: 'fedavgm', steps, m } };
    }
    case 'fedadam':
    case 'fedyogi': {
      const yogi = settings.kind === 'fedyogi';
      const m0 = state.m as Float32Array;
      const v0 = state.v as Float32Array;
      const m = new Float32Array(dim);
      const v = new Float32Array(dim);
      for (let i = 0; i < dim; i++) {
        const d = delta[i] as number;
        const d2 = d * d;
        const mi = beta1 * (m0[i] as number) + (1 - beta1) * d;
        const vPrev = v0[i] as number;
        const vi = yogi ? vPrev - (1 - beta2) * d2 * Math.sign(vPrev - d2) : beta2 * vPrev + (1 - beta2) * d2;
        m[i] = mi;
        v[i] = vi;
        next[i] = (global[i] as number) + (eta * mi) / (Math.sqrt(vi) + tau);
      }
      return { next, state: { kind: settings.kind, steps, m, v } };
    }
    default: {
      const unknown: never = settings.kind;
      throw new RangeError(`unknown server optimizer ${String(unknown)}`);
    }
  }
}
