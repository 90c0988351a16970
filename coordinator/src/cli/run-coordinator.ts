/**
 * `fedwarden coordinator`: run the configured rounds, resuming from the data dir.
 *
 * SIGTERM / SIGINT: stop accepting participants, abort the round in progress (stored as interrupted; the next
 * start runs it again), close sockets with 1001 and the database, exit 0. A second signal exits at once
 * (128 + signal number); storage stays consistent, since every commit is already durable.
 *
 * After the last round the process stays up until every participant that connected has confirmed the end of
 * the federation, at most rounds.finishGraceMs: one whose link broke in the last round reconnects and gets the
 * final adapter instead of retrying against a closed port (finish-confirmations.ts).
 */
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { toFedwardenError, type Logger, type LogLevel } from '@fedwarden/shared';
import { checkEnrolment, loadConfig, type CoordinatorConfig } from '../config.ts';
import { Coordinator, type CoordinatorOptions } from '../coordinator.ts';
import { loadOrCreateIdentity } from '../identity.ts';
import { databasePath } from '../storage/database.ts';
import { SqliteStore } from '../storage/store.ts';
import { cliLogger, type LogFormat } from './cli-logger.ts';
import { EXIT_OK } from './exit-codes.ts';

export interface CoordinatorCommandOptions {
  readonly config: string;
  readonly dataDir?: string;
  readonly logLevel?: LogLevel;
  readonly logFormat?: LogFormat;
  /** Extension points loaded from the config file (strategy, evaluator, reference), resolved by the caller. */
  readonly loadExtensions?: (config: CoordinatorConfig, configDir: string, log: Logger) => Promise<Partial<CoordinatorOptions>>;
}

/** Config file plus command-line overrides. */
export function configFromFile(path: string, dataDir: string | undefined): CoordinatorConfig {
  const loaded = loadConfig(path);
  return dataDir === undefined ? loaded : { ...loaded, dataDir };
}

export async function runCoordinatorCommand(opts: CoordinatorCommandOptions): Promise<number> {
  const config = configFromFile(opts.config, opts.dataDir);
  checkEnrolment(config); // before a key or database is created for a federation that could never start
  const log = cliLogger(opts.logLevel ?? config.logLevel, 'coordinator', opts.logFormat);
  const { identity, created } = loadOrCreateIdentity(config.dataDir);
  if (created) log.info('generated the coordinator key', { dataDir: config.dataDir });
  const extensions = opts.loadExtensions ? await opts.loadExtensions(config, dirname(opts.config), log) : {};
  const store = SqliteStore.open(databasePath(config.dataDir));
  const coordinator = new Coordinator(config, identity, log, { ...extensions, store });
  let stopSignal: NodeJS.Signals | undefined;
  let stopped: Promise<void> | undefined;
  let stopRequested: () => void = () => undefined;
  const stopRequest = new Promise<void>((resolve) => (stopRequested = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopSignal !== undefined) {
      log.warn('second signal: exiting now; the next start records the round in progress as interrupted', { signal });
      process.exit(128 + constants.signals[signal]);
    }
    stopSignal = signal;
    log.info(`${signal}: stopping; the round in progress is aborted and runs again after a restart`, { signal });
    stopped = coordinator.stop();
    stopRequested();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await coordinator.listen(); // logs 'coordinator listening' with host, port and the key fingerprint to pin
    await coordinator.run();
    if (stopped) {
      await stopped;
      log.info('stopped', { signal: stopSignal });
      return EXIT_OK;
    }
    // Participants whose link broke in the last round come back to hear that the federation is finished.
    const graceMs = config.rounds.finishGraceMs;
    const unconfirmed = (await coordinator.finishHeard(0)).length;
    if (unconfirmed > 0) log.info('federation finished; waiting for participants to hear it', { unconfirmed, graceMs });
    const missing = await Promise.race([coordinator.finishHeard(graceMs), stopRequest.then(() => [])]);
    if (missing.length > 0 && !stopped) {
      log.warn('federation finished, but some participants never confirmed hearing it', { participants: missing, graceMs });
    }
    await (stopped ?? coordinator.stop());
    log.info('federation finished', { rounds: config.rounds.count });
    return EXIT_OK;
  } catch (err) {
    await coordinator.stop().catch((e: unknown) => log.error('shutdown failed', { err: toFedwardenError(e).message }));
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
