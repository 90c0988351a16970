import { describe, expect, it } from 'vitest';
import type { LabeledData, TrainableModel, TrainOptions, TrainProgress, TrainResult } from '@fedwarden/client';
import type { AdapterManifest } from '@fedwarden/shared';
import { MS_PER_SAMPLE_EPOCH, SimulatedTimeModel } from './simulated-train-time.ts';

/** A model whose measured time is different on every call, as a wall clock's is. */
class ClockModel implements TrainableModel {
  readonly manifest = { layers: [] } as unknown as AdapterManifest;
  private weights = new Float32Array(2);
  calls = 0;
  getWeights(): Float32Array {
    return this.weights.slice();
  }
  setWeights(w: Float32Array): void {
    this.weights = w.slice();
  }
  async *train(data: LabeledData, options: TrainOptions): AsyncGenerator<TrainProgress, TrainResult, void> {
    for (let epoch = 0; epoch < options.epochs; epoch++) yield { epoch, batch: 0, loss: 1 / (epoch + 1) };
    this.weights[0] = (this.weights[0] as number) + 1;
    return { meanLoss: 0.5, numSamples: data.count, trainMs: 1000 + 37 * ++this.calls };
  }
  evaluate(): Promise<never> {
    return Promise.reject(new Error('unused'));
  }
  dispose(): void {}
}

const data = (count: number): LabeledData => ({ inputs: new Float32Array(count), labels: new Int32Array(count), count, inputDim: 1, numClasses: 2 });
const plan = (epochs: number, seed?: number): TrainOptions => ({ epochs, batchSize: 8, learningRate: 0.01, ...(seed !== undefined ? { seed } : {}) });

async function train(model: TrainableModel, d: LabeledData, options: TrainOptions): Promise<{ progress: TrainProgress[]; result: TrainResult }> {
  const progress: TrainProgress[] = [];
  const it = model.train(d, options);
  let step = await it.next();
  for (; !step.done; step = await it.next()) progress.push(step.value);
  return { progress, result: step.value };
}

describe('SimulatedTimeModel', () => {
  it('reports a time drawn from the seeds, the same on every replay, and passes the rest through', async () => {
    const inner = new ClockModel();
    const model = new SimulatedTimeModel(inner, 5);
    const first = await train(model, data(100), plan(2, 11));
    const again = await train(new SimulatedTimeModel(new ClockModel(), 5), data(100), plan(2, 11));
    expect(first.result.trainMs).toBe(again.result.trainMs);
    expect(first.result.trainMs).not.toBe(1037); // not the clock's
    expect(first.result).toMatchObject({ meanLoss: 0.5, numSamples: 100 });
    expect(first.progress).toEqual([{ epoch: 0, batch: 0, loss: 1 }, { epoch: 1, batch: 0, loss: 0.5 }]);
    expect(model.getWeights()[0]).toBe(1);
    // The measured time never shows through: a second call on the same clock measures 1074, reports the draw.
    const second = await train(model, data(100), plan(2, 11));
    expect(second.result.trainMs).toBe(first.result.trainMs);
  });

  it('scales with samples and epochs, varies a little with the round and more with the device', async () => {
    const model = new SimulatedTimeModel(new ClockModel(), 5);
    const base = model.trainMs(100, plan(1));
    expect(base).toBeCloseTo(MS_PER_SAMPLE_EPOCH * 100 * model.speed, 9);
    expect(model.trainMs(300, plan(2))).toBeCloseTo(6 * base, 9);
    const rounds = [1, 2, 3, 4, 5].map((seed) => model.trainMs(100, plan(1, seed)) / base);
    expect(new Set(rounds).size).toBe(5);
    for (const load of rounds) expect(Math.abs(Math.log(load))).toBeLessThan(0.25); // σ = 0.05: 5 σ
    const speeds = Array.from({ length: 200 }, (_, i) => new SimulatedTimeModel(new ClockModel(), i).speed);
    const logs = speeds.map(Math.log);
    const mean = logs.reduce((s, x) => s + x, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((s, x) => s + (x - mean) ** 2, 0) / (logs.length - 1));
    expect(sd).toBeGreaterThan(0.24); // σ = 0.3
    expect(sd).toBeLessThan(0.36);
    expect(() => new SimulatedTimeModel(new ClockModel(), 0.5)).toThrow(/seed must be an integer, got 0.5/);
  });
});
