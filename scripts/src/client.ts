/**
 * `fedwarden client`: one participant on a shard of the MNIST domain-shift task against a running coordinator.
 * The shard is the same Dirichlet partition `fedwarden simulate` uses, so several such processes with different
 * --shard values reproduce the simulated federation across machines. The enrolment token comes from
 * --token-file or FEDWARDEN_TOKEN, never from the command line.
 *
 * The participant's identity seed lives in --identity-file (created with mode 0600 on first use): the coordinator
 * registers the identity key at the first hello and refuses another one later. Without the file the identity
 * lives as long as the process, and a restarted participant is refused (IDENTITY_MISMATCH) until the operator
 * runs `fedwarden token <id> --reset-identity`.
 */
import { existsSync } from 'node:fs';
import { FederatedClient, initTensorFlow, loadIdentityFile } from '@fedwarden/client';
import { FedwardenError, deriveSeed, readToken, roundFigure, roundMs, type Logger } from '@fedwarden/shared';
import { prepareMnistTask } from './task/mnist-task.ts';

export interface ClientCommandOptions {
  readonly url: string;
  readonly fingerprint: string;
  readonly tokenFile?: string;
  readonly identityFile?: string;
  readonly shard: string;
  readonly shards: string;
  readonly seed: string;
  readonly alpha: string;
}

function integer(name: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new FedwardenError('BAD_CONFIG', `--${name} must be an integer in ${min}..${max}, got "${v}"`);
  return n;
}

/** The seed in --identity-file (created on first use), or undefined for an identity that dies with the process. */
function identitySeed(identityFile: string | undefined, log: Logger): Uint8Array | undefined {
  if (identityFile === undefined) {
    log.warn(
      'no --identity-file: this participant\'s identity key is ephemeral; once the coordinator has registered it, ' +
        'a restart of this participant is refused (IDENTITY_MISMATCH) until the operator runs `fedwarden token <id> --reset-identity`',
    );
    return undefined;
  }
  const existed = existsSync(identityFile);
  const seed = loadIdentityFile(identityFile, { create: true });
  if (!existed) log.info('created the identity file (mode 0600); keep it with this participant and never share it', { identityFile });
  return seed;
}

export async function clientCommand(o: ClientCommandOptions, log: Logger): Promise<void> {
  if (!/^wss?:\/\//.test(o.url)) throw new FedwardenError('BAD_CONFIG', `--url must be a ws:// or wss:// URL, got "${o.url}"`);
  if (!/^[0-9a-f]{64}$/.test(o.fingerprint)) {
    throw new FedwardenError('BAD_CONFIG', '--fingerprint must be the 64 hex characters `fedwarden fingerprint` prints');
  }
  const token = readToken(o.tokenFile);
  const identity = identitySeed(o.identityFile, log);
  const shards = integer('shards', o.shards, 1);
  const shard = integer('shard', o.shard, 0, shards - 1);
  const seed = integer('seed', o.seed, 0);
  const alpha = Number(o.alpha);
  if (!(alpha > 0 && Number.isFinite(alpha))) throw new FedwardenError('BAD_CONFIG', `--alpha must be a positive number, got "${o.alpha}"`);

  const backend = await initTensorFlow();
  const task = await prepareMnistTask({ seed, clients: shards, alpha, onProgress: (m) => log.info(m) });
  const data = task.shards[shard]!;
  log.info('participant ready', { backend, shard, samples: data.count });
  const model = task.createModel();
  const client = new FederatedClient({ url: o.url, fingerprint: o.fingerprint, token, identity, model, data, seed: deriveSeed(seed, 1000 + shard), logger: log });
  identity?.fill(0); // the client keeps the key pair derived from it
  log.info('participant identity', { fingerprint: client.identityFingerprint, ...(o.identityFile ? { identityFile: o.identityFile } : { ephemeral: true }) });
  client.on('uploaded', (round, r) => log.info(`round ${round}: update uploaded`, { round, meanLoss: roundFigure(r.meanLoss), trainMs: roundMs(r.trainMs) }));
  client.on('roundEnd', (round, outcome, reason) => log.info(`round ${round} ${outcome}`, { round, outcome, reason }));
  try {
    const summary = await client.run();
    model.setWeights(summary.global);
    const evaluation = await model.evaluate(task.test);
    log.info('federation finished', {
      participantId: summary.participantId,
      roundsTrained: summary.roundsTrained,
      globalAccuracy: roundFigure(evaluation.accuracy),
    });
  } finally {
    model.dispose();
  }
}
