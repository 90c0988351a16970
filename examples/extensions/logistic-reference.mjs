/**
 * Example trusted reference (config: "extensions": { "reference": { "module": "./logistic-reference.mjs",
 * "options": { "data": "./root.json" } } }): each round, trains the global adapter, read as logistic-regression
 * weights, on the operator's small clean root dataset (JSON { "x": number[][], "y": (0|1)[] }; without
 * options.data, data/root.json beside this file), and returns the change: the reference the fedwarden strategy
 * measures units against (FLTrust). It also trains two replicates on disjoint halves of the root data, from
 * which the strategy estimates how noisy the reference is. Options: epochs (default 20), learningRate (0.5).
 *
 * Contract: the default export is a factory (ctx) => reference, possibly async; the reference is called at the
 * start of each round, while participants train, with a copy of the global adapter and the round number, and
 * returns the delta (a Float32Array of the adapter's length) or { delta, replicates } (replicates: none or ≥ 2
 * deltas), or a promise of either. If it throws or returns a malformed delta, the round runs without a reference.
 * It only has an effect with aggregation.strategy "fedwarden" (the default).
 *
 * @typedef {import('@fedwarden/coordinator').ExtensionContext} ExtensionContext
 * @typedef {import('@fedwarden/coordinator').ReferenceHook} ReferenceHook
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** @param {ExtensionContext} ctx @returns {Promise<ReferenceHook>} */
export default async function createLogisticReference(ctx) {
  const file = ctx.options.data === undefined ? fileURLToPath(new URL('./data/root.json', import.meta.url)) : resolve(ctx.configDir, String(ctx.options.data));
  const { x, y } = JSON.parse(await readFile(file, 'utf8'));
  if (!Array.isArray(x) || !Array.isArray(y) || x.length < 2 || x.length !== y.length) throw new Error(`${file}: want "x" and "y" of the same length, at least 2`);
  const epochs = Number(ctx.options.epochs ?? 20);
  const learningRate = Number(ctx.options.learningRate ?? 0.5);
  // Disjoint halves for the replicates, dealt from a shuffle seeded by ctx.seed so that runs replay.
  const order = shuffled(x.length, ctx.seed);
  const halves = [order.filter((_, k) => k % 2 === 0), order.filter((_, k) => k % 2 === 1)];
  const all = order;

  const train = (global, rows) => {
    const w = Float64Array.from(global);
    for (let e = 0; e < epochs; e++) {
      const grad = new Float64Array(w.length);
      for (const n of rows) {
        let z = 0;
        for (let i = 0; i < w.length; i++) z += w[i] * x[n][i];
        const err = 1 / (1 + Math.exp(-z)) - y[n];
        for (let i = 0; i < w.length; i++) grad[i] += (err * x[n][i]) / rows.length;
      }
      for (let i = 0; i < w.length; i++) w[i] -= learningRate * grad[i];
    }
    return Float32Array.from(w, (v, i) => v - global[i]);
  };

  return (global) => {
    if (global.length !== x[0].length) throw new Error(`adapter has ${global.length} values, the root data ${x[0].length} features`);
    return { delta: train(global, all), replicates: halves.map((rows) => train(global, rows)) };
  };
}

/** 0..n-1 in an order drawn from `seed` (mulberry32 and Fisher–Yates). */
function shuffled(n, seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
