/**
 * pnpm simulate --matrix: defences × attacks on one seed. Each cell is a separate `simulate --json` process
 * (a fresh coordinator, model and adversary), run as many at a time as the machine has cores. Writes
 * matrix.md (final accuracy, and detection for each cell), matrix.csv (one row per cell, with the isolation
 * forest's scored unit-rounds behind its alert rates and the accuracy of every round) and accuracy.svg
 * (accuracy per round: a panel per attack, a line per defence).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AttackSetting } from './attacks/attack-settings.ts';
import type { AlertRates } from './report/alert-rates.ts';
import { renderSmallMultiples } from './report/svg-chart.ts';

export interface CellSummary {
  readonly attack: string;
  readonly defence: string;
  readonly finalAccuracy: number;
  readonly baseAccuracy: number;
  readonly accuracyPerRound: readonly number[];
  readonly detection: { readonly precision: number | null; readonly recall: number | null; readonly flagged: number } | null;
  readonly alertRates: AlertRates;
  readonly wallSeconds: number;
}

export interface MatrixOptions {
  readonly attacks: readonly string[];
  readonly defences: readonly string[];
  /** Flags passed to every cell (clients, rounds, seed, byzantine, privacy…). */
  readonly cellArgs: readonly string[];
  /** --attack-option settings: each cell gets those naming its attack. */
  readonly attackSettings: readonly AttackSetting[];
  readonly outDir: string;
  readonly say: (line: string) => void;
}

export async function runMatrix(opts: MatrixOptions): Promise<CellSummary[]> {
  const cells = opts.attacks.flatMap((attack) => opts.defences.map((defence) => ({ attack, defence })));
  const results: CellSummary[] = [];
  let next = 0;
  let done = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < cells.length) {
      const cell = cells[next++]!;
      const result = await runCell(cell.attack, cell.defence, [...opts.cellArgs, ...settingArgs(opts.attackSettings, cell.attack)]);
      results.push(result);
      done++;
      const eta = ((Date.now() - started) / done) * (cells.length - done);
      opts.say(
        `  [${done}/${cells.length}] ${cell.attack} × ${cell.defence}: final accuracy ${(result.finalAccuracy * 100).toFixed(1)}%` +
          ` (${result.wallSeconds.toFixed(0)} s; about ${Math.ceil(eta / 60_000)} min left)`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(availableParallelism(), cells.length) }, worker));
  const ordered = cells.map((c) => results.find((r) => r.attack === c.attack && r.defence === c.defence)!);
  mkdirSync(opts.outDir, { recursive: true });
  writeFileSync(join(opts.outDir, 'matrix.md'), markdown(ordered, opts));
  writeFileSync(join(opts.outDir, 'matrix.csv'), csv(ordered));
  writeFileSync(
    join(opts.outDir, 'accuracy.svg'),
    renderSmallMultiples(
      'global accuracy per round',
      opts.attacks.map((attack) => ({
        title: attack,
        series: ordered.filter((r) => r.attack === attack).map((r) => ({ name: r.defence, values: r.accuracyPerRound })),
      })),
    ),
  );
  return ordered;
}

function settingArgs(settings: readonly AttackSetting[], attack: string): string[] {
  return settings.filter((s) => s.attack === attack).flatMap((s) => ['--attack-option', s.text]);
}

/** Each cell is its own process running this package's CLI: sources through tsx in the workspace, else dist/. */
function cellCommand(): string[] {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(fromSources ? './sim-cli.ts' : './sim-cli.js', import.meta.url));
  return [...(fromSources ? ['--import', 'tsx'] : []), entry, 'simulate'];
}

function runCell(attack: string, defence: string, args: readonly string[]): Promise<CellSummary> {
  const argv = [...cellCommand(), ...args, '--attack', attack, '--defence', defence, '--json', '--quiet'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`cell ${attack} × ${defence} failed (${code}): ${stderr.trim().split('\n').at(-1)}`));
      try {
        resolve(JSON.parse(last) as CellSummary);
      } catch {
        reject(new Error(`cell ${attack} × ${defence}: no JSON summary on stdout`));
      }
    });
  });
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}`);

function markdown(rows: readonly CellSummary[], opts: MatrixOptions): string {
  const lines = [
    `# Defences × attacks`,
    '',
    `Final global accuracy (%) on held-out rotated digits. Cell flags: \`${opts.cellArgs.join(' ')}\`` +
      (opts.attackSettings.length > 0 ? `; attack options: \`${opts.attackSettings.map((s) => s.text).join(' ')}\`.` : '.'),
    '',
    `| attack | ${opts.defences.join(' | ')} |`,
    `|---|${opts.defences.map(() => '---:').join('|')}|`,
  ];
  for (const attack of opts.attacks) {
    const cells = opts.defences.map((d) => rows.find((r) => r.attack === attack && r.defence === d)!);
    const best = Math.max(...cells.map((c) => c.finalAccuracy));
    lines.push(`| ${attack} | ${cells.map((c) => (c.finalAccuracy === best ? `**${pct(c.finalAccuracy)}**` : pct(c.finalAccuracy))).join(' | ')} |`);
  }
  lines.push('', 'Detection of Byzantine participants at the end (precision / recall, from reputation), and isolation-forest alert');
  lines.push('rates (%) per scored unit-round, Byzantine / honest (rounds the forest skipped, round 1 always, do not count):', '');
  lines.push(`| attack | ${opts.defences.join(' | ')} |`, `|---|${opts.defences.map(() => '---').join('|')}|`);
  for (const attack of opts.attacks) {
    const cells = opts.defences.map((d) => rows.find((r) => r.attack === attack && r.defence === d)!);
    lines.push(
      `| ${attack} | ${cells
        .map((c) => `${pct(c.detection?.precision)} / ${pct(c.detection?.recall)}; IF ${pct(c.alertRates.byzantine)} / ${pct(c.alertRates.honest)}`)
        .join(' | ')} |`,
    );
  }
  return lines.join('\n') + '\n';
}

function csv(rows: readonly CellSummary[]): string {
  const header = 'attack,defence,final_accuracy,base_accuracy,precision,recall,flagged,alert_rate_byzantine,alert_rate_honest,scored_unit_rounds_byzantine,scored_unit_rounds_honest,wall_seconds,accuracy_per_round';
  const body = rows.map((r) =>
    [
      r.attack,
      r.defence,
      r.finalAccuracy,
      r.baseAccuracy,
      r.detection?.precision ?? '',
      r.detection?.recall ?? '',
      r.detection?.flagged ?? '',
      r.alertRates.byzantine ?? '',
      r.alertRates.honest ?? '',
      r.alertRates.byzantineUnits,
      r.alertRates.honestUnits,
      r.wallSeconds,
      r.accuracyPerRound.join(';'),
    ].join(','),
  );
  return [header, ...body].join('\n') + '\n';
}
