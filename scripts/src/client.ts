/**
 * Run one participant on a shard of the MNIST domain-shift task against a running coordinator.
 *
 *   pnpm client --url ws://127.0.0.1:8787 --fingerprint <hex> --token <token> [--shard 0 --shards 10 --seed 1]
 *
 * The shard is the same Dirichlet partition `pnpm simulate` uses, so several such processes with different
 * --shard values reproduce the simulated federation across machines.
 */
import { parseArgs } from 'node:util';
import { FederatedClient, initTensorFlow } from '@fedwarden/client';
import { createLogger, deriveSeed, toFedwardenError } from '@fedwarden/shared';
import { prepareMnistTask } from './task/mnist-task.ts';

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      fingerprint: { type: 'string' },
      token: { type: 'string' },
      shard: { type: 'string', default: '0' },
      shards: { type: 'string', default: '10' },
      seed: { type: 'string', default: '1' },
      alpha: { type: 'string', default: '0.5' },
    },
  });
  if (!values.url || !values.fingerprint || !values.token) {
    throw new Error('usage: pnpm client --url <ws://…> --fingerprint <hex> --token <token> [--shard i --shards n --seed s]');
  }
  const shards = Number(values.shards);
  const shard = Number(values.shard);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(shards) || shards < 1) throw new Error('--shards must be a positive integer');
  if (!Number.isSafeInteger(shard) || shard < 0 || shard >= shards) throw new Error(`--shard must be in 0..${shards - 1}`);
  if (!Number.isSafeInteger(seed)) throw new Error('--seed must be an integer');

  const log = createLogger('info', { component: 'client' });
  const backend = await initTensorFlow();
  const task = await prepareMnistTask({ seed, clients: shards, alpha: Number(values.alpha), onProgress: (m) => log.info(m) });
  const data = task.shards[shard]!;
  log.info('participant ready', { backend, shard, samples: data.count });
  const model = task.createModel();
  const client = new FederatedClient({
    url: values.url,
    fingerprint: values.fingerprint,
    token: values.token,
    model,
    data,
    seed: deriveSeed(seed, 1000 + shard),
    logger: log,
  });
  client.on('uploaded', (round, r) => log.info('update uploaded', { round, meanLoss: r.meanLoss, trainMs: r.trainMs }));
  client.on('roundEnd', (round, outcome, reason) => log.info('round ended', { round, outcome, reason }));
  const summary = await client.run();
  model.setWeights(summary.global);
  const evaluation = await model.evaluate(task.test);
  log.info('federation finished', {
    participantId: summary.participantId,
    roundsTrained: summary.roundsTrained,
    globalAccuracy: evaluation.accuracy,
  });
  model.dispose();
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    const e = toFedwardenError(err);
    process.stderr.write(`client failed [${e.code}]: ${e.message}\n`);
    process.exit(1);
  },
);
