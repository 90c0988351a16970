#!/usr/bin/env node
/**
 * `fedwarden-sim`: the simulation and demo-participant commands, run as `fedwarden simulate …` and
 * `fedwarden client …` (the coordinator's CLI hands them here) or directly. Help, suggestions, error format and
 * exit codes (0 done, 1 runtime, 2 usage) are those of the `fedwarden` command.
 */
import { Option, type Command } from 'commander';
import { EXIT_OK, cliLogger, fedwardenProgram, logFormatOption, logLevelOption, parseLogLevel, runProgram, usageError, type LogFormat } from '@fedwarden/coordinator';
import { TOKEN_ENV } from '@fedwarden/shared';
import { SIMULATE_FLAGS, type FlagSpec } from './simulate-options.ts';

// The commands load TensorFlow.js and the task on import: they are imported when they run, so that --help and
// usage errors answer at once.

function simulateOptions(cmd: Command): Command {
  for (const [name, f] of Object.entries(SIMULATE_FLAGS) as [string, FlagSpec][]) {
    const flags = f.type === 'boolean' ? `--${name}` : f.optional ? `--${name} [${f.value ?? 'value'}]` : `--${name} <${f.value ?? 'value'}>`;
    const option = new Option(flags, f.help);
    if (f.type === 'string' && f.default !== undefined) option.default(f.default);
    cmd.addOption(option);
  }
  return cmd;
}

export async function runSimCli(argv: readonly string[]): Promise<number> {
  const program = fedwardenProgram('fedwarden', 'fedwarden simulations and the MNIST demo participant (@fedwarden/sim)');

  simulateOptions(
    program
      .command('simulate')
      .description('run a simulated federation on MNIST digits (coordinator and participants in one process, real sockets and crypto), or --matrix'),
  ).action(async () => {
    // commander has checked the flags (help, unknown ones, suggestions); the run parses the same flags itself.
    const { simulateCommand } = await import('./simulate.ts');
    await simulateCommand(argv.slice(1)); // argv[0] is 'simulate': the program has no options of its own
  });

  program
    .command('client')
    .description('run one demo participant on a shard of the MNIST task against a coordinator')
    .option('--url <url>', "the coordinator's WebSocket URL, e.g. ws://host:8787")
    .option('--fingerprint <hex>', "the coordinator key's fingerprint (`fedwarden fingerprint`)")
    .option('--token-file <file>', `file holding the participant's enrolment token (mode 0600); default: $${TOKEN_ENV}`)
    .addOption(new Option('--token <token>', 'refused: a token on the command line shows in ps and shell history').hideHelp())
    .option('--identity-file <file>', "file holding the participant's identity seed (created with mode 0600 on first use; keep it: the coordinator refuses another key for this participant); default: an ephemeral identity")
    .option('--shard <i>', 'which shard of the task this participant holds', '0')
    .option('--shards <n>', 'how many shards the task is split into', '10')
    .option('--seed <n>', 'seed of the task split and local training', '1')
    .option('--alpha <a>', 'Dirichlet α of the non-IID split', '0.5')
    .addOption(logLevelOption('info'))
    .addOption(logFormatOption())
    .action(async (o: Record<string, string | undefined>) => {
      if (o.token !== undefined) {
        throw usageError(`--token is not accepted: a token on the command line shows in ps and shell history; use --token-file <file> or $${TOKEN_ENV}`);
      }
      if (!o.url || !o.fingerprint) throw usageError('client needs --url <ws://…> and --fingerprint <hex>');
      const { clientCommand } = await import('./client.ts');
      const log = cliLogger(parseLogLevel(o.logLevel ?? 'info'), 'client', o.logFormat as LogFormat);
      await clientCommand(
        { url: o.url, fingerprint: o.fingerprint, tokenFile: o.tokenFile, identityFile: o.identityFile, shard: o.shard!, shards: o.shards!, seed: o.seed!, alpha: o.alpha! },
        log,
      );
    });

  return runProgram(program, argv, () => EXIT_OK); // a command that fails throws
}

process.exit(await runSimCli(process.argv.slice(2)));
