/**
 * The example extensions in examples/extensions, loaded the way the coordinator command loads them: named by
 * paths in a config file, relative to its directory. Each must have its effect on a real federation: the
 * custom strategy's step becomes the global adapter, the evaluator's accuracy and loss reach the round record,
 * the stored record and /metrics, and the trusted reference turns a round a colluding majority would win.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqliteStore, loadConfig, loadExtensions, type CoordinatorOptions, type RoundRecord } from '@fedwarden/coordinator';
import { silentLogger } from '@fedwarden/shared';
import { fakeClients, startFederation, type TestFederation } from './support/federation.ts';

const EXAMPLES = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'extensions');
// The config lives elsewhere, so that its relative paths must be resolved against its own directory.
const configDir = mkdtempSync(join(tmpdir(), 'fedwarden-examples-'));
afterAll(() => rmSync(configDir, { recursive: true, force: true }));
const fromConfig = (file: string) => relative(configDir, join(EXAMPLES, file));

let fed: TestFederation | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
});

/** Write a config file naming `extensions`, load it and its extensions as the coordinator command does. */
async function loadFromConfigFile(extensions: Record<string, unknown>): Promise<CoordinatorOptions> {
  const path = join(configDir, 'coordinator.json');
  writeFileSync(path, JSON.stringify({ extensions }));
  return loadExtensions(loadConfig(path), dirname(path), silentLogger);
}

/** One federation of FakeModel clients sending `steps`, run to the end with `options`. */
async function run(steps: number[][], options: CoordinatorOptions, overrides: Record<string, unknown> = {}): Promise<readonly RoundRecord[]> {
  fed = await startFederation(steps.length, { rounds: { count: 1, minParticipants: steps.length, deadlineMs: 10_000 }, ...overrides }, {}, options);
  const clients = fakeClients(fed, steps.map((s) => Float32Array.from(s)));
  const runs = clients.map((c) => c.run());
  const records = await fed.coordinator.run();
  await Promise.all(runs);
  return records;
}

/** The examples' data are labelled by the line x1 − 2 x2 + 0.5 > 0: this direction separates them. */
const SEPARATING = [1, -2, 0.5];
const scaled = (v: number[], k: number) => v.map((x) => x * k);

describe('examples/extensions/drop-largest-strategy.mjs', () => {
  it('aggregates the round in place of aggregation.strategy: the largest update is left out', async () => {
    const options = await loadFromConfigFile({ strategy: { module: fromConfig('drop-largest-strategy.mjs'), options: { drop: 1 } } });
    expect(options.strategy?.name).toBe('drop-largest-1');
    const [record] = await run([[0.1, -0.2, 0.05], [0.3, -0.4, 0.15], [50, 50, 50]], options);
    expect(record!.outcome).toBe('completed');
    expect(record!.reason).toContain('drop-largest-1');
    expect(record!.rejected).toEqual([{ id: 'p2', reason: expect.stringMatching(/^one of the 1 largest norms/) }]);
    // FedAvg (the federation's configured strategy) would have moved by (50.4, 49.4, 50.2) / 3.
    expect(Array.from(fed!.coordinator.globalAdapter()!)).toEqual([0.2, -0.3, 0.1].map((x) => expect.closeTo(x, 6)));
  });
});

describe('examples/extensions/logistic-evaluator.mjs', () => {
  it('scores a zero adapter at chance: log loss ln 2, accuracy the share of label 0', async () => {
    const { evaluate } = await loadFromConfigFile({ evaluator: fromConfig('logistic-evaluator.mjs') });
    // data/holdout.json holds 25 positives among 40 examples; z = 0 predicts 0.
    expect(await evaluate!(new Float32Array(3), 1)).toEqual({ accuracy: 15 / 40, loss: expect.closeTo(Math.LN2, 12) });
  });

  it('puts accuracy and loss into the round records, the stored records, the round event and /metrics', async () => {
    const options = await loadFromConfigFile({ evaluator: { module: fromConfig('logistic-evaluator.mjs'), options: { data: fromConfig('data/holdout.json') } } });
    const store = SqliteStore.open();
    const events: RoundRecord[] = [];
    const steps = [scaled(SEPARATING, 0.4), scaled(SEPARATING, 0.6)];
    fed = await startFederation(2, { rounds: { count: 2, minParticipants: 2, deadlineMs: 10_000 } }, {}, { ...options, store });
    fed.coordinator.on('round', (r) => events.push(r));
    const clients = fakeClients(fed, steps.map((s) => Float32Array.from(s)));
    const runs = clients.map((c) => c.run());
    const records = await fed.coordinator.run();
    await Promise.all(runs);

    // The global adapter points along the separating direction: every held-out example right, the loss falling.
    expect(records.map((r) => r.accuracy)).toEqual([1, 1]);
    const [loss1, loss2] = records.map((r) => r.evaluationLoss!);
    expect(loss1).toBeGreaterThan(0);
    expect(loss2).toBeLessThan(loss1!);
    expect(events.map((r) => [r.accuracy, r.evaluationLoss])).toEqual(records.map((r) => [r.accuracy, r.evaluationLoss]));
    const stored = store.resume([]).records as RoundRecord[];
    expect(stored.map((r) => [r.accuracy, r.evaluationLoss])).toEqual([[1, loss1], [1, loss2]]);

    const { body } = await fed.coordinator.metrics.scrape();
    expect(body).toMatch(/^fedwarden_evaluation_accuracy 1$/m);
    expect(Number(/^fedwarden_evaluation_loss (\S+)$/m.exec(body)?.[1])).toBeCloseTo(loss2!, 12);
  });

  it('leaves /metrics without evaluation figures when there is no evaluator', async () => {
    await run([[0.1, 0.1, 0.1], [0.2, 0.2, 0.2]], {});
    const { body } = await fed!.coordinator.metrics.scrape();
    expect(body).toContain('fedwarden_rounds_total');
    expect(body).not.toContain('fedwarden_evaluation_');
  });
});

describe('examples/extensions/logistic-reference.mjs', () => {
  it('returns a step that lowers the root loss, with two replicates from disjoint halves', async () => {
    const { reference, evaluate } = await loadFromConfigFile({
      reference: fromConfig('logistic-reference.mjs'),
      evaluator: { module: fromConfig('logistic-evaluator.mjs'), options: { data: fromConfig('data/root.json') } },
    });
    const global = new Float32Array(3);
    const returned = await reference!(global, 1);
    if (returned instanceof Float32Array) throw new Error('expected replicates');
    expect(returned.replicates).toHaveLength(2);
    const before = (await evaluate!(global, 1)) as { loss: number };
    const after = (await evaluate!(returned.delta, 1)) as { loss: number; accuracy: number };
    expect(after.loss).toBeLessThan(before.loss);
    const cosine = cos(Array.from(returned.delta), SEPARATING);
    expect(cosine).toBeGreaterThan(0.8);
  });

  it('lets the fedwarden strategy reject a colluding majority that pushes against the root data', async () => {
    // Two honest participants step along the separating direction, three colluders against it.
    const steps = [
      [0.1, -0.2, 0.06],
      [0.12, -0.19, 0.04],
      [-0.1, 0.21, -0.05],
      [-0.11, 0.2, -0.05],
      [-0.09, 0.19, -0.06],
    ];
    const fedwarden = { aggregation: { strategy: 'fedwarden' } };
    const [without] = await run(steps, {}, fedwarden);
    await fed!.stop();
    fed = undefined;
    const options = await loadFromConfigFile({ reference: fromConfig('logistic-reference.mjs') });
    const [withReference] = await run(steps, options, fedwarden);

    const rejected = (r: RoundRecord | undefined) => r!.rejected.map((v) => v.id).sort();
    // Without the reference the majority wins: DBSCAN keeps the colluders' cluster and leaves the honest pair out.
    expect(rejected(without)).toEqual(['p0', 'p1']);
    expect(withReference!.outcome).toBe('completed');
    expect(rejected(withReference)).toEqual(['p2', 'p3', 'p4']);
    expect(withReference!.rejected.every((v) => /trusted reference/.test(v.reason))).toBe(true);
    const global = Array.from(fed!.coordinator.globalAdapter()!);
    expect(cos(global, SEPARATING)).toBeGreaterThan(0.9);
  });
});

function cos(a: number[], b: number[]): number {
  const dot = a.reduce((s, x, i) => s + x * (b[i] as number), 0);
  return dot / Math.hypot(...a) / Math.hypot(...b);
}
