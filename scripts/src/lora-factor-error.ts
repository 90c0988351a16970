/**
 * How far averaging the LoRA factors is from averaging the adapted layers (issue 15): a layer adapted by A (in × r)
 * and B (r × out) adds scale·A·B to its kernel, and FedAvg of the factors gives Ā·B̄, not the mean of A_i·B_i.
 * This runs plain FedAvg over the MNIST shards in memory (no coordinator: the question is arithmetic) and, each
 * round, reports per layer
 *
 *   error = ‖mean(A_i·B_i) − Ā·B̄‖_F / ‖mean(A_i·B_i) − A₀·B₀‖_F
 *
 * the part of the round's mean change of the adapted kernel that factor averaging loses or invents, with
 * A₀·B₀ the round's starting product. (With A frozen, as FFA-LoRA does — Sun et al., ICLR 2024,
 * arXiv:2403.12313 — every A_i = A₀ and the error is 0 by construction.)
 *
 *   pnpm exec tsx scripts/src/lora-factor-error.ts [--clients 50] [--rounds 5] [--seed 1] [--epochs 2] [--lr 0.003]
 */
import { parseArgs } from 'node:util';
import { initTensorFlow } from '@fedwarden/client';
import { createRng, deriveSeed, entrySize, initAdapter } from '@fedwarden/shared';
import { prepareMnistTask } from './task/mnist-task.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    epochs: { type: 'string', default: '2' },
    lr: { type: 'string', default: '0.003' },
    'batch-size': { type: 'string', default: '32' },
  },
});
const clients = Number(values.clients);
const rounds = Number(values.rounds);
const seed = Number(values.seed);
const plan = { epochs: Number(values.epochs), batchSize: Number(values['batch-size']), learningRate: Number(values.lr) };

/** row-major (n × k) · (k × m) */
function matMul(a: Float32Array, b: Float32Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const ait = a[i * k + t] as number;
      if (ait === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j] = (out[i * m + j] as number) + ait * (b[t * m + j] as number);
    }
  }
  return out;
}

function frobeniusDiff(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s);
}

await initTensorFlow();
const task = await prepareMnistTask({ seed, clients, alpha: 0.5 });
const entries = task.manifest.entries;
const offsets: number[] = [];
entries.reduce((off, e) => (offsets.push(off), off + entrySize(e)), 0);
let global = initAdapter(task.manifest, createRng(deriveSeed(seed, 0x41444150)));
const model = task.createModel();
const evaluator = task.createModel();
console.log(`LoRA factor averaging error, ${clients} participants, seed ${seed}, plan ${JSON.stringify(plan)}`);
console.log('round  layer         error  accuracy after');
for (let round = 1; round <= rounds; round++) {
  const weights: number[] = [];
  const updates: Float32Array[] = [];
  for (const [i, shard] of task.shards.entries()) {
    model.setWeights(global);
    const run = model.train(shard, { ...plan, seed: deriveSeed(seed, round, i) });
    for (;;) if ((await run.next()).done) break;
    updates.push(model.getWeights());
    weights.push(shard.count);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  const mean = new Float32Array(global.length);
  updates.forEach((u, i) => u.forEach((x, j) => (mean[j] = (mean[j] as number) + (x * (weights[i] as number)) / total)));
  evaluator.setWeights(mean);
  const { accuracy } = await evaluator.evaluate(task.test);
  for (let e = 0; e + 1 < entries.length; e += 2) {
    const [inDim, r] = entries[e]?.shape as [number, number];
    const out = (entries[e + 1]?.shape as [number, number])[1];
    const slice = (v: Float32Array, k: number) => v.subarray(offsets[k] as number, (offsets[k] as number) + entrySize(entries[k]!));
    const start = matMul(slice(global, e), slice(global, e + 1), inDim, r, out);
    const meanOfProducts = new Float64Array(inDim * out);
    updates.forEach((u, i) => {
      const p = matMul(slice(u, e), slice(u, e + 1), inDim, r, out);
      const w = (weights[i] as number) / total;
      p.forEach((x, j) => (meanOfProducts[j] = (meanOfProducts[j] as number) + w * x));
    });
    const productOfMeans = matMul(slice(mean, e), slice(mean, e + 1), inDim, r, out);
    const error = frobeniusDiff(meanOfProducts, productOfMeans) / Math.max(1e-30, frobeniusDiff(meanOfProducts, start));
    const layer = entries[e]?.name.split('/')[0] ?? `layer ${e / 2}`;
    console.log(`${String(round).padStart(5)}  ${layer.padEnd(12)}  ${error.toFixed(4)}  ${(accuracy * 100).toFixed(1)}%`);
  }
  global = mean;
}
model.dispose();
evaluator.dispose();
