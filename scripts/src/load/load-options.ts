/** Command-line options of `pnpm bench:load`, parsed and checked (bad input → an error naming the flag). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { STRATEGY_NAMES } from '@fedwarden/coordinator';
import { FedwardenError } from '@fedwarden/shared';
import { LOAD_DEFAULTS, type LoadOptions } from './run-load.ts';

export const LOAD_USAGE =
  'pnpm bench:load [--clients 1000] [--rounds 3] [--processes 2] [--params 4096] [--train-ms 50-200] ' +
  '[--privacy trusted|secagg] [--group-size 5] [--strategy fedavg] [--connect-concurrency 64] [--deadline-ms 60000] ' +
  '[--seed 1] [--cpu-prof DIR] [--json]';

function bad(flag: string, value: string, wanted: string): never {
  throw new FedwardenError('BAD_CONFIG', `bench:load: --${flag} ${JSON.stringify(value)}: ${wanted}`);
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 1)) bad(flag, value, 'a positive integer');
  return n;
}

/** "50-200" (uniform range) or "100" (fixed), ms. */
function trainRange(value: string): { trainMinMs: number; trainMaxMs: number } {
  const m = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(value.trim());
  if (!m) bad('train-ms', value, 'MIN-MAX or a single value, ms');
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  if (max < min) bad('train-ms', value, 'MIN must not exceed MAX');
  return { trainMinMs: min, trainMaxMs: max };
}

/** node:util parseArgs, with its unknown-flag and missing-value errors as BAD_CONFIG. */
function parseStrict<T extends ParseArgsConfig['options']>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new FedwardenError('BAD_CONFIG', `bench:load: ${(err as Error).message}`, { cause: err });
  }
}

export function parseLoadArgs(argv: readonly string[]): { options: LoadOptions; json: boolean } {
  const d = LOAD_DEFAULTS;
  const { values } = parseStrict(argv, {
    clients: { type: 'string', default: String(d.clients) },
    rounds: { type: 'string', default: String(d.rounds) },
    processes: { type: 'string', default: String(d.processes) },
    params: { type: 'string', default: String(d.params) },
    'train-ms': { type: 'string', default: `${d.trainMinMs}-${d.trainMaxMs}` },
    privacy: { type: 'string', default: d.privacy },
    'group-size': { type: 'string', default: String(d.groupSize) },
    strategy: { type: 'string', default: d.strategy },
    'connect-concurrency': { type: 'string', default: String(d.connectConcurrency) },
    'deadline-ms': { type: 'string', default: String(d.deadlineMs) },
    seed: { type: 'string', default: String(d.seed) },
    'cpu-prof': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const privacy = values.privacy;
  if (privacy !== 'trusted' && privacy !== 'secagg') bad('privacy', privacy, 'trusted or secagg');
  if (!(STRATEGY_NAMES as readonly string[]).includes(values.strategy)) bad('strategy', values.strategy, STRATEGY_NAMES.join(', '));
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) bad('seed', values.seed, 'an integer');
  const groupSize = positiveInt('group-size', values['group-size']);
  if (groupSize < 3) bad('group-size', values['group-size'], 'at least 3');
  const options: LoadOptions = {
    clients: positiveInt('clients', values.clients),
    rounds: positiveInt('rounds', values.rounds),
    processes: positiveInt('processes', values.processes),
    params: positiveInt('params', values.params),
    ...trainRange(values['train-ms']),
    privacy,
    groupSize,
    strategy: values.strategy,
    connectConcurrency: positiveInt('connect-concurrency', values['connect-concurrency']),
    deadlineMs: positiveInt('deadline-ms', values['deadline-ms']),
    seed,
    ...(values['cpu-prof'] ? { coordinatorCpuProfDir: values['cpu-prof'] } : {}),
  };
  if (privacy === 'secagg' && options.clients < groupSize) bad('clients', values.clients, `at least --group-size ${groupSize} in secagg mode`);
  return { options, json: values.json };
}
