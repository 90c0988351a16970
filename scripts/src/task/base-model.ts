/**
 * The frozen base model of the MNIST demo: a 784-256(relu)-10(softmax) MLP trained on upright digits.
 *
 * Deterministic from the seed: seeded Glorot initialisers and seeded shuffles (the shared sfc32 generator), no
 * Math.random anywhere. Training takes a few seconds, so the result is cached under
 * `<repo>/.cache/fedwarden/base-model-<seed>-<hash>/` (model.json + weights.bin + meta.json), where the hash
 * covers the configuration and the training data. Artifacts go through tf.io.withSaveHandler / fromMemory
 * (no tfjs-node file handler). Writes are atomic (temporary folder, then rename), so concurrent processes
 * that race to fill the cache both end with a complete copy.
 *
 * Limit: the weights are reproducible per backend; another backend may differ in the last float bits, and the
 * cache keeps whichever copy was written first.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LabeledData, tf } from '@fedwarden/client';
import { createRng, deriveSeed, shuffle } from '@fedwarden/shared';

export interface BaseModelConfig {
  readonly hiddenUnits: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
}

export const DEFAULT_BASE_MODEL_CONFIG: BaseModelConfig = { hiddenUnits: 256, epochs: 6, batchSize: 64, learningRate: 1e-3 };

/** Bump when the training procedure changes in a way the config does not capture; invalidates caches. */
const BASE_MODEL_FORMAT = 1;

export const DEFAULT_CACHE_DIR = fileURLToPath(new URL('../../../.cache/fedwarden/', import.meta.url));

export interface BaseModelOptions {
  readonly seed: number;
  /** Upright training digits. */
  readonly data: LabeledData;
  readonly config?: Partial<BaseModelConfig>;
  /** Cache folder; null disables the cache. Default `<repo>/.cache/fedwarden`. */
  readonly cacheDir?: string | null;
  readonly onProgress?: (message: string) => void;
}

export interface BaseModel {
  readonly model: tf.LayersModel;
  readonly fromCache: boolean;
  /** Where the artifacts live, or null without a cache. */
  readonly path: string | null;
}

export async function loadOrTrainBaseModel(options: BaseModelOptions): Promise<BaseModel> {
  const config = { ...DEFAULT_BASE_MODEL_CONFIG, ...options.config };
  const { seed, data } = options;
  const say = options.onProgress ?? (() => undefined);
  const cacheDir = options.cacheDir === undefined ? DEFAULT_CACHE_DIR : options.cacheDir;
  const path = cacheDir === null ? null : join(cacheDir, `base-model-${seed}-${cacheKey(config, data)}`);

  if (path !== null) {
    const cached = await readArtifacts(path);
    if (cached !== null) {
      say(`base model: loaded from ${path}`);
      return { model: cached, fromCache: true, path };
    }
  }
  say(`base model: training ${data.inputDim}-${config.hiddenUnits}-${data.numClasses} on ${data.count} upright digits (${config.epochs} epochs)`);
  const started = performance.now();
  const model = await trainBaseModel(seed, data, config, (epoch, loss) => say(`base model: epoch ${epoch + 1}/${config.epochs} loss ${loss.toFixed(4)}`));
  say(`base model: trained in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (path !== null) {
    await writeArtifacts(model, path, { seed, config, samples: data.count, backend: tf.getBackend() });
    say(`base model: cached in ${path}`);
  }
  return { model, fromCache: false, path };
}

function cacheKey(config: BaseModelConfig, data: LabeledData): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ format: BASE_MODEL_FORMAT, config, count: data.count, inputDim: data.inputDim, numClasses: data.numClasses }));
  hash.update(new Uint8Array(data.inputs.buffer, data.inputs.byteOffset, data.inputs.byteLength));
  hash.update(new Uint8Array(data.labels.buffer, data.labels.byteOffset, data.labels.byteLength));
  return hash.digest('hex').slice(0, 16);
}

export function buildBaseModel(seed: number, inputDim: number, hiddenUnits: number, numClasses: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'hidden',
        inputShape: [inputDim],
        units: hiddenUnits,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, 1) }),
        biasInitializer: 'zeros',
      }),
      tf.layers.dense({
        name: 'output',
        units: numClasses,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, 2) }),
        biasInitializer: 'zeros',
      }),
    ],
  });
}

async function trainBaseModel(
  seed: number,
  data: LabeledData,
  config: BaseModelConfig,
  onEpoch: (epoch: number, meanLoss: number) => void,
): Promise<tf.LayersModel> {
  const model = buildBaseModel(seed, data.inputDim, config.hiddenUnits, data.numClasses);
  const x = tf.tensor2d(data.inputs, [data.count, data.inputDim]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(data.labels, 'int32'), data.numClasses).asType('float32'));
  const optimizer = tf.train.adam(config.learningRate);
  const rng = createRng(deriveSeed(seed, 3));
  const order = Array.from({ length: data.count }, (_, i) => i);
  try {
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      shuffle(rng, order);
      let lossSum = 0;
      let batches = 0;
      for (let start = 0; start < data.count; start += config.batchSize) {
        const indices = tf.tensor1d(order.slice(start, start + config.batchSize), 'int32');
        const loss = tf.tidy(() => {
          const xb = tf.gather(x, indices);
          const yb = tf.gather(y, indices);
          return optimizer.minimize(() => {
            // The model ends in softmax; clip before the log as Keras' categorical cross-entropy does.
            const p = tf.clipByValue(model.apply(xb, { training: true }) as tf.Tensor, 1e-7, 1);
            return tf.neg(tf.mean(tf.sum(tf.mul(yb, tf.log(p)), 1))) as tf.Scalar;
          }, true) as tf.Scalar;
        });
        indices.dispose();
        lossSum += (await loss.data())[0] as number;
        loss.dispose();
        batches++;
      }
      onEpoch(epoch, lossSum / batches);
    }
  } finally {
    x.dispose();
    y.dispose();
    optimizer.dispose();
  }
  return model;
}

async function writeArtifacts(model: tf.LayersModel, path: string, meta: object): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weights = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
        const modelJson = { format: 'layers-model', modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs ?? [] };
        await writeFile(join(tmp, 'model.json'), JSON.stringify(modelJson));
        await writeFile(join(tmp, 'weights.bin'), new Uint8Array(weights));
        await writeFile(join(tmp, 'meta.json'), JSON.stringify({ ...meta, savedAt: new Date().toISOString() }, null, 2));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
      }),
    );
    try {
      await rename(tmp, path);
    } catch {
      // Another process filled the cache first; its copy is equivalent.
      await rm(tmp, { recursive: true, force: true });
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** The cached model, or null when absent or unreadable (then it is retrained and rewritten). */
async function readArtifacts(path: string): Promise<tf.LayersModel | null> {
  let modelJson: { modelTopology?: object; weightSpecs?: tf.io.WeightsManifestEntry[] };
  let weights: Buffer;
  try {
    modelJson = JSON.parse(await readFile(join(path, 'model.json'), 'utf8')) as typeof modelJson;
    weights = await readFile(join(path, 'weights.bin'));
  } catch {
    return null;
  }
  try {
    const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
    return await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology ?? {}, weightSpecs: modelJson.weightSpecs ?? [], weightData }));
  } catch {
    await rm(path, { recursive: true, force: true });
    return null;
  }
}
