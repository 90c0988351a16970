/**
 * What every fedwarden command line shares (the `fedwarden` program here, `fedwarden-sim` in @fedwarden/sim):
 * commander set up to print usage errors as `error [USAGE]: …` with a "did you mean" and a pointer to --help,
 * and one mapping from whatever a command throws to its message and exit code (exit-codes.ts).
 */
import { Command, CommanderError } from 'commander';
import { toFedwardenError } from '@fedwarden/shared';
import { EXIT_OK, EXIT_USAGE, exitCodeFor, formatError } from './exit-codes.ts';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export const processIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

export function fedwardenProgram(name: string, description: string, io: CliIo = processIo): Command {
  return new Command(name)
    .description(description)
    .configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      outputError: (text, write) => write(formatError('USAGE', text.replace(/^error: /, ''))),
    })
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true)
    .exitOverride();
}

/**
 * Parse `argv` and run the command; never throws. `result` is the exit code the command reported (0 when it
 * reported none); commander's own exits (help, version, usage errors) and thrown errors are mapped here.
 */
export async function runProgram(program: Command, argv: readonly string[], result: () => number, io: CliIo = processIo): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return result();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    const e = toFedwardenError(err);
    io.err(formatError(e.code, e.message) + '\n');
    return exitCodeFor(e.code);
  }
}
