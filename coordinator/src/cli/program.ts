/**
 * The `fedwarden` command (commander): coordinator | token | fingerprint | verify | backup | restore, plus simulate | client
 * handed to @fedwarden/sim (delegate.ts). Every command has --help with its options and defaults; an unknown
 * command or option gets a "did you mean"; exit codes are exit-codes.ts's.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { FedwardenError, type Logger } from '@fedwarden/shared';
import type { CoordinatorConfig } from '../config.ts';
import type { CoordinatorOptions } from '../coordinator.ts';
import { dataDirFingerprint } from '../data-dir.ts';
import { databasePath } from '../storage/database.ts';
import { SqliteStore } from '../storage/store.ts';
import { formatVerifyReport } from '../storage/verify.ts';
import { backupCommand, restoreCommand } from './backup-commands.ts';
import { logFormatOption, logLevelOption, parseLogLevel, type LogFormat } from './cli-logger.ts';
import { delegateToSim } from './delegate.ts';
import { EXIT_OK, usageError } from './exit-codes.ts';
import { fedwardenProgram, processIo, runProgram, type CliIo } from './run-program.ts';
import { configFromFile, runCoordinatorCommand } from './run-coordinator.ts';
import { operatorTokenCommand, resetIdentityCommand, tokenCommand } from './token-command.ts';

export interface CliDependencies {
  readonly loadExtensions?: (config: CoordinatorConfig, configDir: string, log: Logger) => Promise<Partial<CoordinatorOptions>>;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export type { CliIo } from './run-program.ts';

/** Build the program; `result` receives the exit code of the command that ran. */
export function buildProgram(io: CliIo, deps: CliDependencies, result: (code: number) => void): Command {
  const print = (line: string) => io.out(line + '\n');
  const program = fedwardenProgram('fedwarden', 'fedwarden: federated learning with post-quantum secure aggregation and Byzantine-robust rounds', io).version(
    packageVersion(),
    '-V, --version',
  );

  program
    .command('coordinator')
    .description('run a federation: listen for participants and run the configured rounds (resumes from the data dir)')
    .option('-c, --config <file>', 'coordinator config (JSON; fields and defaults: see the README) (required)')
    .option('-d, --data-dir <dir>', "data directory for the key and database (overrides the config's dataDir)")
    .option('--init', 'create what the data dir lacks instead of refusing to start: a new database beside an existing key (the federation restarts at round 1), or a new key beside an existing database (participants must pin it)')
    .addOption(logLevelOption("the config's logLevel, else info"))
    .addOption(logFormatOption())
    .addHelpText(
      'after',
      '\nSIGTERM or SIGINT stops it gracefully: the round in progress is interrupted and runs again after a restart.' +
        '\nA data dir with neither key nor database starts a new federation; one holding only one of them is refused (restore it from a backup, or --init).',
    )
    .action(async (o: { config?: string; dataDir?: string; init?: boolean; logLevel?: string; logFormat: LogFormat }) => {
      if (o.config === undefined) throw usageError('coordinator needs --config <file>');
      result(
        await runCoordinatorCommand({
          config: o.config,
          dataDir: o.dataDir,
          init: o.init ?? false,
          logLevel: o.logLevel === undefined ? undefined : parseLogLevel(o.logLevel),
          logFormat: o.logFormat,
          loadExtensions: deps.loadExtensions,
        }),
      );
    });

  program
    .command('token')
    .description('mint an enrolment token for a participant (or, with --operator, the operator token) and print its config entry (only the hash is kept)')
    .argument('[participant-id]', 'stable id: letters, digits, . _ - (not with --operator)')
    .option('-o, --out <file>', 'write the token to this new file (mode 0600) instead of printing it')
    .option('--operator', 'mint the operator token for the operator listener (/readyz, /metrics, dashboard) instead of a participant token')
    .option('--reset-identity', "instead of minting a token: forget the participant's registered identity key, so that its next hello registers a new one (needs --data-dir or --config)")
    .option('-d, --data-dir <dir>', 'with --reset-identity: the coordinator data directory')
    .option('-c, --config <file>', "with --reset-identity: coordinator config (for its dataDir, when --data-dir is not given)")
    .addHelpText('after', '\n--reset-identity works while the coordinator runs; the participant keeps its token.')
    .action((id: string | undefined, o: { out?: string; operator?: boolean; resetIdentity?: boolean; dataDir?: string; config?: string }) => {
      if (o.operator) {
        if (id !== undefined) throw usageError('token --operator takes no participant id');
        if (o.resetIdentity || o.dataDir !== undefined || o.config !== undefined) throw usageError('--operator mints a token only: drop --reset-identity, --data-dir and --config');
        operatorTokenCommand(o, print);
        result(EXIT_OK);
        return;
      }
      if (id === undefined) throw usageError('token needs a <participant-id> (or --operator for the operator token)');
      if (o.resetIdentity) {
        if (o.out !== undefined) throw usageError('--reset-identity mints no token: drop --out');
        const dataDir = o.config !== undefined ? configFromFile(o.config, o.dataDir).dataDir : o.dataDir;
        if (!dataDir) throw usageError('token --reset-identity needs --data-dir <dir> or --config <file>');
        resetIdentityCommand(id, dataDir, print);
      } else {
        if (o.dataDir !== undefined || o.config !== undefined) throw usageError('--data-dir and --config go with --reset-identity only (minting a token touches no data dir)');
        tokenCommand(id, o, print);
      }
      result(EXIT_OK);
    });

  program
    .command('fingerprint')
    .description("print the coordinator key's SHA-256 fingerprint that participants pin (in a data dir with neither, creates the key and database)")
    .option('-c, --config <file>', 'coordinator config (for its dataDir) (required)')
    .option('-d, --data-dir <dir>', "data directory (overrides the config's dataDir)")
    .action((o: { config?: string; dataDir?: string }) => {
      if (o.config === undefined) throw usageError('fingerprint needs --config <file>');
      const config = configFromFile(o.config, o.dataDir);
      print(dataDirFingerprint(config.dataDir).fingerprint);
      result(EXIT_OK);
    });

  program
    .command('verify')
    .description('check the stored rounds, checkpoints and audit chain; exit 1 if anything was altered or lost')
    .option('-d, --data-dir <dir>', 'data directory to check')
    .option('-c, --config <file>', "coordinator config (for its dataDir, when --data-dir is not given)")
    .action((o: { config?: string; dataDir?: string }) => {
      const dataDir = o.dataDir ?? (o.config ? configFromFile(o.config, undefined).dataDir : undefined);
      if (!dataDir) throw usageError('verify needs --data-dir <dir> or --config <file>');
      result(verify(databasePath(dataDir), print));
    });

  program
    .command('backup')
    .description('copy the database (online and consistent: SQLite backup API) and the key into a new backup directory with a manifest; safe while the coordinator runs')
    .option('-d, --data-dir <dir>', 'data directory to back up')
    .option('-c, --config <file>', "coordinator config (for its dataDir, when --data-dir is not given)")
    .option('-o, --out <dir>', 'the backup directory to create; it must not exist (required)')
    .addHelpText('after', '\nThe copy is checked with verify before it is kept. It holds the coordinator key: directory 0700, files 0600.')
    .action(async (o: { config?: string; dataDir?: string; out?: string }) => {
      const dataDir = o.dataDir ?? (o.config ? configFromFile(o.config, undefined).dataDir : undefined);
      if (!dataDir) throw usageError('backup needs --data-dir <dir> or --config <file>');
      if (o.out === undefined) throw usageError('backup needs --out <dir>');
      await backupCommand(dataDir, o.out, print);
      result(EXIT_OK);
    });

  program
    .command('restore')
    .description("restore a backup into a data dir, after checking its files against its manifest and its database with verify")
    .option('--from <dir>', 'the backup directory (required)')
    .option('-d, --data-dir <dir>', 'data directory to restore into')
    .option('-c, --config <file>', "coordinator config (for its dataDir, when --data-dir is not given)")
    .option('--overwrite', 'restore into a data dir that is not empty: its key and database are moved into <data-dir>/replaced-<time>/')
    .addHelpText('after', '\nStop the coordinator of that data dir first. The restored coordinator resumes after the last round the backup holds.')
    .action(async (o: { from?: string; config?: string; dataDir?: string; overwrite?: boolean }) => {
      const dataDir = o.dataDir ?? (o.config ? configFromFile(o.config, undefined).dataDir : undefined);
      if (!dataDir) throw usageError('restore needs --data-dir <dir> or --config <file>');
      if (o.from === undefined) throw usageError('restore needs --from <backup dir>');
      await restoreCommand(o.from, dataDir, o.overwrite ?? false, print);
      result(EXIT_OK);
    });

  for (const [name, description] of [
    ['simulate', 'run a simulated federation on MNIST digits, or a matrix of attacks × defences (@fedwarden/sim)'],
    ['client', 'run one demo participant on a shard of the MNIST task against a coordinator (@fedwarden/sim)'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[args...]', `arguments for \`fedwarden-sim ${name}\` (see fedwarden ${name} --help)`)
      .action(async (args: string[]) => result(await delegateToSim(name, args)));
  }
  return program;
}

function verify(path: string, print: (line: string) => void): number {
  const store = SqliteStore.open(path, { readonly: true });
  try {
    const report = store.verify();
    print(formatVerifyReport(report, path));
    if (!report.ok) throw new FedwardenError('STORAGE_CORRUPT', `verify found problems in ${path} (listed above)`);
    return EXIT_OK;
  } finally {
    store.close();
  }
}

/** Parse and run; never throws: errors print as `error [CODE]: message` and become exit codes. */
export async function runCli(argv: readonly string[], deps: CliDependencies = {}, io: CliIo = processIo): Promise<number> {
  let code: number = EXIT_OK;
  const program = buildProgram(io, deps, (c) => (code = c));
  return runProgram(program, argv, () => code, io);
}
