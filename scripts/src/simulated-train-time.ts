/**
 * Simulated training time: a TrainableModel that delegates to another and reports, instead of the measured
 * wall-clock time, one drawn from the seed. The coordinator's isolation forest scores the reported time
 * (coordinator/src/anomaly/unit-features.ts), so a measured one made the alerts of two runs of one seed differ
 * (issue 14: 13.8 % against 18.6 %); with this, every feature replays from the seed.
 *
 *   trainMs = MS_PER_SAMPLE_EPOCH × samples × epochs × speed × load
 *
 * speed: the participant's device, drawn once (log-normal, σ = 0.3); load: the round's, log-normal with σ = 0.05,
 * drawn from the training seed the client passes (one per participant and round; none: 1). 0.25 ms per sample
 * and epoch is what LoRA on the MNIST MLP measured with the WASM backend on the 2-core dev VM (0.21–0.25 ms
 * after warm-up). A Byzantine participant's model is wrapped too: it reports what an honest participant with
 * its data would (the attacks never fake the time; free riders train for a plausible one). Real participants
 * report the measured time (client-sdk/src/lora/lora-model.ts).
 */
import type { Evaluation, LabeledData, TrainableModel, TrainOptions, TrainProgress, TrainResult } from '@fedwarden/client';
import { createRng, deriveSeed, normal, type AdapterManifest } from '@fedwarden/shared';

export const MS_PER_SAMPLE_EPOCH = 0.25;
const DEVICE_SIGMA = 0.3;
const LOAD_SIGMA = 0.05;

export class SimulatedTimeModel implements TrainableModel {
  /** This participant's device speed factor, drawn from the seed. */
  readonly speed: number;

  constructor(
    private readonly inner: TrainableModel,
    seed: number,
  ) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`SimulatedTimeModel: seed must be an integer, got ${seed}`);
    this.speed = Math.exp(DEVICE_SIGMA * normal(createRng(seed)));
  }

  get manifest(): AdapterManifest {
    return this.inner.manifest;
  }

  getWeights(): Float32Array {
    return this.inner.getWeights();
  }

  setWeights(weights: Float32Array): void {
    this.inner.setWeights(weights);
  }

  async *train(data: LabeledData, options: TrainOptions): AsyncGenerator<TrainProgress, TrainResult, void> {
    const result = yield* this.inner.train(data, options);
    return { ...result, trainMs: this.trainMs(result.numSamples, options) };
  }

  /** The time reported for `samples` trained with `options` (its epochs, and its seed for the round's load). */
  trainMs(samples: number, options: TrainOptions): number {
    const load = options.seed === undefined ? 1 : Math.exp(LOAD_SIGMA * normal(createRng(deriveSeed(options.seed, 0x74696d65))));
    return MS_PER_SAMPLE_EPOCH * samples * options.epochs * this.speed * load;
  }

  evaluate(data: LabeledData): Promise<Evaluation> {
    return this.inner.evaluate(data);
  }

  dispose(): void {
    this.inner.dispose();
  }
}
