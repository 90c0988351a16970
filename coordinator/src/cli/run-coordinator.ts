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
 *
 * The data dir is opened through data-dir.ts: a key without its database or a database without its key is
 * refused unless `init` (--init) says to create what is missing. With config `backups`, the coordinator takes
 * scheduled backups (storage/backup-schedule.ts); stopping stops the coordinator first, then waits for the backup in
 * progress (one queued behind it is dropped). The data dir is locked (data-dir-lock.ts) while the coordinator runs,
 * so that `fedwarden restore` refuses it.
 */
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { toFedwardenError, type Logger, type LogLevel } from '@fedwarden/shared';
import { checkEnrolment, loadConfig, type CoordinatorConfig } from '../config.ts';
import { Coordinator, type CoordinatorOptions } from '../coordinator.ts';
import { lockDataDir } from '../data-dir-lock.ts';
import { openDataDir } from '../data-dir.ts';
import { BackupSchedule } from '../storage/backup-schedule.ts';
import { cliLogger, type LogFormat } from './cli-logger.ts';
import { EXIT_OK } from './exit-codes.ts';

export interface CoordinatorCommandOptions {
  readonly config: string;
  readonly dataDir?: string;
  readonly logLevel?: LogLevel;
  readonly logFormat?: LogFormat;
  /** Create what the data dir lacks (a new database, or a new key) instead of refusing to start (data-dir.ts). */
  readonly init?: boolean;
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
  const extensions = opts.loadExtensions ? await opts.loadExtensions(config, dirname(opts.config), log) : {};
  const lock = lockDataDir(config.dataDir, 'coordinator');
  if (lock.tookOver) log.warn('took over the data dir lock of a process that is gone', { lock: lock.path, pid: lock.tookOver.pid, holder: lock.tookOver.holder, since: lock.tookOver.since });
  try {
    return await runOnDataDir(opts, config, log, extensions);
  } finally {
    lock.release();
  }
}

async function runOnDataDir(opts: CoordinatorCommandOptions, config: CoordinatorConfig, log: Logger, extensions: Partial<CoordinatorOptions>): Promise<number> {
  const { identity, store, created } = openDataDir(config.dataDir, { init: opts.init });
  if (created.key && created.database) log.info('new federation: generated the coordinator key and created the database', { dataDir: config.dataDir });
  else if (created.database) log.warn('--init: created a new database under the existing key; the federation starts again at round 1', { dataDir: config.dataDir });
  else if (created.key) log.warn('--init: generated a new coordinator key for the existing database; participants must pin its fingerprint', { dataDir: config.dataDir, fingerprint: identity.fingerprint });
  else if (created.keyAdopted) log.warn('--init: adopted the coordinator key in the data dir for its database; participants must pin its fingerprint', { dataDir: config.dataDir, fingerprint: identity.fingerprint });
  let coordinator: Coordinator;
  try {
    coordinator = new Coordinator(config, identity, log, { ...extensions, store });
  } catch (err) {
    store.close();
    throw err;
  }
  const backups = config.backups
    ? new BackupSchedule({ dataDir: config.dataDir, copyDatabase: (to) => store.backupTo(to) }, config.backups, log)
    : undefined;
  if (backups) {
    coordinator.on('round', (record) => backups.roundFinished(record.round));
    backups.start();
  }
  // No new backups (the queued one dropped), then the coordinator (no new participants, the round aborted), then
  // the backup in progress, which copies through the coordinator's connection: the store closes that connection
  // once the copy settles.
  const stopCoordinator = async () => {
    const backupsStopped = backups?.stop(); // stops new backups at once; resolves when the one in progress ends
    try {
      await coordinator.stop();
    } finally {
      await backupsStopped;
    }
  };
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
    stopped = stopCoordinator();
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
    // The federation's end (not a signal): the backup queued behind the one in progress holds the last round, so
    // it is taken before the coordinator stops, not dropped as a signal's stop drops it.
    if (!stopped) await backups?.settled();
    await (stopped ?? stopCoordinator());
    log.info('federation finished', { rounds: config.rounds.count });
    return EXIT_OK;
  } catch (err) {
    await stopCoordinator().catch((e: unknown) => log.error('shutdown failed', { err: toFedwardenError(e).message }));
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
