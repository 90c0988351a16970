/**
 * Prints the disaggregation table of docs/secure-groups.md: for each secure-group policy, the rank of the
 * participation matrix an observer of group sums collects over R rounds, and how many participants' updates it
 * determines (report/disaggregation.ts; Lam et al., ICML 2021). 50 participants, groups of 5, 10 % absent per
 * round, averaged over absence seeds.
 *
 *   pnpm exec tsx scripts/src/secure-groups-table.ts [--rounds 100] [--seeds 10]
 */
import { parseArgs } from 'node:util';
import { groupingKeyFromSeed, type GroupPolicy } from '@fedwarden/coordinator';
import { disaggregationCurve, roundsToFullRank, type DisaggregationPoint } from './report/disaggregation.ts';

const N = 50;
const GROUP = 5;
const ABSENCE = 0.1;
const CHECKPOINTS = [1, 2, 5, 10, 20, 50, 100];

interface Row {
  readonly label: string;
  readonly policy: GroupPolicy;
  readonly minGroupSize: number;
  readonly scores?: readonly number[];
}

/** Reputation as the coordinator would hold it late in a run: 40 participants tied high, 10 suspects tied low. */
const TWO_LEVELS = Array.from({ length: N }, (_, i) => (i % 5 === 0 ? 0.2 : 0.9));
/** Every participant a score of its own (no ties), fixed over the rounds. */
const DISTINCT = Array.from({ length: N }, (_, i) => 1 - i / N);

const ROWS: readonly Row[] = [
  { label: 'fixed, minGroupSize 5', policy: 'fixed', minGroupSize: 5 },
  { label: 'fixed, minGroupSize 4 (default)', policy: 'fixed', minGroupSize: 4 },
  { label: 'fixed, minGroupSize 3', policy: 'fixed', minGroupSize: 3 },
  { label: 'reshuffle', policy: 'reshuffle', minGroupSize: GROUP },
  { label: 'reputation, 2 score levels (40 / 10)', policy: 'reputation', minGroupSize: GROUP, scores: TWO_LEVELS },
  { label: 'reputation, 50 distinct scores', policy: 'reputation', minGroupSize: GROUP, scores: DISTINCT },
];

function main(): void {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '100' }, seeds: { type: 'string', default: '10' } } });
  const rounds = Number(values.rounds);
  const seeds = Number(values.seeds);
  if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got "${values.rounds}"`);
  if (!Number.isSafeInteger(seeds) || seeds < 1) throw new Error(`--seeds must be a positive integer, got "${values.seeds}"`);
  const checkpoints = CHECKPOINTS.filter((r) => r <= rounds);
  console.log(`${N} participants, groups of ${GROUP}, ${ABSENCE * 100} % absent per round, ${rounds} rounds, mean of ${seeds} seeds; cell: rank / solvable participants`);
  console.log('');
  console.log(`| policy | ${checkpoints.map((r) => `R = ${r}`).join(' | ')} | rank ${N} after (median) | sat out per round |`);
  console.log(`|---|${checkpoints.map(() => '---:').join('|')}|---:|---:|`);
  for (const row of ROWS) {
    const curves: DisaggregationPoint[][] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      curves.push(
        disaggregationCurve({
          participants: N,
          groupSize: GROUP,
          minGroupSize: row.minGroupSize,
          policy: row.policy,
          ...(row.scores ? { scores: row.scores } : {}),
          absence: ABSENCE,
          rounds,
          key: groupingKeyFromSeed(seed),
          seed,
        }),
      );
    }
    const mean = (f: (p: DisaggregationPoint) => number, r: number) => curves.reduce((s, c) => s + f(c[r - 1] as DisaggregationPoint), 0) / curves.length;
    const cells = checkpoints.map((r) => `${mean((p) => p.rank, r).toFixed(0)} / ${mean((p) => p.solvable, r).toFixed(0)}`);
    const full = curves.map((c) => roundsToFullRank(c, N) ?? Infinity).sort((a, b) => a - b);
    const median = full[Math.floor((full.length - 1) / 2)] as number;
    const satOut = curves.reduce((s, c) => s + c.reduce((t, p) => t + p.satOut, 0) / c.length, 0) / curves.length;
    console.log(`| ${row.label} | ${cells.join(' | ')} | ${Number.isFinite(median) ? median : `never (> ${rounds})`} | ${satOut.toFixed(1)} |`);
  }
}

main();
