/**
 * bench:train — local training throughput through the SDK's LoRA TrainableModel versus a bare, hand-written
 * TensorFlow.js loop training the same LoRA model on the same backend, on one shard of the MNIST task.
 *
 *   pnpm bench:train [--backend auto|tensorflow|wasm|cpu] [--shard 0] [--epochs 10] [--batch-size 32]
 *                    [--lr 0.003] [--reps 7] [--seed 1] [--json]
 *
 * Method: one warm-up run of each (excluded), then `reps` runs of each, interleaved and alternating which goes
 * first (ABBA), so drift in machine load hits both alike; the medians are compared. The SDK side is timed as
 * its caller sees it: from train() to the generator's return, progress events consumed. The bare loop is
 * written here on purpose, sharing no code with the SDK, and does the least a correct loop must: data
 * uploaded once, seeded shuffled batches gathered by index, Adam through optimizer.minimize, no per-batch
 * read-back. Target: SDK / bare ≥ 0.9.
 *
 * Arithmetic rate: each rep also times a plain 32×784 · 784×256 tf.matMul (the shape of the base model's first
 * layer on one batch) in the same process, and the SDK's achieved GFLOP/s is reported against it (rule for
 * counting in loraFlops below). The paired ratio (SDK GFLOP/s / matMul GFLOP/s, per rep) is what to compare
 * across machines or runs, not the absolute rates: the machine is shared and noisy.
 *
 * Prints a table; with --json, one JSON line instead.
 */
import { parseArgs } from 'node:util';
import { type LabeledData, type TrainableModel, initTensorFlow, tf } from '@fedwarden/client';
import {
  type AdapterManifest,
  type TrainingPlan,
  createRng,
  deriveSeed,
  manifestSize,
  median,
  shuffle,
} from '@fedwarden/shared';
import { uploadWireBytes } from './report/wire-bytes.ts';
import { MNIST_RECOMMENDED_PLAN, type MnistTask, prepareMnistTask } from './task/mnist-task.ts';

interface BenchOptions {
  readonly backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  readonly shard: number;
  readonly plan: TrainingPlan;
  readonly reps: number;
  readonly seed: number;
  readonly json: boolean;
}

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string', default: 'auto' },
      shard: { type: 'string', default: '0' },
      epochs: { type: 'string', default: '10' },
      'batch-size': { type: 'string', default: String(MNIST_RECOMMENDED_PLAN.batchSize) },
      lr: { type: 'string', default: String(MNIST_RECOMMENDED_PLAN.learningRate) },
      reps: { type: 'string', default: '7' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  const backend = values.backend;
  if (backend !== 'auto' && backend !== 'tensorflow' && backend !== 'wasm' && backend !== 'cpu') {
    throw new Error(`--backend must be auto, tensorflow, wasm or cpu, got "${backend}"`);
  }
  const learningRate = Number(values.lr);
  if (!(Number.isFinite(learningRate) && learningRate > 0)) throw new Error(`--lr must be a positive number, got "${values.lr}"`);
  return {
    backend,
    shard: int('shard', values.shard, 0),
    plan: { epochs: int('epochs', values.epochs, 1), batchSize: int('batch-size', values['batch-size'], 1), learningRate },
    reps: int('reps', values.reps, 1),
    seed: int('seed', values.seed, 0),
    json: values.json,
  };
}

interface RunResult {
  readonly samplesPerSecond: number;
  readonly finalLoss: number;
}

/** Train a fresh SDK model through the public TrainableModel interface, as a participant would. */
async function runSdk(task: MnistTask, data: LabeledData, plan: TrainingPlan, seed: number): Promise<RunResult> {
  const model: TrainableModel = task.createModel(seed);
  try {
    const started = performance.now();
    const training = model.train(data, { ...plan, seed });
    let step = await training.next();
    while (!step.done) step = await training.next();
    const seconds = (performance.now() - started) / 1000;
    return { samplesPerSecond: (data.count * plan.epochs) / seconds, finalLoss: step.value.meanLoss };
  } finally {
    model.dispose();
  }
}

/**
 * The bare loop: the same LoRA model (rank, scale, A ~ N(0, 1/in), B = 0, frozen W and b, logits before the
 * final softmax) written directly against tfjs.
 */
async function runBare(task: MnistTask, data: LabeledData, plan: TrainingPlan, seed: number, rank: number, scale: number): Promise<RunResult> {
  const dense = task.baseModel.layers.filter((l) => l.getClassName() === 'Dense');
  const frozen = dense.map((l) => l.getWeights().map((w) => w.clone()));
  const adapters = tf.tidy(() =>
    dense.map((l, i) => {
      const [inDim, outDim] = (l.getWeights()[0] as tf.Tensor).shape as [number, number];
      return {
        a: tf.variable(tf.randomNormal([inDim, rank], 0, 1 / Math.sqrt(inDim), 'float32', deriveSeed(seed, i))),
        b: tf.variable(tf.zeros([rank, outDim])),
      };
    }),
  );
  const started = performance.now();
  const x = tf.tensor2d(data.inputs, [data.count, data.inputDim]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(data.labels, 'int32'), data.numClasses).asType('float32'));
  const optimizer = tf.train.adam(plan.learningRate);
  const varList = adapters.flatMap(({ a, b }) => [a, b]);
  const rng = createRng(seed);
  const order = Array.from({ length: data.count }, (_, i) => i);
  // Summed on the device, read once at the end: no per-batch read-back.
  let finalEpochLoss: tf.Scalar = tf.scalar(0);
  let batches = 0;
  for (let epoch = 0; epoch < plan.epochs; epoch++) {
    shuffle(rng, order);
    for (let start = 0; start < data.count; start += plan.batchSize) {
      const idx = tf.tensor1d(order.slice(start, start + plan.batchSize), 'int32');
      const loss = tf.tidy(() => {
        const xb = tf.gather(x, idx);
        const yb = tf.gather(y, idx);
        return optimizer.minimize(() => {
          let h: tf.Tensor = xb;
          adapters.forEach(({ a, b }, i) => {
            const [w, bias] = frozen[i] as tf.Tensor[];
            const z = tf.add(tf.add(tf.matMul(h, w as tf.Tensor), tf.matMul(tf.mul(tf.matMul(h, a), scale), b)), bias as tf.Tensor);
            h = i === adapters.length - 1 ? z : tf.relu(z);
          });
          return tf.losses.softmaxCrossEntropy(yb, h) as tf.Scalar;
        }, true, varList) as tf.Scalar;
      });
      idx.dispose();
      if (epoch === plan.epochs - 1) {
        const sum = tf.add(finalEpochLoss, loss) as tf.Scalar;
        finalEpochLoss.dispose();
        finalEpochLoss = sum;
        batches++;
      }
      loss.dispose();
    }
  }
  const meanLoss = ((await finalEpochLoss.data())[0] as number) / batches;
  finalEpochLoss.dispose();
  x.dispose();
  y.dispose();
  optimizer.dispose();
  const seconds = (performance.now() - started) / 1000;
  for (const { a, b } of adapters) {
    a.dispose();
    b.dispose();
  }
  for (const ws of frozen) for (const w of ws) w.dispose();
  return { samplesPerSecond: (data.count * plan.epochs) / seconds, finalLoss: meanLoss };
}

/**
 * Matrix-product FLOPs of LoRA training, per the counting rule: 2 FLOPs per multiply-add of every matrix product
 * that training needs; element-wise work (bias, activation, loss, Adam) is not counted. For each dense layer i
 * with A (in × r) and B (r × out), per sample and epoch: forward x·A, (x·A)·B, and for i > 0 the frozen x·W;
 * backward dB = (x·A)ᵀ·dz, d(x·A) = dz·Bᵀ, dA = xᵀ·d(x·A), and for i > 0 (to reach the layer below)
 * dx = dz·Wᵀ + d(x·A)·Aᵀ. The first layer's frozen x·W depends on the data and the frozen base only, so it is
 * needed once per sample per training run (`oncePerSample`), not once per epoch. `denseEquivalentPerSample` is
 * that product counted every epoch, as the straightforward maths (and the 4.4 GFLOP/s) does.
 */
function loraFlops(manifest: AdapterManifest): { perSampleEpoch: number; oncePerSample: number; denseEquivalentPerSample: number } {
  let perSampleEpoch = 0;
  let oncePerSample = 0;
  for (let i = 0; 2 * i + 1 < manifest.entries.length; i++) {
    const [inDim, r] = manifest.entries[2 * i]?.shape as [number, number];
    const out = manifest.entries[2 * i + 1]?.shape[1] as number;
    const forward = inDim * r + r * out + (i > 0 ? inDim * out : 0);
    const backward = r * out + out * r + inDim * r + (i > 0 ? out * inDim + r * inDim : 0);
    perSampleEpoch += 2 * (forward + backward);
    if (i === 0) oncePerSample += 2 * inDim * out;
  }
  return { perSampleEpoch, oncePerSample, denseEquivalentPerSample: perSampleEpoch + oncePerSample };
}

/** GFLOP/s of a 32×784 · 784×256 tf.matMul, timed over enough repetitions to take about `ms` milliseconds. */
function matMulGflops(ms = 150): number {
  const [m, k, n] = [32, 784, 256];
  const a = tf.randomNormal([m, k]);
  const b = tf.randomNormal([k, n]);
  const once = () => tf.tidy(() => tf.matMul(a, b)).dispose();
  for (let i = 0; i < 5; i++) once();
  let reps = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    for (let i = 0; i < 10; i++) once();
    reps += 10;
  }
  const seconds = (performance.now() - started) / 1000;
  a.dispose();
  b.dispose();
  return (2 * m * k * n * reps) / seconds / 1e9;
}

/** Bytes on the wire per adapter parameter of one update upload (sealed frame and WebSocket header). */
function wireBytesPerAdapterParameter(manifest: AdapterManifest): number {
  const d = manifestSize(manifest);
  const delta = Float32Array.from({ length: d }, (_, i) => Math.sin(i));
  return uploadWireBytes({ kind: 'update', round: 1, numSamples: 100, meanLoss: 0.5, trainMs: 1, delta }) / d;
}


async function main(argv: string[]): Promise<void> {
  const opts = parseOptions(argv);
  const say = (line: string) => {
    if (!opts.json) process.stderr.write(line + '\n');
  };
  const backend = await initTensorFlow(opts.backend);
  const task = await prepareMnistTask({ seed: opts.seed, clients: 10, alpha: 0.5, onProgress: (m) => say(m) });
  const data = task.shards[opts.shard];
  if (data === undefined) throw new Error(`--shard must be in 0..${task.shards.length - 1}`);
  const probe = task.createModel();
  const { scale } = probe;
  const rank = (probe.manifest.entries[0]?.shape[1] ?? 0) as number;
  probe.dispose();
  const tensorsBefore = tf.memory().numTensors;

  say(`bench:train on ${backend}: shard ${opts.shard} (${data.count} digits) × ${opts.plan.epochs} epochs, batch ${opts.plan.batchSize}, ${opts.reps} reps + warm-up`);
  const runSeed = (rep: number) => deriveSeed(opts.seed, 100, rep);
  await runSdk(task, data, opts.plan, runSeed(0));
  await runBare(task, data, opts.plan, runSeed(0), rank, scale);
  const sdk: RunResult[] = [];
  const bare: RunResult[] = [];
  const matMul: number[] = [];
  for (let rep = 1; rep <= opts.reps; rep++) {
    matMul.push(matMulGflops());
    if (rep % 2 === 1) {
      sdk.push(await runSdk(task, data, opts.plan, runSeed(rep)));
      bare.push(await runBare(task, data, opts.plan, runSeed(rep), rank, scale));
    } else {
      bare.push(await runBare(task, data, opts.plan, runSeed(rep), rank, scale));
      sdk.push(await runSdk(task, data, opts.plan, runSeed(rep)));
    }
    say(`  rep ${rep}: SDK ${sdk.at(-1)?.samplesPerSecond.toFixed(0)} samples/s, bare ${bare.at(-1)?.samplesPerSecond.toFixed(0)} samples/s, matMul ${matMul.at(-1)?.toFixed(1)} GFLOP/s`);
  }
  const leaked = tf.memory().numTensors - tensorsBefore;
  const sdkRate = median(sdk.map((r) => r.samplesPerSecond));
  const bareRate = median(bare.map((r) => r.samplesPerSecond));
  // Runs alternate SDK/bare in pairs, so each pair shares the machine's state; the median of the paired ratios
  // is robust to drift (thermal, other load) that the ratio of two medians is not.
  const ratio = median(sdk.map((r, i) => r.samplesPerSecond / (bare[i] as RunResult).samplesPerSecond));
  const wireBytes = wireBytesPerAdapterParameter(task.manifest);
  const flops = loraFlops(task.manifest);
  // FLOPs of one SDK run: every epoch's LoRA products, plus the first layer's frozen product once per sample.
  const neededPerSample = flops.perSampleEpoch + flops.oncePerSample / opts.plan.epochs;
  const sdkGflops = sdk.map((r) => (r.samplesPerSecond * neededPerSample) / 1e9);
  const sdkDenseGflops = sdk.map((r) => (r.samplesPerSecond * flops.denseEquivalentPerSample) / 1e9);
  const gflopsRatio = median(sdkGflops.map((g, i) => g / (matMul[i] as number)));
  const round3 = (v: number) => Math.round(v * 1000) / 1000;
  const summary = {
    backend,
    samples: data.count * opts.plan.epochs,
    shardSize: data.count,
    epochs: opts.plan.epochs,
    batchSize: opts.plan.batchSize,
    reps: opts.reps,
    adapterParams: manifestSize(task.manifest),
    sdkSamplesPerSecond: Math.round(sdkRate),
    bareSamplesPerSecond: Math.round(bareRate),
    ratio: Math.round(ratio * 1000) / 1000,
    target: 0.9,
    sdkFinalLoss: median(sdk.map((r) => r.finalLoss)),
    bareFinalLoss: median(bare.map((r) => r.finalLoss)),
    wireBytesPerParam: wireBytes,
    flopsPerSampleEpoch: flops.perSampleEpoch,
    frozenFlopsPerSample: flops.oncePerSample,
    sdkGflops: round3(median(sdkGflops)),
    sdkDenseEquivalentGflops: round3(median(sdkDenseGflops)),
    matMulGflops: round3(median(matMul)),
    gflopsRatio: round3(gflopsRatio),
    denseEquivalentGflopsRatio: round3(median(sdkDenseGflops.map((g, i) => g / (matMul[i] as number)))),
    leakedTensors: leaked,
  };
  task.dispose();

  if (opts.json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return;
  }
  const rows = [
    ['backend', 'samples', 'SDK samples/s', 'bare samples/s', 'ratio (median of pairs)'],
    [backend, String(summary.samples), String(summary.sdkSamplesPerSecond), String(summary.bareSamplesPerSecond), summary.ratio.toFixed(3)],
  ];
  const widths = (rows[0] as string[]).map((_, c) => Math.max(...rows.map((r) => (r[c] as string).length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  ');
  process.stdout.write(
    [
      '',
      line(rows[0] as string[]),
      line(rows[1] as string[]),
      '',
      `ratio target ≥ 0.9: ${ratio >= 0.9 ? 'met' : 'NOT met'}`,
      `final-epoch mean loss (median): SDK ${summary.sdkFinalLoss.toFixed(4)}, bare ${summary.bareFinalLoss.toFixed(4)}`,
      `SDK arithmetic: ${summary.sdkGflops.toFixed(2)} GFLOP/s needed (${flops.perSampleEpoch} FLOP/sample/epoch + ${flops.oncePerSample} frozen FLOP/sample once), ` +
        `${summary.sdkDenseEquivalentGflops.toFixed(2)} GFLOP/s dense-equivalent (${flops.denseEquivalentPerSample} FLOP/sample/epoch)`,
      `tfjs matMul 32×784·784×256: ${summary.matMulGflops.toFixed(2)} GFLOP/s; SDK/matMul ratio (median of reps): ` +
        `${summary.gflopsRatio.toFixed(3)} needed, ${summary.denseEquivalentGflopsRatio.toFixed(3)} dense-equivalent`,
      `wire bytes per adapter parameter: ${wireBytes.toFixed(3)}`,
      leaked === 0 ? '' : `warning: ${leaked} tensors leaked during the benchmark`,
    ]
      .filter((l, i, all) => l !== '' || i < all.length - 1)
      .join('\n') + '\n',
  );
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`bench:train failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
