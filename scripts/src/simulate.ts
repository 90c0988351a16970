/**
 * fedwarden simulate: whole federations on one machine (see simulation.ts), or defences × attacks (matrix.ts).
 *
 *   pnpm simulate [--clients 10] [--rounds 10] [--seed 1] [--alpha 0.5] [--epochs 2] [--batch-size 32] [--lr 0.003]
 *                 [--privacy trusted|secagg] [--group-size 5] [--dropout 0]
 *                 [--attack none|<name>] [--attack-option <name>.<option>=<value>]… [--byzantine 0]
 *                 [--defence fedwarden|fedavg|median|…] [--json] [--quiet]
 *   pnpm simulate --matrix [--attacks a,b] [--defences x,y] [--out dir]   (defaults: 50 clients, 30 rounds, 20 % Byzantine)
 *
 * A single run prints a per-round table (round, participants, mean local loss, global accuracy, rejected units,
 * alerts); with --json it ends with one JSON line summarising the run.
 *
 * --dropout P: each round, each participant vanishes with probability P at a random stage (before training,
 * or in secure aggregation before encaps, shares, masked or unmask) and rejoins at once for later rounds.
 */
import { FedwardenError, toFedwardenError } from '@fedwarden/shared';
import { runMatrix } from './matrix.ts';
import { parseSimulateArgs } from './simulate-options.ts';
import { runSimulation } from './simulation.ts';

/** Bad flags are the user's to fix: BAD_CONFIG and exit code 2, not an internal failure. */
function parseOrExplain(argv: string[]): ReturnType<typeof parseSimulateArgs> {
  try {
    return parseSimulateArgs(argv);
  } catch (err) {
    throw new FedwardenError('BAD_CONFIG', err instanceof Error ? err.message : String(err), { cause: err });
  }
}

async function main(argv: string[]): Promise<void> {
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
  const summary = await runSimulation(command.options, say);
  say('');
  say(
    `final accuracy ${(summary.finalAccuracy * 100).toFixed(1)}% (base ${(summary.baseAccuracy * 100).toFixed(1)}%), ` +
      `${summary.adapterParams} adapter parameters, ${summary.uploadBytesPerParam} upload bytes/parameter, ${summary.wallSeconds} s` +
      (summary.detection ? `; detection precision ${summary.detection.precision}, recall ${summary.detection.recall}` : ''),
  );
  if (command.options.json) process.stdout.write(JSON.stringify(summary) + '\n');
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    const e = toFedwardenError(err);
    process.stderr.write(`simulate failed [${e.code}]: ${e.message}\n`);
    process.exit(e.code === 'BAD_CONFIG' ? 2 : 1);
  },
);
