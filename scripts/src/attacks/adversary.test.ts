import { describe, expect, it } from 'vitest';
import type { Evaluation, LabeledData, TrainableModel, TrainOptions, TrainProgress, TrainResult } from '@fedwarden/client';
import { subtract } from '@fedwarden/shared';
import type { Attack, AttackContext } from './attack.ts';
import { Adversary } from './adversary.ts';
import { labelFlip } from './label-flip.ts';
import { onOff } from './on-off.ts';

const DIM = 2;
const PLAN: TrainOptions = { epochs: 1, batchSize: 1, learningRate: 0.1 };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A tiny stand-in for the LoRA model: training takes `delayMs` over two "batches" and moves the weights by
 * [mean label, step]; `hang` makes training never finish (a participant stuck mid-round).
 */
class FakeModel implements TrainableModel {
  readonly manifest = { entries: [{ name: 'w', shape: [DIM], init: { kind: 'zeros' as const } }] };
  private weights = new Float32Array(DIM);
  disposed = false;

  constructor(
    private readonly step: number,
    private readonly delayMs: number,
    private readonly hang = false,
  ) {}

  getWeights(): Float32Array {
    return this.weights.slice();
  }

  setWeights(weights: Float32Array): void {
    this.weights = weights.slice();
  }

  async *train(data: LabeledData): AsyncGenerator<TrainProgress, TrainResult, void> {
    for (let batch = 0; batch < 2; batch++) {
      await (this.hang && batch === 1 ? new Promise<void>(() => {}) : sleep(this.delayMs / 2));
      yield { epoch: 0, batch, loss: 1 / (batch + 1) };
    }
    const meanLabel = data.labels.reduce((s, y) => s + y, 0) / data.count;
    this.weights = Float32Array.of((this.weights[0] as number) + meanLabel, (this.weights[1] as number) + this.step);
    return { meanLoss: 0.5, numSamples: data.count, trainMs: this.delayMs };
  }

  evaluate(): Promise<Evaluation> {
    return Promise.resolve({ loss: 0, accuracy: 1, count: 0 });
  }

  dispose(): void {
    this.disposed = true;
  }
}

/** Labels 0 and 2: mean label 1, or 8 once flipped to 9 and 7. */
const DATA: LabeledData = { inputs: new Float32Array(2), labels: Int32Array.of(0, 2), count: 2, inputDim: 1, numClasses: 10 };

/** Records every context and sends −(i + 1)·benign_i, so that each participant's answer is distinct. */
function spyAttack(poison?: Attack['poisonData']): Attack & { calls: AttackContext[] } {
  const calls: AttackContext[] = [];
  return {
    name: 'spy',
    description: 'records contexts',
    calls,
    ...(poison ? { poisonData: poison } : {}),
    craft(ctx) {
      calls.push(ctx);
      return ctx.benign.map((b, i) => b.map((x) => -(i + 1) * x));
    },
  };
}

/** What the FederatedClient does with a model in a round: set, train to the end, upload getWeights − global. */
async function clientRound(model: TrainableModel, global: Float32Array, data = DATA) {
  model.setWeights(global);
  const progress: TrainProgress[] = [];
  const training = model.train(data, PLAN);
  let step = await training.next();
  while (!step.done) {
    progress.push(step.value);
    step = await training.next();
  }
  return { delta: Array.from(subtract(model.getWeights(), global)), result: step.value, progress };
}

describe('Adversary', () => {
  it('crafts once per round from every Byzantine participant that trained, and each gets its own delta', async () => {
    const attack = spyAttack();
    const adversary = new Adversary(attack, 10, ['a', 'b', 'c'], 1);
    // c finishes first, a last: the crafted order is still a, b, c (byzantineIds order).
    const a = adversary.wrap('a', new FakeModel(1, 60));
    const b = adversary.wrap('b', new FakeModel(2, 30));
    const c = adversary.wrap('c', new FakeModel(3, 5));
    const global = Float32Array.of(10, 20);
    const [ra, rb, rc] = await Promise.all([clientRound(a, global), clientRound(b, global), clientRound(c, global)]);

    expect(attack.calls).toHaveLength(1);
    const ctx = attack.calls[0] as AttackContext;
    expect(ctx.round).toBe(1);
    expect(ctx.numParticipants).toBe(10);
    expect(ctx.numByzantine).toBe(3);
    expect(Array.from(ctx.global)).toEqual([10, 20]);
    // benign = [mean label 1, step]
    expect(ctx.benign.map((d) => Array.from(d))).toEqual([[1, 1], [1, 2], [1, 3]]);
    expect(ra?.delta).toEqual([-1, -1]);
    expect(rb?.delta).toEqual([-2, -4]);
    expect(rc?.delta).toEqual([-3, -9]);
    // Progress and the training summary pass through untouched.
    expect(ra?.progress.map((p) => p.batch)).toEqual([0, 1]);
    expect(ra?.result).toEqual({ meanLoss: 0.5, numSamples: 2, trainMs: 60 });

    // The next round (a new global adapter) is round 2.
    const next = Float32Array.of(9, 9);
    await Promise.all([clientRound(a, next), clientRound(b, next)]);
    expect(attack.calls.map((x) => x.round)).toEqual([1, 2]);
    expect(adversary.roundsStarted).toBe(2);
  });

  it('does not wait for a Byzantine participant that is not selected, or leaves mid-training', async () => {
    const attack = spyAttack();
    const adversary = new Adversary(attack, 10, ['a', 'b', 'c', 'd'], 1);
    const a = adversary.wrap('a', new FakeModel(1, 5));
    const b = adversary.wrap('b', new FakeModel(2, 5));
    adversary.wrap('c', new FakeModel(3, 5)); // never selected: never trains
    const d = adversary.wrap('d', new FakeModel(4, 40));
    const global = Float32Array.of(0, 0);

    // d starts, then its client gives up after the first batch (the consumer stops iterating).
    d.setWeights(global);
    const dropped = d.train(DATA, PLAN);
    const [ra, rb] = await Promise.all([
      clientRound(a, global),
      clientRound(b, global),
      dropped.next().then(() => dropped.return(undefined as never)),
    ]);
    expect(attack.calls).toHaveLength(1);
    expect(attack.calls[0]?.benign.map((x) => Array.from(x))).toEqual([[1, 1], [1, 2]]);
    expect(ra?.delta).toEqual([-1, -1]);
    expect(rb?.delta).toEqual([-2, -4]);
  });

  it('stops waiting for a participant whose next round begins or whose model is disposed', async () => {
    const attack = spyAttack();
    const adversary = new Adversary(attack, 10, ['a', 'b', 'c'], 1);
    const a = adversary.wrap('a', new FakeModel(1, 5));
    const b = adversary.wrap('b', new FakeModel(2, 0, true)); // hangs mid-training
    const c = adversary.wrap('c', new FakeModel(3, 0, true));
    const global = Float32Array.of(0, 0);
    b.setWeights(global);
    void b.train(DATA, PLAN).next();
    c.setWeights(global);
    void c.train(DATA, PLAN).next();
    const round = clientRound(a, global);
    await sleep(20);
    b.setWeights(Float32Array.of(5, 5)); // b moved on: its old training no longer counts
    c.dispose();
    expect((await round).delta).toEqual([-1, -1]);
    expect(attack.calls[0]?.benign).toHaveLength(1);
  });

  it('crafts from what is there after waitTimeoutMs when a participant hangs without leaving', async () => {
    const attack = spyAttack();
    const adversary = new Adversary(attack, 10, ['a', 'b'], 1, { waitTimeoutMs: 30 });
    const a = adversary.wrap('a', new FakeModel(1, 5));
    const b = adversary.wrap('b', new FakeModel(2, 0, true));
    const global = Float32Array.of(0, 0);
    b.setWeights(global);
    void b.train(DATA, PLAN).next();
    expect((await clientRound(a, global)).delta).toEqual([-1, -1]);
    expect(attack.calls[0]?.round).toBe(1);
  });

  it('starts a new round when the same global adapter comes back (an aborted round)', async () => {
    const attack = spyAttack();
    const adversary = new Adversary(attack, 10, ['a'], 1);
    const a = adversary.wrap('a', new FakeModel(1, 1));
    const global = Float32Array.of(3, 3);
    await clientRound(a, global);
    await clientRound(a, global);
    expect(attack.calls.map((x) => x.round)).toEqual([1, 2]);
  });

  it("trains on the attack's poisoned data, exactly once even if the caller poisoned up front", async () => {
    const attack = labelFlip();
    const adversary = new Adversary(attack, 10, ['a', 'b'], 1);
    const a = adversary.wrap('a', new FakeModel(1, 1));
    const b = adversary.wrap('b', new FakeModel(1, 1));
    const global = Float32Array.of(0, 0);
    const [ra, rb] = await Promise.all([clientRound(a, global), clientRound(b, global, attack.poisonData!(DATA))]);
    // Flipped labels 9 and 7: mean label 8 (twice flipped would give 1 again).
    expect(ra.delta).toEqual([8, 1]);
    expect(rb.delta).toEqual([8, 1]);
  });

  it('poisons per round for an attack that switches (on-off with label flip)', async () => {
    const attack = onOff({ honestRounds: 1, then: labelFlip() });
    const adversary = new Adversary(attack, 10, ['a'], 1);
    const a = adversary.wrap('a', new FakeModel(1, 1));
    // Round 1 is honest: mean label 1. Round 2 trains on flipped labels: mean label 8.
    expect((await clientRound(a, Float32Array.of(0, 0), attack.poisonData!(DATA))).delta).toEqual([1, 1]);
    expect((await clientRound(a, Float32Array.of(1, 1), attack.poisonData!(DATA))).delta).toEqual([8, 1]);
  });

  it("passes the attack's errors to the participants and checks what it crafts", async () => {
    const broken: Attack = { name: 'broken', description: '', craft: () => [new Float32Array(5)] };
    const adversary = new Adversary(broken, 10, ['a'], 1);
    const a = adversary.wrap('a', new FakeModel(1, 1));
    await expect(clientRound(a, Float32Array.of(0, 0))).rejects.toThrow(/broken: crafted delta length 5 != 2/);
  });

  it('rejects ids that are not Byzantine, and wrapping twice', () => {
    const adversary = new Adversary(spyAttack(), 10, ['a'], 1);
    expect(() => adversary.wrap('z', new FakeModel(1, 1))).toThrow(/not one of the Byzantine/);
    adversary.wrap('a', new FakeModel(1, 1));
    expect(() => adversary.wrap('a', new FakeModel(1, 1))).toThrow(/wrapped already/);
    expect(() => new Adversary(spyAttack(), 1, ['a', 'b'], 1)).toThrow(/2 Byzantine of 1/);
  });
});
