/**
 * fedwarden simulate: a whole federation in one process — a coordinator and N participants over real loopback
 * WebSockets and the real post-quantum channel — on the MNIST domain-shift task (see task/mnist-task.ts).
 *
 *   pnpm simulate [--clients 10] [--rounds 10] [--seed 1] [--alpha 0.5] [--epochs 2] [--batch-size 32]
 *                 [--lr 0.003] [--privacy trusted|secagg] [--group-size 5] [--dropout 0] [--json] [--quiet]
 *
 * --dropout P: each round, each participant vanishes with probability P at a random stage (before training,
 * or in secure aggregation before encaps, shares, masked or unmask): it disconnects and rejoins at once for
 * later rounds, as a node on a flaky link would.
 *
 * Prints a per-round table (round, participants, mean local loss, global accuracy); with --json, ends with
 * one JSON line summarising the run.
 */
import { parseArgs } from 'node:util';
import { Coordinator, ephemeralIdentity, generateToken, hashToken, parseConfig, type RoundRecord } from '@fedwarden/coordinator';
import { initTensorFlow } from '@fedwarden/client';
import { createLogger, deriveSeed, toFedwardenError } from '@fedwarden/shared';
import { SimulatedParticipant } from './simulated-participant.ts';
import { prepareMnistTask } from './task/mnist-task.ts';

interface SimulationOptions {
  clients: number;
  rounds: number;
  seed: number;
  alpha: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  privacy: 'trusted' | 'secagg';
  groupSize: number;
  dropout: number;
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
      'group-size': { type: 'string', default: '5' },
      dropout: { type: 'string', default: '0' },
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
  if (values.privacy !== 'trusted' && values.privacy !== 'secagg') {
    throw new Error(`--privacy must be "trusted" or "secagg", got "${values.privacy}"`);
  }
  const dropout = Number(values.dropout);
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`--dropout must be in [0, 1), got "${values.dropout}"`);
  return {
    clients: int('clients', values.clients, 1),
    rounds: int('rounds', values.rounds, 1),
    seed: int('seed', values.seed, 0),
    alpha: num('alpha', values.alpha),
    epochs: int('epochs', values.epochs, 1),
    batchSize: int('batch-size', values['batch-size'], 1),
    learningRate: num('lr', values.lr),
    privacy: values.privacy,
    groupSize: int('group-size', values['group-size'], 3),
    dropout,
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
  say(
    `fedwarden simulate: ${opts.clients} participants, ${opts.rounds} rounds, seed ${opts.seed}, ` +
      `privacy ${opts.privacy}${opts.privacy === 'secagg' ? ` (groups of ${opts.groupSize})` : ''}, ` +
      `dropout ${opts.dropout}, tfjs backend ${backend}`,
  );
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
    privacy: opts.privacy,
    secagg: { groupSize: opts.groupSize, stageTimeoutMs: 60_000 },
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

  const participants = task.shards.map(
    (shard, i) =>
      new SimulatedParticipant(
        {
          url: `ws://127.0.0.1:${port}`,
          fingerprint: coordinator.identity.fingerprint,
          token: tokens[i] as string,
          model: task.createModel(),
          data: shard,
          seed: deriveSeed(opts.seed, 1000 + i),
        },
        opts.privacy,
        opts.dropout,
        deriveSeed(opts.seed, 2000 + i),
      ),
  );
  participants.forEach((p) => p.start());
  try {
    await coordinator.run();
    await Promise.all(participants.map((p) => p.finished()));
    await evaluations;
  } finally {
    participants.forEach((p) => p.stop());
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
    privacy: opts.privacy,
    groupSize: opts.privacy === 'secagg' ? opts.groupSize : null,
    dropoutRate: opts.dropout,
    seed: opts.seed,
    backend,
    baseAccuracy: round4(task.baseAccuracy),
    finalAccuracy: round4(finalAccuracy),
    abortedRounds: rows.length - completed.length,
    dropped: rows.reduce((s, r) => s + r.record.dropped.length, 0),
    vanished: participants.reduce((s, p) => s + p.vanished, 0),
    secaggSeconds:
      opts.privacy === 'secagg'
        ? round4(
            (rows.reduce((s, r) => s + r.record.protocolMs, 0) + participants.reduce((s, p) => s + p.secaggMs, 0)) / 1000,
          )
        : 0,
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
