/**
 * bench:robust — time of the fedwarden strategy's filtering per aggregation round, by step, for synthetic
 * units (80 % honest around a common direction with non-IID spread, 20 % attackers: sign flips, identical
 * Sybils, Gaussian noise, boosted replacements in equal parts; see coordinator/src/aggregation/synthetic-units.ts).
 *
 *   pnpm tsx scripts/src/bench-robust.ts [--n 100,1000] [--d 10000,100000] [--reps 5] [--json]
 *
 * Steps (the strategy's own onStep hook; the strategy reads no clock): sanity (shape, finiteness, norms),
 * clip (median norm bound), project (count sketch, drawn anew each rep since the seed changes every round),
 * cosine (Gram of the sketches), collusion (near-duplicates, and unusually similar groups in this round and in
 * the participants' histories: a second sketch of the deltas and two n × n similarity statistics), consensus (each
 * unit against the median of the others' directions, on at most 2^23 values; consensus.ts), dbscan (k-distances, eps, density-clustering), rest (reputation weighting and
 * the weighted average). Median over --reps repetitions after one warm-up. The target from the issue:
 * clipping + DBSCAN + reputation for 1,000 units × 10^5 parameters under 1 s; "total" below includes sanity.
 * The detection columns check that the timed runs also filtered correctly.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { createBetaReputation, createFedwardenStrategy, syntheticUnits, type PipelineStep } from '@fedwarden/coordinator';
import { median } from '@fedwarden/shared';
import { textTable } from './report/text-table.ts';

const STEPS: readonly PipelineStep[] = ['sanity', 'clip', 'project', 'cosine', 'collusion', 'consensus', 'dbscan', 'reputation', 'average'];
const COLUMNS = ['sanity', 'clip', 'project', 'cosine', 'collusion', 'consensus', 'dbscan', 'rest', 'total'] as const;
type Column = (typeof COLUMNS)[number];

interface Row {
  n: number;
  d: number;
  reps: number;
  ms: Record<Column, number>;
  honestKept: number;
  honest: number;
  attackersRejected: number;
  attackers: number;
}

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100,1000' },
    d: { type: 'string', default: '10000,100000' },
    reps: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});
const list = (s: string): number[] => s.split(',').map((x) => Number(x.trim()));
const reps = Number(values.reps);
if (!(Number.isInteger(reps) && reps >= 1)) throw new RangeError(`--reps ${values.reps}`);


function benchOne(n: number, d: number): Row {
  const attackers = Math.round(0.2 * n);
  const each = Math.floor(attackers / 4);
  const counts = { honest: n - attackers, 'sign-flip': attackers - 3 * each, sybil: each, noise: each, scaled: each };
  process.stderr.write(`generating ${n} × ${d} … `);
  const t0 = performance.now();
  const { units, kinds } = syntheticUnits({ dim: d, counts, seed: 2024 });
  process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(1)} s; timing ${reps} reps\n`);

  // A reputation book with one round of history, so that multipliers differ across units.
  const reputation = createBetaReputation();
  reputation.recordRound(
    1,
    units.map((u, i) => ({ unitId: u.id, members: u.members, outcome: kinds[i] === 'honest' ? ('kept' as const) : ('rejected' as const) })),
  );
  const samples: Record<Column, number[]> = { sanity: [], clip: [], project: [], cosine: [], collusion: [], consensus: [], dbscan: [], rest: [], total: [] };
  let last = 0;
  const marks = new Map<PipelineStep, number>();
  const strategy = createFedwardenStrategy({
    reputation,
    onStep: (step) => {
      const now = performance.now();
      marks.set(step, now - last);
      last = now;
    },
  });
  let honestKept = 0, attackersRejected = 0;
  for (let rep = -1; rep < reps; rep++) {
    marks.clear();
    last = performance.now();
    const start = last;
    const result = strategy.aggregate(units, { round: 2, dim: d, seed: 1000 + rep, previousStep: new Float32Array(d) });
    const total = performance.now() - start;
    if (rep < 0) continue; // warm-up
    const at = (s: PipelineStep): number => marks.get(s) ?? 0;
    samples.sanity.push(at('sanity'));
    samples.clip.push(at('clip'));
    samples.project.push(at('project'));
    samples.cosine.push(at('cosine'));
    samples.collusion.push(at('collusion'));
    samples.consensus.push(at('consensus'));
    samples.dbscan.push(at('dbscan'));
    samples.rest.push(at('reputation') + at('average'));
    samples.total.push(total);
    const kept = new Set(result.kept);
    honestKept = units.filter((u, i) => kinds[i] === 'honest' && kept.has(u.id)).length;
    attackersRejected = units.filter((u, i) => kinds[i] !== 'honest' && !kept.has(u.id)).length;
  }
  if (STEPS.some((s) => !marks.has(s))) throw new Error('bench-robust: a pipeline step did not report');
  const ms = Object.fromEntries(COLUMNS.map((c) => [c, median(samples[c])])) as Record<Column, number>;
  return { n, d, reps, ms, honestKept, honest: counts.honest, attackersRejected, attackers };
}

const rows: Row[] = [];
for (const n of list(values.n)) for (const d of list(values.d)) rows.push(benchOne(n, d));

const target = rows.find((r) => r.n === 1000 && r.d === 100000);
if (values.json) {
  const verdict = target === undefined ? null : { totalMs: target.ms.total, withinOneSecond: target.ms.total < 1000 };
  console.log(JSON.stringify({ rows, target: verdict }, null, 2));
} else {
  const header = ['units', 'params', ...COLUMNS.map((c) => `${c} ms`), 'honest kept', 'attackers rejected'];
  const lines = rows.map((r) => [
    String(r.n),
    r.d.toExponential(0).replace('e+', 'e'),
    ...COLUMNS.map((c) => r.ms[c].toFixed(1)),
    `${r.honestKept}/${r.honest}`,
    `${r.attackersRejected}/${r.attackers}`,
  ]);
  for (const line of textTable(header, lines)) console.log(line);
  console.log(`(median of ${reps} reps after one warm-up; rest = reputation weighting + weighted average; total includes sanity)`);
  if (target !== undefined) {
    const filtering = target.ms.total - target.ms.sanity;
    console.log(
      `target 1,000 × 10^5 < 1 s: filtering (clip … average) ${filtering.toFixed(0)} ms ${filtering < 1000 ? 'OK' : 'MISSED'}; ` +
        `with sanity ${target.ms.total.toFixed(0)} ms ${target.ms.total < 1000 ? 'OK' : 'MISSED'}`,
    );
  }
}
