/**
 * The chaos test (issue 5): 50 participants with real MNIST shards and LoRA adapters against the coordinator
 * CLI in a child process, in both privacy modes. In the disturbed run 20 % of the participants lose their link
 * at a random moment of every round and come back through the SDK's reconnect, and the coordinator is
 * SIGKILLed once mid-round and started again on its data dir. The run must still finish every round exactly
 * once (the killed round stored as interrupted and run again once), every checkpoint must verify, the stored
 * final adapter must be what the participants received, and its accuracy must be within 2 points of the
 * undisturbed run of the same seed.
 *
 * Slow (30–40 s per run, about 2½ minutes for the four runs on two busy cores), so not part of `pnpm test`:
 * `pnpm test:chaos` runs it (vitest.chaos.config.ts), and CI runs that after the default suite. It prints a
 * summary table (disconnects, reconnects, the kill, contributors per round, accuracy of both runs).
 *
 * Training plan: 5 local epochs at learning rate 0.01 (batch 32). With 50 shards of about 90 digits,
 * MNIST_RECOMMENDED_PLAN (2 epochs, 3e-3) is still climbing about 9 points a round at round 6 (54 %), where a
 * 2-point comparison would mostly measure how far each run got; this plan reaches 87–89 % by round 6
 * (seeds 7 and 11, in-process simulation) and gains under a point a round there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTensorFlow } from '@fedwarden/client';
import { MNIST_RECOMMENDED_PLAN, prepareMnistTask, type MnistTask } from '../../scripts/src/task/mnist-task.ts';
import { participantId, runChaosFederation, type ChaosFederationResult } from './chaos-federation.ts';
import { chaosPlan, type ChaosMode } from './chaos-plan.ts';
import { formatSummaryTable, roundHistory, summaryRow, type ChaosSummaryRow } from './chaos-report.ts';

const SEED = 7;
const PARTICIPANTS = 50;
const ROUNDS = 6;
const DISCONNECT_FRACTION = 0.2;
const GROUP_SIZE = 5;
const TRAINING = { ...MNIST_RECOMMENDED_PLAN, epochs: 5, learningRate: 0.01 };
const ACCURACY_TOLERANCE = 0.02;
const RUN_TIMEOUT_MS = 240_000;

let task: MnistTask;
const table: ChaosSummaryRow[] = [];

beforeAll(async () => {
  await initTensorFlow();
  task = await prepareMnistTask({ seed: SEED, clients: PARTICIPANTS, alpha: 0.5 });
});

afterAll(() => {
  task?.dispose();
  if (table.length > 0) console.log(`\nchaos test: ${PARTICIPANTS} participants, ${ROUNDS} rounds, seed ${SEED}\n${formatSummaryTable(table)}\n`);
});

function run(mode: ChaosMode, disturbed: boolean): Promise<ChaosFederationResult> {
  const trainSteps = task.shards.map((s) => TRAINING.epochs * Math.ceil(s.count / TRAINING.batchSize));
  const plan = disturbed
    ? chaosPlan({ seed: SEED, mode, rounds: ROUNDS, participants: PARTICIPANTS, fraction: DISCONNECT_FRACTION, trainSteps })
    : undefined;
  return runChaosFederation({
    mode,
    seed: SEED,
    rounds: ROUNDS,
    task,
    training: TRAINING,
    groupSize: GROUP_SIZE,
    ...(plan ? { plan } : {}),
    timeoutMs: RUN_TIMEOUT_MS,
    say: (line) => console.log(line),
  });
}

/** What every run must show, disturbed or not: all rounds finished once, storage intact, one final adapter. */
function expectIntactRun(result: ChaosFederationResult): void {
  expect(result.finalExit).toEqual({ code: 0, signal: null });
  const history = roundHistory(result.rows);
  expect(history.open).toBe(0);
  expect(history.finished.map(([round, , outcome]) => [round, outcome])).toEqual(
    Array.from({ length: ROUNDS }, (_, i) => [i + 1, 'completed']),
  );
  expect(result.verify.exit).toEqual({ code: 0, signal: null });
  expect(result.verify.stdout).toContain('OK: audit chain, checkpoints and rounds are intact');
  expect(result.verify.stdout).toMatch(new RegExp(`${ROUNDS} finished rounds \\(last ${ROUNDS}\\); ${ROUNDS + 1} checkpoints`));
  expect(result.checkpoint.round).toBe(ROUNDS);
  const stored = Buffer.from(result.checkpoint.adapter.buffer, result.checkpoint.adapter.byteOffset, result.checkpoint.adapter.byteLength);
  expect(result.summaries).toHaveLength(PARTICIPANTS);
  for (const s of result.summaries) {
    expect(s.lastRound).toBe(ROUNDS);
    expect(Buffer.from(s.global.buffer, s.global.byteOffset, s.global.byteLength).equals(stored)).toBe(true);
  }
}

describe.each<ChaosMode>(['trusted', 'secagg'])('chaos, %s mode', (mode) => {
  it(`${PARTICIPANTS} participants, ${DISCONNECT_FRACTION * 100} % cut every round, the coordinator SIGKILLed mid-round: every round once, accuracy within ${ACCURACY_TOLERANCE * 100} points`, async () => {
    const undisturbed = await run(mode, false);
    table.push(summaryRow(undisturbed));
    expectIntactRun(undisturbed);
    expect(roundHistory(undisturbed.rows).interrupted).toEqual([]);
    expect(undisturbed.cuts).toEqual([]);
    expect(undisturbed.links.disconnected).toBe(0);
    expect([...roundHistory(undisturbed.rows).contributors.values()]).toEqual(Array(ROUNDS).fill(PARTICIPANTS));
    // The comparison means something only if federated training moved the model far from the base.
    expect(undisturbed.accuracy).toBeGreaterThan(task.baseAccuracy + 0.5);

    const disturbed = await run(mode, true);
    table.push(summaryRow(disturbed));
    expectIntactRun(disturbed);
    const killRound = disturbed.kill?.round as number;
    expect(killRound).toBeGreaterThan(1);
    expect(killRound).toBeLessThan(ROUNDS);
    const history = roundHistory(disturbed.rows);
    // The killed round: one interrupted attempt, found by the restart, then finished by the second attempt.
    expect(history.interrupted).toEqual([[killRound, 1, 'coordinator restarted']]);
    expect(history.finished.map(([round, attempt]) => [round, attempt])).toEqual(
      Array.from({ length: ROUNDS }, (_, i) => [i + 1, i + 1 === killRound ? 2 : 1]),
    );
    expect(disturbed.resumeLine).toMatch(new RegExp(`rounds 1\\.\\.${killRound - 1} of ${ROUNDS} finished; round ${killRound} was interrupted and runs again`));
    expect(disturbed.verify.stdout).toMatch(/1 interrupted attempt/);

    // Every round that finished lost its planned 20 % (cuts count per coordinator life: the rerun round again).
    const perRound = Math.round(DISCONNECT_FRACTION * PARTICIPANTS);
    for (let round = 1; round <= ROUNDS; round++) {
      const life = round < killRound ? 1 : 2;
      const cut = disturbed.cuts.filter((c) => c.round === round && c.life === life);
      expect(cut).toHaveLength(perRound);
      // In trusted mode nobody else is lost: whoever the round dropped had its link cut in it. (In secure
      // aggregation a group with two members cut cannot unmask, and takes its other members with it.)
      if (mode === 'trusted') {
        const victims = new Set(cut.map((c) => participantId(c.participant)));
        expect(history.dropped.get(round)?.filter((id) => !victims.has(id))).toEqual([]);
      }
    }
    // Everyone came back by themselves, at least after the kill, and every lost session was followed by a new one.
    expect(disturbed.links.participantsReconnected).toBe(PARTICIPANTS);
    expect(disturbed.links.reconnected).toBe(disturbed.links.disconnected);

    expect(Math.abs(disturbed.accuracy - undisturbed.accuracy)).toBeLessThanOrEqual(ACCURACY_TOLERANCE);
  }, 2 * RUN_TIMEOUT_MS + 60_000);
});
