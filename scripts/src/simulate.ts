/**
 * `fedwarden simulate`: whole federations on one machine (see simulation.ts), or defences × attacks (matrix.ts).
 * Flags: SIMULATE_FLAGS in simulate-options.ts (`fedwarden simulate --help`).
 *
 * A single run prints a per-round table (round, participants, mean local loss, global accuracy, rejected units,
 * alerts) on stderr; with --json it ends with one JSON line summarising the run on stdout.
 *
 * --dropout P: each round, each participant vanishes with probability P at a random stage (before training,
 * or in secure aggregation before encaps, shares, masked or unmask) and rejoins at once for later rounds.
 *
 * --dashboard [PORT]: the coordinator's operator listener on 127.0.0.1 serves the live dashboard during the run;
 * its URL, with a fresh operator token in the fragment, goes to stderr. It closes with the run; an open page
 * keeps what it last showed.
 */
import { FedwardenError } from '@fedwarden/shared';
import { runMatrix } from './matrix.ts';
import { parseSimulateArgs } from './simulate-options.ts';
import { runSimulation } from './simulation.ts';

/** Bad flags are the user's to fix: BAD_CONFIG (exit code 2), not an internal failure. */
function parseOrExplain(argv: string[]): ReturnType<typeof parseSimulateArgs> {
  try {
    return parseSimulateArgs(argv);
  } catch (err) {
    throw new FedwardenError('BAD_CONFIG', err instanceof Error ? err.message : String(err), { cause: err });
  }
}

/** Run `simulate` with its raw flags; throws FedwardenError on failure. */
export async function simulateCommand(argv: string[]): Promise<void> {
  const command = parseOrExplain(argv);
  const say = (line: string) => {
    if (!command.options.quiet) process.stderr.write(line + '\n');
  };
  if (command.mode === 'matrix') {
    const { attacks } = command.matrix;
    say(`fedwarden simulate --matrix: ${attacks.length} attacks × ${command.matrix.defences.length} defences → ${command.matrix.outDir}`);
    await runMatrix({ ...command.matrix, attackSettings: command.options.attackSettings, say });
    say(`wrote ${command.matrix.outDir}/matrix.md, matrix.csv and accuracy.svg`);
    return;
  }
  // The dashboard's address is printed even with --quiet: it is what --dashboard asked for.
  const summary = await runSimulation(command.options, say, {
    dashboard: (url) => {
      process.stderr.write(`dashboard: ${url}\n`);
    },
  });
  say('');
  say(
    `final accuracy ${(summary.finalAccuracy * 100).toFixed(1)}% (base ${(summary.baseAccuracy * 100).toFixed(1)}%), ` +
      `${summary.adapterParams} adapter parameters, ${summary.uploadBytesPerParam} upload bytes/parameter, ${summary.wallSeconds} s` +
      (summary.detection ? `; detection precision ${summary.detection.precision}, recall ${summary.detection.recall}` : ''),
  );
  if (command.options.json) process.stdout.write(JSON.stringify(summary) + '\n');
}
