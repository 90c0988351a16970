/**
 * A light fake trainer for bench:load: a TrainableModel without TensorFlow.js whose "training" waits a
 * seeded, uniformly drawn time in [trainMinMs, trainMaxMs] and then adds a small participant-specific step
 * to the weights. Thousands of them fit in one process, so the bench loads the coordinator with many
 * participants rather than with training; the slowest participant's training time is known per round.
 *
 * Each participant's step is distinct (seeded noise around a common direction), so that a robust strategy
 * does not take identical updates for colluding Sybils.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LabeledData, TrainableModel, TrainOptions, TrainProgress, TrainResult } from '@fedwarden/client';
import { createRng, type AdapterManifest } from '@fedwarden/shared';
import type { LightModelSpec } from './ipc.ts';

export class LightModel implements TrainableModel {
  readonly manifest: AdapterManifest;
  private weights: Float32Array;
  private readonly step: Float32Array;
  /** The time drawn for the last training, ms (what it would take on an idle machine). */
  lastNominalMs = 0;

  constructor(
    private readonly spec: LightModelSpec,
    seed: number,
  ) {
    if (!(Number.isInteger(spec.params) && spec.params > 0)) throw new RangeError(`LightModel: params ${spec.params}`);
    if (!(spec.trainMinMs >= 0 && spec.trainMaxMs >= spec.trainMinMs)) {
      throw new RangeError(`LightModel: training time range [${spec.trainMinMs}, ${spec.trainMaxMs}]`);
    }
    this.manifest = { entries: [{ name: 'load/w', shape: [spec.params], init: { kind: 'zeros' } }] };
    this.weights = new Float32Array(spec.params);
    const rng = createRng(seed);
    this.step = Float32Array.from({ length: spec.params }, (_, i) => 0.01 * (((i % 7) - 3) / 3) + 0.002 * (rng.next() - 0.5));
  }

  getWeights(): Float32Array {
    return this.weights.slice();
  }

  setWeights(weights: Float32Array): void {
    if (weights.length !== this.weights.length) throw new RangeError(`setWeights: ${weights.length} weights, expected ${this.weights.length}`);
    this.weights = weights.slice();
  }

  async *train(data: LabeledData, options: TrainOptions): AsyncGenerator<TrainProgress, TrainResult, void> {
    const started = performance.now();
    const { trainMinMs, trainMaxMs } = this.spec;
    this.lastNominalMs = trainMinMs + createRng(options.seed ?? 0).next() * (trainMaxMs - trainMinMs);
    await sleep(this.lastNominalMs);
    for (let i = 0; i < this.weights.length; i++) this.weights[i] = (this.weights[i] as number) + (this.step[i] as number);
    yield { epoch: 0, batch: 0, loss: 1 };
    return { meanLoss: 1, numSamples: data.count, trainMs: performance.now() - started };
  }

  async evaluate(data: LabeledData): Promise<{ loss: number; accuracy: number; count: number }> {
    return { loss: 0, accuracy: 0, count: data.count };
  }

  dispose(): void {}
}

/** Placeholder local data: the fake trainer reads only `count` (the sample weight it reports). */
export function lightData(count: number): LabeledData {
  return { inputs: new Float32Array(count), labels: new Int32Array(count), count, inputDim: 1, numClasses: 2 };
}
