/**
 * A frozen base (frozen-base.ts) shared by several LoRA models, so that N simulated participants on one base
 * hold one copy of its kernels instead of N (the MNIST base is ~0.8 MB of float32 per copy).
 *
 * Ownership rule (reference counting):
 *   - `SharedFrozenBase.read(model)` returns a handle that holds one reference, owned by the caller, who drops it
 *     with `release()` once no more models are to be created from it (idempotent).
 *   - Every LoRA model created on the handle takes its own lease (`acquire()`) and ends it in its dispose().
 *   - The tensors are disposed when the caller's reference and every lease are gone, in whichever order: a
 *     caller may release the handle while models built on it are still in use.
 * Nothing trains or writes the frozen tensors, so sharing them between models is safe.
 */
import type * as tf from '@tensorflow/tfjs';
import { FedwardenError } from '@fedwarden/shared';
import { type FrozenBase, disposeFrozenBase, readFrozenBase } from './frozen-base.ts';

/** One model's hold on a shared frozen base. */
export interface FrozenBaseLease {
  readonly base: FrozenBase;
  /** Ends the lease; later calls do nothing. */
  release(): void;
}

export class SharedFrozenBase {
  private refs = 1;
  private ownerReleased = false;

  private constructor(private readonly frozen: FrozenBase) {}

  /** Copy the dense layers of `model` (see readFrozenBase); the caller owns one reference. */
  static read(model: tf.LayersModel): SharedFrozenBase {
    return new SharedFrozenBase(readFrozenBase(model));
  }

  /** True once every reference is gone and the tensors are disposed. */
  get disposed(): boolean {
    return this.refs === 0;
  }

  /** A new lease on the base; fails once the caller has released the handle (its tensors may be gone). */
  acquire(): FrozenBaseLease {
    if (this.ownerReleased) throw new FedwardenError('BAD_CONFIG', 'createLoraModel: the shared frozen base has been released');
    this.refs++;
    let held = true;
    return {
      base: this.frozen,
      release: () => {
        if (!held) return;
        held = false;
        this.drop();
      },
    };
  }

  /** Drops the caller's reference; models already created on the handle keep working. */
  release(): void {
    if (this.ownerReleased) return;
    this.ownerReleased = true;
    this.drop();
  }

  private drop(): void {
    this.refs--;
    if (this.refs === 0) disposeFrozenBase(this.frozen);
  }
}
