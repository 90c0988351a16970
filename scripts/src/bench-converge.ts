/**
 * bench:converge — rounds and wall-clock seconds to a target test accuracy (default 85 %) on the MNIST
 * domain-shift task, for several federation sizes, comparing in one run:
 *
 *   default             fedwarden as `pnpm simulate` runs it: LoRA adapters, the fedwarden strategy, the
 *                       coordinator's default server optimizer and training plan
 *   fedavgm, fedadam,   the same with that server optimizer (aggregation.serverOptimizer, its default η)
 *   fedyogi
 *   full-model-fedavg   every weight of the base model trained and sent (model `full`), plain FedAvg, no server
 *                       optimizer: what DISCO and most frameworks do; same harness, shards and training plan
 *
 *   pnpm bench:converge [--participants 16,50,100] [--methods default,...] [--max-rounds 30] [--target 0.85]
 *                       [--seed 1] [--alpha 0.5] [--out out/converge]
 *
 * Each run is a whole simulated federation (runSimulation: real WebSockets, the post-quantum channel, the
 * coordinator's pipeline) that stops at the first round reaching the target or at --max-rounds. A round's time
 * is its wall time from selection to its stored record, less the harness's scoring of the new global adapter
 * on the 1,500 test digits (simulation.ts, roundSeconds); set-up (base model, connections) is not counted. All
 * participants train in this one process on this machine's cores, so the seconds are the federation's total
 * compute plus protocol time, not what one participant would wait on its own device. Methods of one size run
 * back to back in the same process, so their ratios are the figures to quote on a noisy machine.
 *
 * Prints a table and writes an SVG of accuracy against wall time per size (`<out>/converge.svg`) and the
 * summaries (`<out>/converge.json`); the last line of stdout is JSON with `results`: a list of
 * { participants, method, roundsTo85, secondsTo85 } (null where the target was not reached; the keys say 85
 * whatever --target is, and `target` says which it was).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVER_OPTIMIZERS } from '@fedwarden/coordinator';
import { cumulative, timeToTarget } from './report/convergence.ts';
import { renderSmallMultiples, type Panel } from './report/svg-chart.ts';
import { textTable } from './report/text-table.ts';
import { parseSimulateArgs } from './simulate-options.ts';
import { runSimulation, type SimulationSummary } from './simulation.ts';

/** Each method as the `pnpm simulate` flags that make it. */
const METHODS: Readonly<Record<string, readonly string[]>> = {
  default: [],
  ...Object.fromEntries(SERVER_OPTIMIZERS.filter((k) => k !== 'none').map((k) => [k, ['--server-optimizer', k]])),
  'full-model-fedavg': ['--model', 'full', '--defence', 'fedavg', '--server-optimizer', 'none'],
};

interface Result {
  readonly participants: number;
  readonly method: string;
  readonly roundsTo85: number | null;
  readonly secondsTo85: number | null;
  readonly rounds: number;
  readonly secondsPerRound: number;
  readonly finalAccuracy: number;
  readonly uploadBytesPerRound: number;
  readonly accuracyPerRound: readonly number[];
  readonly roundSeconds: readonly number[];
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      participants: { type: 'string', default: '16,50,100' },
      methods: { type: 'string', default: Object.keys(METHODS).join(',') },
      'max-rounds': { type: 'string', default: '30' },
      target: { type: 'string', default: '0.85' },
      seed: { type: 'string', default: '1' },
      alpha: { type: 'string', default: '0.5' },
      out: { type: 'string', default: 'out/converge' },
    },
  });
  const sizes = values.participants.split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !(Number.isSafeInteger(n) && n >= 1))) throw new Error(`--participants must be positive integers, got "${values.participants}"`);
  const methods = values.methods.split(',').map((s) => s.trim());
  const unknown = methods.filter((m) => !(m in METHODS));
  if (unknown.length > 0) throw new Error(`--methods: unknown ${unknown.join(', ')} (known: ${Object.keys(METHODS).join(', ')})`);
  const target = Number(values.target);
  if (!(target > 0 && target <= 1)) throw new Error(`--target must be in (0, 1], got "${values.target}"`);

  const results: Result[] = [];
  const summaries: SimulationSummary[] = [];
  for (const participants of sizes) {
    for (const method of methods) {
      const command = parseSimulateArgs([
        '--clients', String(participants), '--rounds', values['max-rounds'], '--seed', values.seed, '--alpha', values.alpha, '--quiet', ...(METHODS[method] as string[]),
      ]);
      if (command.mode !== 'single') throw new Error('bench:converge: expected a single run');
      process.stderr.write(`N = ${participants}, ${method} … `);
      const summary = await runSimulation(command.options, () => undefined, { until: (_record, accuracy) => accuracy >= target, coordinatorLogLevel: 'silent' });
      summaries.push(summary);
      const reached = timeToTarget(summary.accuracyPerRound, summary.roundSeconds, target);
      const rounds = summary.accuracyPerRound.length;
      const total = summary.roundSeconds.reduce((a, b) => a + b, 0);
      results.push({
        participants,
        method,
        roundsTo85: reached.rounds,
        secondsTo85: reached.seconds === null ? null : round2(reached.seconds),
        rounds,
        secondsPerRound: round2(total / Math.max(1, rounds)),
        finalAccuracy: summary.finalAccuracy,
        uploadBytesPerRound: Math.round(summary.uploadBytesPerRound),
        accuracyPerRound: summary.accuracyPerRound,
        roundSeconds: summary.roundSeconds,
      });
      process.stderr.write(reached.rounds === null ? `not reached in ${rounds} rounds\n` : `round ${reached.rounds}, ${reached.seconds?.toFixed(1)} s\n`);
    }
  }

  const baseline = (n: number) => results.find((r) => r.participants === n && r.method === 'full-model-fedavg');
  const header = ['N', 'method', `rounds to ${pct(target)}`, 'seconds', 'vs full-model', 's/round', 'final acc', 'upload/round'];
  const lines = textTable(
    header,
    results.map((r) => {
      const full = baseline(r.participants)?.secondsTo85;
      return [
        String(r.participants),
        r.method,
        r.roundsTo85 === null ? `> ${r.rounds}` : String(r.roundsTo85),
        r.secondsTo85 === null ? '-' : r.secondsTo85.toFixed(1),
        r.secondsTo85 !== null && full != null && full > 0 ? `${(r.secondsTo85 / full).toFixed(2)}×` : '-',
        r.secondsPerRound.toFixed(2),
        pct(r.finalAccuracy),
        bytes(r.uploadBytesPerRound),
      ];
    }),
  );
  console.log(`bench:converge — seed ${values.seed}, Dirichlet α ${values.alpha}, target ${pct(target)} test accuracy, at most ${values['max-rounds']} rounds`);
  for (const line of lines) console.log(line);

  const panels: Panel[] = sizes.map((n) => ({
    title: `N = ${n}`,
    xUnit: 's',
    series: results.filter((r) => r.participants === n).map((r) => ({ name: r.method, values: r.accuracyPerRound, x: cumulative(r.roundSeconds) })),
  }));
  await mkdir(values.out, { recursive: true });
  await writeFile(join(values.out, 'converge.svg'), renderSmallMultiples(`test accuracy against wall time (target ${pct(target)})`, panels, Math.min(3, panels.length)));
  await writeFile(join(values.out, 'converge.json'), JSON.stringify({ target, seed: Number(values.seed), alpha: Number(values.alpha), results, summaries }, null, 2) + '\n');
  console.log(`plot: ${join(values.out, 'converge.svg')}; every figure: ${join(values.out, 'converge.json')}`);
  console.log(JSON.stringify({ target, results: results.map(({ participants, method, roundsTo85, secondsTo85 }) => ({ participants, method, roundsTo85, secondsTo85 })) }));
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const round2 = (x: number) => Math.round(x * 100) / 100;
const bytes = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(0)} kB`);

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`bench:converge: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
