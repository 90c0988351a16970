/**
 * The metrics an operator alerts on, scraped from the operator listener of a real federation (loopback sockets,
 * real crypto, fake models): where the round loop stands, accuracy and loss, flagged and excluded counts, build
 * info, the process metrics under prom-client's standard names. The same scrape must pass `promtool check
 * metrics` (Debian's `prometheus` package, or $PROMTOOL; CI sets FEDWARDEN_REQUIRE_PROMTOOL=1 so that a missing
 * promtool fails there instead of skipping), and every metric the shipped Grafana dashboard (docs/grafana/fedwarden.json)
 * queries must be in it, and so must every metric the shipped alerting rules (docs/prometheus/fedwarden-alerts.yml,
 * also `promtool check rules`) read.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoundRecord } from '@fedwarden/coordinator';
import { PROTOCOL_VERSION } from '@fedwarden/shared';
import { fakeClients, startFederation, type TestFederation } from './support/federation.ts';
import { runProcess } from './support/run-process.ts';
import { within } from './support/within.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ACCURACY = 0.75;
const LOSS = 0.5;

let fed: TestFederation;
let records: readonly RoundRecord[];
let waiting: string;
let training: string;
let final: string;
let startedAt: number;

async function scrape(): Promise<string> {
  const res = await fed.operatorFetch('/metrics');
  expect(res.status).toBe(200);
  return res.text();
}

/** Sample name with labels as written → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

function value(text: string, sample: string): number {
  const v = samples(text).get(sample);
  if (v === undefined) throw new Error(`no sample ${sample} in the scrape`);
  return v;
}

/** Metric names with at least one sample (histograms as their _bucket, _sum and _count series). */
function sampleNames(text: string): Set<string> {
  return new Set([...samples(text).keys()].map((k) => k.replace(/\{.*$/, '')));
}

beforeAll(async () => {
  startedAt = Date.now() / 1000;
  // Krum keeps one unit of three and rejects the others; with excludeBelow just under flagBelow, one rejection
  // both flags and excludes a newcomer, so the counts are not zero.
  fed = await startFederation(
    3,
    { aggregation: { strategy: 'krum' }, reputation: { excludeBelow: 0.39, flagBelow: 0.4 }, rounds: { count: 2, minParticipants: 3, deadlineMs: 10_000 } },
    {},
    { evaluate: () => Promise.resolve({ accuracy: ACCURACY, loss: LOSS }) },
  );
  const federation = fed;
  let trainingScrape: Promise<string> | undefined;
  federation.coordinator.on('stage', (s) => {
    // prom-client reads the gauges' sources synchronously when the scrape begins: this captures the stage now.
    if (s.stage === 'training' && s.round === 1) trainingScrape ??= federation.coordinator.metrics.scrape().then((r) => r.body);
  });
  const running = federation.coordinator.run();
  waiting = await scrape();
  const steps = [0, 1, 2].map((i) => Float32Array.from({ length: 8 }, (_, j) => Math.sin(7 * i + j)));
  [records] = await within(60_000, 'the federation to finish', Promise.all([running, ...fakeClients(federation, steps).map((c) => c.run())]));
  training = await (trainingScrape ?? Promise.reject(new Error('no training stage seen')));
  final = await scrape();
}, 90_000);

afterAll(async () => {
  await fed?.stop();
});

describe('metrics an operator alerts on', () => {
  it('show where the round loop stands: waiting for round 1, training round 1, finished after round 2', () => {
    for (const [text, stage, round] of [
      [waiting, 'waiting', 1],
      [training, 'training', 1],
      [final, 'finished', 2],
    ] as const) {
      const stages = [...samples(text)].filter(([k]) => k.startsWith('fedwarden_run_stage{'));
      expect(stages.length, stage).toBe(7);
      expect(stages.filter(([, v]) => v === 1), stage).toEqual([[`fedwarden_run_stage{stage="${stage}"}`, 1]]);
      expect(value(text, 'fedwarden_current_round'), stage).toBe(round);
    }
    expect(value(waiting, 'fedwarden_last_round')).toBe(0);
    expect(value(final, 'fedwarden_last_round')).toBe(2);
  });

  it('carry accuracy and loss once known, and nothing before', () => {
    for (const name of ['fedwarden_evaluation_accuracy', 'fedwarden_evaluation_loss', 'fedwarden_training_loss', 'fedwarden_last_round_timestamp_seconds']) {
      expect(sampleNames(waiting).has(name), name).toBe(false);
    }
    expect(records.map((r) => r.outcome)).toEqual(['completed', 'completed']);
    expect(value(final, 'fedwarden_evaluation_accuracy')).toBe(ACCURACY);
    expect(value(final, 'fedwarden_evaluation_loss')).toBe(LOSS);
    expect(value(final, 'fedwarden_training_loss')).toBe(records[1]!.meanLoss);
    const finishedAt = value(final, 'fedwarden_last_round_timestamp_seconds');
    expect(finishedAt).toBeGreaterThanOrEqual(startedAt);
    expect(finishedAt).toBeLessThanOrEqual(Date.now() / 1000);
  });

  it('count flagged and excluded participants (one series each) and the last round\'s participants', () => {
    const excluded = new Set(records.flatMap((r) => r.excluded));
    expect(excluded.size).toBeGreaterThan(0);
    expect(value(final, 'fedwarden_participants_excluded')).toBe(excluded.size);
    expect(value(final, 'fedwarden_participants_flagged')).toBe(fed.coordinator.flaggedParticipants().length);
    expect(value(final, 'fedwarden_participants_flagged')).toBeGreaterThanOrEqual(excluded.size);
    expect(value(waiting, 'fedwarden_participants_flagged')).toBe(0);
    expect(value(final, 'fedwarden_participants_enrolled')).toBe(3);
    const last = records[1]!;
    expect(value(final, 'fedwarden_last_round_participants{status="selected"}')).toBe(last.selected.length);
    expect(value(final, 'fedwarden_last_round_participants{status="contributed"}')).toBe(last.reported.length);
    expect(value(final, 'fedwarden_last_round_participants{status="dropped"}')).toBe(last.dropped.length);
    // No participant id ever becomes a label value.
    for (const id of ['p0', 'p1', 'p2']) expect(final).not.toContain(`"${id}"`);
  });

  it('say which build runs', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'coordinator', 'package.json'), 'utf8')) as { version: string };
    expect(value(final, `fedwarden_build_info{version="${pkg.version}",nodejs_version="${process.version}",protocol_version="${PROTOCOL_VERSION}"}`)).toBe(1);
  });

  it("keep prom-client's process metrics under their standard names", () => {
    const names = sampleNames(final);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_active_handles_total', 'nodejs_version_info']) {
      expect(names.has(name), name).toBe(true);
    }
    expect([...names].filter((n) => /^fedwarden_(process|nodejs)_/.test(n))).toEqual([]);
  });
});

/** promtool from PATH, or the one $PROMTOOL names. */
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
/** Sync on purpose: skipIf needs the answer while tests are collected, and `--version` returns at once. */
const promtool = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' });
const hasPromtool = promtool.error === undefined && promtool.status === 0;
const requirePromtool = process.env.FEDWARDEN_REQUIRE_PROMTOOL === '1';

describe('promtool check metrics', () => {
  it.skipIf(!hasPromtool && !requirePromtool)(
    hasPromtool ? 'finds no problem in a real scrape' : `cannot run: ${PROMTOOL} not found (install it: apt-get install prometheus, or set PROMTOOL)`,
    async () => {
      expect(hasPromtool, `${PROMTOOL} not found: apt-get install prometheus (FEDWARDEN_REQUIRE_PROMTOOL=1 is set)`).toBe(true);
      const check = await runProcess(PROMTOOL, ['check', 'metrics'], { input: final });
      expect({ status: check.status, problems: (check.stdout + check.stderr).trim() }).toEqual({ status: 0, problems: '' });
    },
  );
});

/** PromQL functions, aggregations and keywords: every other identifier in a query is a metric name. */
const PROMQL_WORDS = new Set([
  'sum', 'max', 'min', 'avg', 'count', 'by', 'without', 'rate', 'irate', 'increase', 'delta', 'histogram_quantile', 'time',
  'label_values', 'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'topk', 'bottomk', 'abs', 'clamp_min',
  'max_over_time', 'min_over_time', 'avg_over_time',
]);
/** Series Prometheus makes itself for every target, never in a scrape. */
const SYNTHETIC = new Set(['up']);

/** The metric names a PromQL expression reads. */
function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/label_values\(([^,()]*),\s*[A-Za-z_][A-Za-z0-9_]*\)/g, 'label_values($1)') // Grafana's: (metric, label)
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range selectors ($__rate_interval)
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' '); // grouping labels
  return (bare.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? []).filter((w) => !PROMQL_WORDS.has(w));
}

interface GrafanaPanel {
  readonly title?: string;
  readonly targets?: ReadonlyArray<{ readonly expr?: string }>;
  readonly panels?: readonly GrafanaPanel[];
}

describe('the Grafana dashboard (docs/grafana/fedwarden.json)', () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'docs', 'grafana', 'fedwarden.json'), 'utf8')) as {
    panels: GrafanaPanel[];
    templating: { list: Array<{ definition?: string }> };
  };
  const queries: Array<{ where: string; expr: string }> = [];
  const walk = (panels: readonly GrafanaPanel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr !== undefined) queries.push({ where: p.title ?? '?', expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating.list) if (v.definition) queries.push({ where: 'variable', expr: v.definition });

  it('queries only metrics that a real scrape has', () => {
    expect(queries.length).toBeGreaterThan(15);
    const names = sampleNames(final);
    const missing = queries.flatMap(({ where, expr }) => metricsIn(expr).filter((m) => !names.has(m) && !SYNTHETIC.has(m)).map((m) => `${where}: ${m}`));
    expect(missing).toEqual([]);
    // Every fedwarden gauge and counter an operator alerts on has a panel.
    const used = new Set(queries.flatMap(({ expr }) => metricsIn(expr)));
    for (const name of ['fedwarden_current_round', 'fedwarden_run_stage', 'fedwarden_evaluation_accuracy', 'fedwarden_participants_flagged', 'fedwarden_participants_excluded', 'fedwarden_build_info', 'fedwarden_alerts_total']) {
      expect(used.has(name), name).toBe(true);
    }
  });

  it('reads metric names out of queries (the check above checks something)', () => {
    expect(metricsIn('histogram_quantile(0.9, sum by (le, stage) (rate(fedwarden_stage_duration_seconds_bucket{instance=~"$instance"}[$__rate_interval])))')).toEqual([
      'fedwarden_stage_duration_seconds_bucket',
    ]);
    expect(metricsIn('time() - max(fedwarden_last_round_timestamp_seconds{instance=~"a{b}"})')).toEqual(['fedwarden_last_round_timestamp_seconds']);
    expect(metricsIn('max by (stage) (fedwarden_run_stag{x="1"}) == 1')).toEqual(['fedwarden_run_stag']);
    expect(metricsIn('label_values(fedwarden_build_info, instance)')).toEqual(['fedwarden_build_info']);
  });
});

describe('the alerting rules (docs/prometheus/fedwarden-alerts.yml)', () => {
  const path = join(ROOT, 'docs', 'prometheus', 'fedwarden-alerts.yml');
  // One `expr:` per rule, each on one line (kept so on purpose: no YAML parser needed here).
  const exprs = [...readFileSync(path, 'utf8').matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!);

  it('read only metrics that a real scrape has', () => {
    expect(exprs.length).toBe(8);
    const names = sampleNames(final);
    expect(exprs.flatMap((e) => metricsIn(e).filter((m) => !names.has(m) && !SYNTHETIC.has(m)))).toEqual([]);
  });

  it.skipIf(!hasPromtool && !requirePromtool)(hasPromtool ? 'pass promtool check rules' : `cannot run promtool check rules: ${PROMTOOL} not found`, async () => {
    expect(hasPromtool, `${PROMTOOL} not found: apt-get install prometheus (FEDWARDEN_REQUIRE_PROMTOOL=1 is set)`).toBe(true);
    const check = await runProcess(PROMTOOL, ['check', 'rules', path]);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});
