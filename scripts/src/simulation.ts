/**
 * One simulated federation: a coordinator and N participants in one process over real loopback WebSockets
 * and the real post-quantum channel, on the MNIST domain-shift task (task/mnist-task.ts), optionally with a
 * fraction of Byzantine participants driven by one adversary (attacks/), vanishing participants, and either
 * privacy mode. Returns the per-round records and a JSON-ready summary.
 */
import {
  Coordinator,
  ephemeralIdentity,
  generateOperatorToken,
  generateToken,
  groupingKeyFromSeed,
  hashToken,
  parseConfig,
  partitionGroups,
  type RoundRecord,
} from '@fedwarden/coordinator';
import { initTensorFlow, type TrainableModel } from '@fedwarden/client';
import { createLogger, deriveSeed, manifestSize, seededBytes } from '@fedwarden/shared';
import { Adversary } from './attacks/adversary.ts';
import { settingsFor } from './attacks/attack-settings.ts';
import { createAttack } from './attacks/registry.ts';
import { attackersPerGroup, placeByzantine, type Placement } from './byzantine-placement.ts';
import { alertRates, type AlertRates } from './report/alert-rates.ts';
import type { SimulationOptions } from './simulate-options.ts';
import { SimulatedParticipant } from './simulated-participant.ts';
import { SimulatedTimeModel } from './simulated-train-time.ts';
import { createReferenceTrainer } from './task/reference-trainer.ts';
import { createFullModel } from './task/full-model.ts';
import { prepareMnistTask } from './task/mnist-task.ts';

export interface SimulationSummary {
  readonly rounds: number;
  readonly clients: number;
  readonly privacy: 'trusted' | 'secagg';
  readonly groupSize: number | null;
  readonly dropoutRate: number;
  readonly attack: string;
  /** The attack's options set from the command line (--attack-option); {} for its defaults. */
  readonly attackOptions: Readonly<Record<string, number | string>>;
  readonly byzantine: number;
  readonly placement: Placement;
  readonly defence: string;
  /** Root digits behind the coordinator's trusted reference update; 0: none. */
  readonly rootSamples: number;
  readonly seed: number;
  readonly backend: string;
  readonly baseAccuracy: number;
  readonly finalAccuracy: number;
  readonly accuracyPerRound: number[];
  /**
   * Each round's wall time in seconds, from its selection to its stored record, less the harness's own scoring
   * of the new global adapter on the test digits (which a real federation does not pay every round).
   */
  readonly roundSeconds: number[];
  readonly abortedRounds: number;
  readonly dropped: number;
  readonly vanished: number;
  readonly secaggSeconds: number;
  /** Reputation-flagged participants at the end against the true Byzantine set; null without Byzantines. */
  readonly detection: { precision: number | null; recall: number | null; flagged: number } | null;
  /**
   * Isolation-forest alerts per scored unit-round (rounds the forest skipped do not count), for units holding
   * a Byzantine participant and for the others, with the numbers of scored unit-rounds.
   */
  readonly alertRates: AlertRates;
  readonly adapterParams: number;
  readonly uploadBytesPerParam: number | null;
  /** Mean bytes of accepted update frames per completed round (0 when none completed). */
  readonly uploadBytesPerRound: number;
  /** What participants trained and sent (--model). */
  readonly model: 'lora' | 'full';
  readonly wallSeconds: number;
}

/** Observers of a run: `simulate --dashboard` and the dashboard's browser test. */
export interface SimulationHooks {
  /**
   * The dashboard's URL, the operator token in its fragment, once it listens (only with opts.dashboard); awaited
   * before the participants start, so that a watcher can be there from the first round.
   */
  readonly dashboard?: (url: string) => void | Promise<void>;
  /** Awaited after the last round, while the coordinator and its dashboard still run. */
  readonly beforeStop?: () => Promise<void>;
  /** Each round's record as the coordinator emits it (the replay test compares two runs' records). */
  readonly round?: (record: RoundRecord) => void;
  /**
   * Asked after each round (with the global accuracy the table shows): true ends the federation there, before
   * its configured last round (bench:converge stops at its target). Participants are then stopped, not told
   * the federation finished.
   */
  readonly until?: (record: RoundRecord, accuracy: number) => boolean;
  /** The coordinator's log level on stderr (default 'error': its failures and critical alerts); benchmarks pass 'silent'. */
  readonly coordinatorLogLevel?: 'error' | 'silent';
}

export async function runSimulation(opts: SimulationOptions, say: (line: string) => void, hooks: SimulationHooks = {}): Promise<SimulationSummary> {
  const started = Date.now();
  const backend = await initTensorFlow();
  const byzantineCount = Math.round(opts.byzantine * opts.clients);
  const attackOptions = settingsFor(opts.attackSettings, opts.attack);
  const optionWords = Object.entries(attackOptions).map(([k, v]) => `${k}=${v}`);
  say(
    `fedwarden simulate: ${opts.clients} participants, ${opts.rounds} rounds, seed ${opts.seed}, ` +
      `privacy ${opts.privacy}${opts.privacy === 'secagg' ? ` (groups of ${opts.groupSize})` : ''}, dropout ${opts.dropout}, ` +
      `attack ${opts.attack}${optionWords.length > 0 ? ` (${optionWords.join(', ')})` : ''}` +
      `${byzantineCount > 0 ? ` by ${byzantineCount}` : ''}, defence ${opts.defence}, tfjs backend ${backend}`,
  );
  const task = await prepareMnistTask({
    seed: opts.seed,
    clients: opts.clients,
    alpha: opts.alpha,
    freezeA: opts.freezeA,
    ...(opts.root > 0 ? { rootSamples: opts.root } : {}),
    onProgress: (m) => say(`  ${m}`),
  });
  say(`  base model accuracy on rotated digits: ${(task.baseAccuracy * 100).toFixed(1)}%`);
  // The full-model baseline trains every weight of the base (as deltas from it, so the coordinator's zero start is the base).
  const createModel = (): TrainableModel => (opts.model === 'full' ? createFullModel(task.baseModel, { seed: deriveSeed(opts.seed, 4) }) : task.createModel());
  const params = opts.model === 'full' ? fullModelSize(task.baseModel) : task.adapterParams;

  const ids = task.shards.map((_, i) => `p${String(i).padStart(3, '0')}`);
  // Groups are ordered by a key from the seed (a real coordinator's comes from its secret key), so a run replays.
  const groupingKey = groupingKeyFromSeed(opts.seed);
  // Round 1 selects everyone (minParticipants is all of them), with equal reputation: its groups are these.
  const firstGroups =
    opts.privacy === 'secagg'
      ? partitionGroups({ policy: opts.groupPolicy, enrolled: ids, selected: ids, groupSize: opts.groupSize, minGroupSize: opts.groupSize, key: groupingKey, round: 1, score: () => 1 }).groups.map((g) => g.members)
      : undefined;
  const byzantine = placeByzantine({ placement: opts.placement, ids, count: byzantineCount, seed: opts.seed, ...(firstGroups ? { firstGroups } : {}) });
  const attack = opts.attack === 'none' ? undefined : createAttack(opts.attack, attackOptions);
  const adversary = attack ? new Adversary(attack, opts.clients, [...byzantine], deriveSeed(opts.seed, 0xad7)) : undefined;

  const tokens = ids.map(() => generateToken());
  // A fresh operator token per run, for the dashboard only; on loopback.
  const operatorToken = opts.dashboard !== undefined ? generateOperatorToken() : undefined;
  const config = parseConfig({
    port: 0,
    // Without --dashboard, no operator listener: a simulation is watched through its own output (and several may run at once).
    operator: operatorToken !== undefined ? { host: '127.0.0.1', port: opts.dashboard, tokenSha256: hashToken(operatorToken) } : { enabled: false },
    seed: opts.seed,
    logLevel: 'warn',
    participants: ids.map((id, i) => ({ id, tokenSha256: hashToken(tokens[i] as string) })),
    rounds: { count: opts.rounds, minParticipants: opts.clients, quorum: 0.5, deadlineMs: 600_000 },
    privacy: opts.privacy,
    secagg: { groupSize: opts.groupSize, groupPolicy: opts.groupPolicy, stageTimeoutMs: 60_000, maxDropout: Math.max(0.1, opts.dropout) },
    training: { epochs: opts.epochs, batchSize: opts.batchSize, learningRate: opts.learningRate },
    aggregation: {
      strategy: opts.defence,
      ...(opts.serverOptimizer !== undefined || opts.serverLearningRate !== undefined
        ? {
            serverOptimizer: {
              ...(opts.serverOptimizer !== undefined ? { kind: opts.serverOptimizer } : {}),
              ...(opts.serverLearningRate !== undefined ? { learningRate: opts.serverLearningRate } : {}),
            },
          }
        : {}),
    },
    // Every simulated participant connects from loopback at once: no per-address quota on handshakes.
    limits: { maxUnauthenticatedPerAddress: 0 },
  });
  // The coordinator scores each new global adapter on the held-out rotated digits (its degradation detector
  // watches the accuracy; the records keep the loss too); an aborted round leaves the adapter, and so the
  // accuracy, unchanged.
  const evaluator = createModel();
  let evaluationMs = 0;
  const evaluate = async (global: Float32Array) => {
    const startedAt = performance.now();
    evaluator.setWeights(global);
    const { accuracy, loss } = await evaluator.evaluate(task.test);
    evaluationMs = performance.now() - startedAt;
    return { accuracy, loss };
  };
  // The operator's trusted reference: the global adapter trained on the root digits each round (FLTrust).
  const referenceModel = opts.root > 0 ? createModel() : undefined;
  const reference = referenceModel
    ? createReferenceTrainer(referenceModel, task.root, config.training, deriveSeed(opts.seed, 0x7e7))
    : undefined;
  const coordinator = new Coordinator(config, ephemeralIdentity(), createLogger(hooks.coordinatorLogLevel ?? 'error', { component: 'coordinator' }), {
    evaluate,
    groupingKey,
    ...(reference ? { reference } : {}),
  });
  const port = await coordinator.listen();
  if (operatorToken !== undefined) await hooks.dashboard?.(`http://127.0.0.1:${coordinator.operatorPort}/#token=${operatorToken}`);

  const rows: Array<{ record: RoundRecord; accuracy: number; seconds: number }> = [];
  let endedEarly = false;
  say('');
  say('round  participants  mean local loss  global accuracy  rejected  alerts');
  coordinator.on('round', (record) => {
    const accuracy = record.accuracy ?? rows.at(-1)?.accuracy ?? task.baseAccuracy;
    rows.push({ record, accuracy, seconds: Math.max(0, record.durationMs - evaluationMs) / 1000 });
    evaluationMs = 0;
    hooks.round?.(record);
    if (!endedEarly && hooks.until?.(record, accuracy) === true && record.round < opts.rounds) {
      endedEarly = true;
      void coordinator.stop();
    }
    say(
      `${String(record.round).padStart(5)}  ${`${record.reported.length}/${record.selected.length}`.padStart(12)}  ` +
        `${(record.meanLoss?.toFixed(4) ?? '-').padStart(15)}  ${`${(accuracy * 100).toFixed(1)}%`.padStart(15)}` +
        `  ${String(record.rejected.length).padStart(8)}  ${String(record.alerts.length).padStart(6)}` +
        (record.outcome === 'aborted' ? `  aborted: ${record.reason}` : ''),
    );
    if (record.round === 1 && record.groups && byzantine.size > 0) {
      const ran = record.groups.filter((g) => g.status !== 'sat-out').map((g) => g.members);
      const most = Math.max(0, ...attackersPerGroup(ran, byzantine));
      say(`  round 1: at most ${most} Byzantine participant(s) in one of its ${ran.length} secure groups (--placement ${opts.placement})`);
    }
  });

  const participants = task.shards.map((shard, i) => {
    const id = ids[i] as string;
    const isByzantine = adversary !== undefined && byzantine.has(id);
    // A Byzantine participant's wrapped model poisons its data per round itself (on-off poisons only later).
    const trainer: TrainableModel = isByzantine ? adversary.wrap(id, createModel()) : createModel();
    // Reports a training time drawn from the seed, not the measured one, so that the anomaly detectors replay.
    const model = new SimulatedTimeModel(trainer, deriveSeed(opts.seed, 4000 + i));
    return new SimulatedParticipant(
      {
        url: `ws://127.0.0.1:${port}`,
        fingerprint: coordinator.identity.fingerprint,
        token: tokens[i] as string,
        model,
        data: shard,
        seed: deriveSeed(opts.seed, 1000 + i),
        // Stochastic rounding from a seeded stream, so that a secure-aggregation run replays exactly.
        roundingRandom: seededBytes(deriveSeed(opts.seed, 3000 + i)),
      },
      opts.privacy,
      opts.dropout,
      deriveSeed(opts.seed, 2000 + i),
    );
  });
  participants.forEach((p) => p.start());
  try {
    await coordinator.run();
    if (!endedEarly) await Promise.all(participants.map((p) => p.finished()));
    await hooks.beforeStop?.();
  } finally {
    participants.forEach((p) => p.stop());
    await coordinator.stop();
  }
  evaluator.dispose();
  referenceModel?.dispose();

  const completed = rows.filter((r) => r.record.outcome === 'completed');
  const uploads = completed.reduce((s, r) => s + r.record.reported.length, 0);
  const uploadBytes = completed.reduce((s, r) => s + r.record.uploadBytes, 0);
  const finalAccuracy = rows.at(-1)?.accuracy ?? task.baseAccuracy;
  return {
    rounds: opts.rounds,
    clients: opts.clients,
    privacy: opts.privacy,
    groupSize: opts.privacy === 'secagg' ? opts.groupSize : null,
    dropoutRate: opts.dropout,
    attack: opts.attack,
    attackOptions,
    byzantine: opts.byzantine,
    placement: opts.placement,
    defence: opts.defence,
    rootSamples: opts.root,
    seed: opts.seed,
    backend,
    baseAccuracy: round4(task.baseAccuracy),
    finalAccuracy: round4(finalAccuracy),
    accuracyPerRound: rows.map((r) => round4(r.accuracy)),
    roundSeconds: rows.map((r) => round4(r.seconds)),
    abortedRounds: rows.length - completed.length,
    dropped: rows.reduce((s, r) => s + r.record.dropped.length, 0),
    vanished: participants.reduce((s, p) => s + p.vanished, 0),
    secaggSeconds:
      opts.privacy === 'secagg'
        ? round4((rows.reduce((s, r) => s + r.record.protocolMs, 0) + participants.reduce((s, p) => s + p.secaggMs, 0)) / 1000)
        : 0,
    detection: byzantine.size > 0 ? detection(coordinator.flaggedParticipants(), byzantine) : null,
    alertRates: alertRates(rows.map((r) => r.record), byzantine),
    adapterParams: params,
    uploadBytesPerParam: uploads > 0 ? round4(uploadBytes / (uploads * params)) : null,
    uploadBytesPerRound: completed.length > 0 ? Math.round(uploadBytes / completed.length) : 0,
    model: opts.model,
    wallSeconds: round4((Date.now() - started) / 1000),
  };
}

/** Parameters of the full-model baseline: every weight of the base. */
function fullModelSize(base: Parameters<typeof createFullModel>[0]): number {
  const probe = createFullModel(base);
  try {
    return manifestSize(probe.manifest);
  } finally {
    probe.dispose();
  }
}

function detection(flagged: readonly string[], byzantine: ReadonlySet<string>) {
  const hits = flagged.filter((id) => byzantine.has(id)).length;
  return {
    precision: flagged.length > 0 ? round4(hits / flagged.length) : null,
    recall: byzantine.size > 0 ? round4(hits / byzantine.size) : null,
    flagged: flagged.length,
  };
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
