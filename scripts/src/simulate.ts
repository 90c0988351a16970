/**
 * fedwarden simulate: a whole federation in one process — a coordinator and N participants over real loopback
 * WebSockets and the real post-quantum channel — on the MNIST domain-shift task (see task/mnist-task.ts).
 *
 *   pnpm simulate [--clients 10] [--rounds 10] [--seed 1] [--alpha 0.5] [--epochs 2] [--batch-size 32]
 *                 [--lr 0.003] [--json] [--quiet]
 *
 * Prints a per-round table (round, participants, mean local loss, global accuracy); with --json, ends with
 * one JSON line summarising the run.
 */
import { parseArgs } from 'node:util';
import { Coordinator, ephemeralIdentity, generateToken, hashToken, parseConfig, type RoundRecord } from '@fedwarden/coordinator';
import { FederatedClient, initTensorFlow } from '@fedwarden/client';
import { createLogger, deriveSeed, toFedwardenError } from '@fedwarden/shared';
import { prepareMnistTask } from './task/mnist-task.ts';

interface SimulationOptions {
  clients: number;
  rounds: number;
  seed: number;
  alpha: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  json: boolean;
  quiet: boolean;
}

function parseOptions(argv: string[]): SimulationOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '10' },
      seed: { type: 'string', default: '1' },
      alpha: { type: 'string', default: '0.5' },
      epochs: { type: 'string', default: '2' },
      'batch-size': { type: 'string', default: '32' },
      lr: { type: 'string', default: '0.003' },
      privacy: { type: 'string', default: 'trusted' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  const num = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${v}"`);
    return n;
  };
  if (values.privacy !== 'trusted') throw new Error(`--privacy ${values.privacy}: only "trusted" is implemented so far`);
  return {
    clients: int('clients', values.clients, 1),
    rounds: int('rounds', values.rounds, 1),
    seed: int('seed', values.seed, 0),
    alpha: num('alpha', values.alpha),
    epochs: int('epochs', values.epochs, 1),
    batchSize: int('batch-size', values['batch-size'], 1),
    learningRate: num('lr', values.lr),
    json: values.json,
    quiet: values.quiet,
  };
}

async function simulate(opts: SimulationOptions): Promise<void> {
  const started = Date.now();
  const say = (line: string) => {
    if (!opts.quiet) process.stderr.write(line + '\n');
  };
  const backend = await initTensorFlow();
  say(`fedwarden simulate: ${opts.clients} participants, ${opts.rounds} rounds, seed ${opts.seed}, tfjs backend ${backend}`);
  const task = await prepareMnistTask({
    seed: opts.seed,
    clients: opts.clients,
    alpha: opts.alpha,
    onProgress: (msg) => say(`  ${msg}`),
  });
  say(`  base model accuracy on rotated digits: ${(task.baseAccuracy * 100).toFixed(1)}%`);

  const tokens = task.shards.map(() => generateToken());
  const config = parseConfig({
    port: 0,
    seed: opts.seed,
    logLevel: 'warn',
    participants: tokens.map((t, i) => ({ id: `p${String(i).padStart(3, '0')}`, tokenSha256: hashToken(t) })),
    rounds: { count: opts.rounds, minParticipants: opts.clients, quorum: 0.5, deadlineMs: 600_000 },
    training: { epochs: opts.epochs, batchSize: opts.batchSize, learningRate: opts.learningRate },
  });
  const coordinator = new Coordinator(config, ephemeralIdentity(), createLogger('warn', { component: 'coordinator' }));
  const port = await coordinator.listen();

  const evaluator = task.createModel();
  const rows: Array<{ record: RoundRecord; accuracy: number }> = [];
  let evaluations = Promise.resolve();
  say('');
  say('round  participants  mean local loss  global accuracy');
  coordinator.on('round', (record) => {
    const global = coordinator.globalAdapter() as Float32Array;
    evaluations = evaluations.then(async () => {
      evaluator.setWeights(global);
      const { accuracy } = await evaluator.evaluate(task.test);
      rows.push({ record, accuracy });
      say(
        `${String(record.round).padStart(5)}  ${`${record.reported.length}/${record.selected.length}`.padStart(12)}  ` +
          `${(record.meanLoss?.toFixed(4) ?? '-').padStart(15)}  ${`${(accuracy * 100).toFixed(1)}%`.padStart(15)}` +
          (record.outcome === 'aborted' ? `  aborted: ${record.reason}` : ''),
      );
    });
  });

  const clients = task.shards.map(
    (shard, i) =>
      new FederatedClient({
        url: `ws://127.0.0.1:${port}`,
        fingerprint: coordinator.identity.fingerprint,
        token: tokens[i] as string,
        model: task.createModel(),
        data: shard,
        seed: deriveSeed(opts.seed, 1000 + i),
      }),
  );
  const runs = clients.map((c) => c.run());
  try {
    await coordinator.run();
    await Promise.all(runs);
    await evaluations;
  } finally {
    await coordinator.stop();
  }

  const completed = rows.filter((r) => r.record.outcome === 'completed');
  const uploads = completed.reduce((s, r) => s + r.record.reported.length, 0);
  const uploadBytes = completed.reduce((s, r) => s + r.record.uploadBytes, 0);
  const adapterParams = task.adapterParams;
  const finalAccuracy = rows.at(-1)?.accuracy ?? task.baseAccuracy;
  const summary = {
    rounds: opts.rounds,
    clients: opts.clients,
    privacy: 'trusted',
    seed: opts.seed,
    backend,
    baseAccuracy: round4(task.baseAccuracy),
    finalAccuracy: round4(finalAccuracy),
    abortedRounds: rows.length - completed.length,
    adapterParams,
    uploadBytesPerParam: uploads > 0 ? round4(uploadBytes / (uploads * adapterParams)) : null,
    wallSeconds: round4((Date.now() - started) / 1000),
  };
  say('');
  say(
    `final accuracy ${(finalAccuracy * 100).toFixed(1)}% (base ${(task.baseAccuracy * 100).toFixed(1)}%), ` +
      `${adapterParams} adapter parameters, ${summary.uploadBytesPerParam} upload bytes/parameter, ${summary.wallSeconds} s`,
  );
  if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
  evaluator.dispose();
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

simulate(parseOptions(process.argv.slice(2))).then(
  () => process.exit(0),
  (err: unknown) => {
    const e = toFedwardenError(err);
    process.stderr.write(`simulate failed [${e.code}]: ${e.message}\n`);
    process.exit(1);
  },
);
