/**
 * A TrainableModel without tfjs for protocol tests: "training" adds a fixed, recognisable delta to the weights,
 * so tests can look for those exact bytes on the wire.
 */
import type { AdapterManifest } from '@fedwarden/shared';
import type { LabeledData, TrainableModel, TrainProgress, TrainResult } from '@fedwarden/client';

export class FakeModel implements TrainableModel {
  readonly manifest: AdapterManifest;
  private weights: Float32Array;
  /** How many times train() ran (a resumed upload must not train again). */
  trainCalls = 0;

  constructor(
    readonly step: Float32Array,
    private readonly trainDelayMs = 0,
  ) {
    this.manifest = { entries: [{ name: 'fake/w', shape: [step.length], init: { kind: 'zeros' } }] };
    this.weights = new Float32Array(step.length);
  }

  getWeights(): Float32Array {
    return this.weights.slice();
  }

  setWeights(w: Float32Array): void {
    if (w.length !== this.weights.length) throw new RangeError('setWeights: wrong length');
    this.weights = w.slice();
  }

  async *train(data: LabeledData): AsyncGenerator<TrainProgress, TrainResult, void> {
    this.trainCalls++;
    if (this.trainDelayMs > 0) await new Promise((r) => setTimeout(r, this.trainDelayMs));
    for (let i = 0; i < this.weights.length; i++) this.weights[i] = (this.weights[i] as number) + (this.step[i] as number);
    yield { epoch: 0, batch: 0, loss: 1 };
    return { meanLoss: 1, numSamples: data.count, trainMs: this.trainDelayMs };
  }

  async evaluate(data: LabeledData) {
    return { loss: 0, accuracy: 0, count: data.count };
  }

  dispose(): void {}
}

export function fakeData(count: number): LabeledData {
  return { inputs: new Float32Array(count), labels: new Int32Array(count), count, inputDim: 1, numClasses: 2 };
}
