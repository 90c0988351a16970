/**
 * One federation for the chaos test, as an operator would run it: the coordinator CLI in a child process
 * (config file and data dir in a temp dir), participants in this process with real MNIST shards and LoRA
 * models, each reaching the coordinator through its own loopback link proxy (test/support/link-proxy.ts) so
 * that its link alone can be cut. With a ChaosPlan, a FaultInjector cuts the planned links and SIGKILLs the
 * coordinator once mid-round; the harness then starts the CLI again on the same data dir and port, as a
 * supervisor would, and the participants find it again through the SDK's reconnect. Without a plan nothing is
 * cut or killed: the undisturbed run of the same seed and config.
 *
 * Afterwards it reads what the coordinator stored (rounds by attempt, the last verified checkpoint), runs
 * `coordinator verify` on the data dir, and scores the stored final adapter on the task's held-out digits.
 * Every wait is bounded; a hang fails with a message naming what was awaited.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FederatedClient, type ClientSummary, type ReconnectOptions } from '@fedwarden/client';
import { SqliteStore, databasePath, generateToken, hashToken, type Checkpoint, type RoundRow } from '@fedwarden/coordinator';
import { deriveSeed, type TrainingPlan } from '@fedwarden/shared';
import type { MnistTask } from '../../scripts/src/task/mnist-task.ts';
import { killCoordinatorClis, startCoordinatorCli, type CliExit, type CliRun } from '../support/coordinator-cli.ts';
import { freePort } from '../support/free-port.ts';
import { startLinkProxy, type LinkProxy } from '../support/link-proxy.ts';
import { within } from '../support/within.ts';
import type { ChaosMode, ChaosPlan } from './chaos-plan.ts';
import { FaultInjector, type InjectedCut, type InjectedKill } from './fault-injector.ts';

export interface ChaosFederationOptions {
  readonly mode: ChaosMode;
  readonly seed: number;
  readonly rounds: number;
  readonly task: MnistTask;
  readonly training: TrainingPlan;
  readonly groupSize: number;
  /** Faults to inject; undefined: the undisturbed run. */
  readonly plan?: ChaosPlan;
  /** Bound on the participants' whole run, ms. */
  readonly timeoutMs: number;
  readonly say?: (line: string) => void;
}

export interface LinkEvents {
  /** Sessions lost (the SDK's `disconnected`), reconnects that got back in, kept uploads sent again. */
  readonly disconnected: number;
  readonly reconnected: number;
  readonly uploadRetried: number;
  readonly circuitOpened: number;
  /** Participants that reconnected at least once. */
  readonly participantsReconnected: number;
}

export interface ChaosFederationResult {
  readonly mode: ChaosMode;
  readonly disturbed: boolean;
  /** Every round attempt the coordinator stored, in order. */
  readonly rows: readonly RoundRow[];
  /** The last stored (verified on read) checkpoint. */
  readonly checkpoint: Checkpoint;
  readonly summaries: readonly ClientSummary[];
  /** How the last coordinator process ended, and what `coordinator verify` said. */
  readonly finalExit: CliExit;
  readonly verify: { readonly exit: CliExit; readonly stdout: string };
  /** What the restarted coordinator printed about resuming, if it was killed. */
  readonly resumeLine: string | undefined;
  readonly restartSeconds: number | undefined;
  readonly accuracy: number;
  readonly cuts: readonly InjectedCut[];
  readonly kill: InjectedKill | undefined;
  readonly links: LinkEvents;
  readonly wallSeconds: number;
}

/**
 * Reconnect tuned for a test that restarts its coordinator within seconds: quick first retries, a low cap,
 * never giving up, and a breaker that opens only after many failures and probes again soon (the SDK defaults
 * — 30 s cap, 60 s breaker — are meant for real outages and would only stretch the run).
 */
export const CHAOS_RECONNECT: ReconnectOptions = { baseMs: 100, maxDelayMs: 1_000, maxAttempts: Infinity, failureThreshold: 20, openMs: 2_000 };

export async function runChaosFederation(options: ChaosFederationOptions): Promise<ChaosFederationResult> {
  const { mode, seed, rounds, task, plan } = options;
  const say = options.say ?? (() => undefined);
  const started = Date.now();
  const n = task.shards.length;
  const dir = mkdtempSync(join(tmpdir(), `fedwarden-chaos-${mode}-`));
  const dataDir = join(dir, 'data');
  const tokens = task.shards.map(() => generateToken());
  const port = await freePort();
  const configPath = join(dir, 'coordinator.json');
  writeFileSync(configPath, JSON.stringify(federationConfig(options, port, tokens)));
  const args = ['--config', configPath, '--data-dir', dataDir];

  const proxies: LinkProxy[] = [];
  const clients: FederatedClient[] = [];
  const models: Array<{ dispose(): void }> = [];
  let injector: FaultInjector | undefined;
  try {
    let coordinator: CliRun = startCoordinatorCli(args);
    const { fingerprint } = await within(60_000, 'coordinator listening', coordinator.ready);
    proxies.push(...(await Promise.all(task.shards.map(() => startLinkProxy(port)))));

    // A failure of the harness itself (the restart) ends the wait for the participants at once.
    let fail!: (err: unknown) => void;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    failed.catch(() => undefined);
    let restarted: Promise<void> = Promise.resolve();
    let restartSeconds: number | undefined;
    let resumeLine: string | undefined;
    if (plan) {
      const doomed = () => coordinator;
      injector = new FaultInjector(plan, {
        cut: (p) => proxies[p]?.cut(),
        kill: () => {
          const killedAt = Date.now();
          const first = doomed();
          first.child.kill('SIGKILL');
          say(`  ${mode}: coordinator SIGKILLed in round ${plan.kill.round}`);
          restarted = (async () => {
            const exit = await within(10_000, 'killed coordinator to exit', first.exited);
            if (exit.signal !== 'SIGKILL') throw new Error(`killed coordinator ended with ${JSON.stringify(exit)}`);
            coordinator = startCoordinatorCli(args);
            const again = await within(60_000, 'restarted coordinator listening', coordinator.ready);
            if (again.fingerprint !== fingerprint) throw new Error('restarted coordinator has another key: the data dir lost it');
            injector?.restarted();
            restartSeconds = (Date.now() - killedAt) / 1000;
            resumeLine = /resuming: [^"]*/.exec(coordinator.stderr())?.[0];
            say(`  ${mode}: coordinator listening again after ${restartSeconds.toFixed(1)} s`);
          })();
          restarted.catch(fail);
        },
      });
    }

    const links = { disconnected: 0, reconnected: 0, uploadRetried: 0, circuitOpened: 0, participantsReconnected: 0 };
    const cameBack = new Set<number>();
    const lastSeen: string[] = [];
    task.shards.forEach((shard, i) => {
      const model = task.createModel();
      models.push(model);
      const client = new FederatedClient({
        url: (proxies[i] as LinkProxy).url,
        fingerprint,
        token: tokens[i] as string,
        model,
        data: shard,
        seed: deriveSeed(seed, 1000 + i),
        reconnect: CHAOS_RECONNECT,
      });
      client.on('disconnected', () => links.disconnected++);
      client.on('reconnected', () => {
        links.reconnected++;
        cameBack.add(i);
        links.participantsReconnected = cameBack.size;
      });
      client.on('uploadRetried', () => links.uploadRetried++);
      client.on('circuitOpen', () => links.circuitOpened++);
      watch(client, (event) => (lastSeen[i] = event));
      injector?.attach(client, i);
      clients.push(client);
    });
    const what = `${n} participants to finish ${rounds} rounds (${mode}, ${plan ? 'disturbed' : 'undisturbed'})`;
    const finished = new Set<number>();
    const runs = clients.map((c, i) => c.run().then((summary) => (finished.add(i), summary)));
    const summaries = await within(options.timeoutMs, what, Promise.race([Promise.all(runs), failed])).catch((err: unknown) => {
      const waiting = lastSeen.flatMap((event, i) => (finished.has(i) ? [] : [`p${i}: ${event}`]));
      const tail = (text: string) => text.split('\n').slice(-25).join('\n');
      throw new Error(
        `${(err as Error).message}\nunfinished participants, last event: ${waiting.join('; ')}\n` +
          `coordinator stdout:\n${tail(coordinator.stdout())}\ncoordinator stderr:\n${tail(coordinator.stderr())}`,
        { cause: err },
      );
    });
    await restarted;
    if (plan && !injector?.kill) throw new Error(`the planned kill in round ${plan.kill.round} never happened`);
    const finalExit = await within(30_000, 'coordinator to exit after the last round', coordinator.exited);

    const { rows, checkpoint } = readStore(dataDir);
    const verify = startCoordinatorCli(['verify', '--data-dir', dataDir]);
    const verifyExit = await within(30_000, 'coordinator verify', verify.exited);
    const accuracy = await evaluate(task, checkpoint.adapter);
    return {
      mode,
      disturbed: plan !== undefined,
      rows,
      checkpoint,
      summaries,
      finalExit,
      verify: { exit: verifyExit, stdout: verify.stdout() },
      resumeLine,
      restartSeconds,
      accuracy,
      cuts: injector?.cuts ?? [],
      kill: injector?.kill,
      links,
      wallSeconds: (Date.now() - started) / 1000,
    };
  } finally {
    injector?.dispose();
    for (const c of clients) c.close();
    await Promise.all(proxies.map((p) => p.close()));
    killCoordinatorClis();
    for (const m of models) m.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The id participant `index` is enrolled under. */
export function participantId(index: number): string {
  return `p${String(index).padStart(3, '0')}`;
}

/** The coordinator's config: every participant every round (the round waits until all are connected). */
function federationConfig(options: ChaosFederationOptions, port: number, tokens: readonly string[]): object {
  return {
    host: '127.0.0.1',
    port,
    operator: { enabled: false },
    seed: options.seed,
    logLevel: 'warn',
    participants: tokens.map((t, i) => ({ id: participantId(i), tokenSha256: hashToken(t) })),
    rounds: { count: options.rounds, minParticipants: tokens.length, quorum: 0.5, deadlineMs: 120_000 },
    privacy: options.mode,
    secagg: { groupSize: options.groupSize, stageTimeoutMs: 30_000 },
    training: options.training,
  };
}

function readStore(dataDir: string): { rows: RoundRow[]; checkpoint: Checkpoint } {
  const store = SqliteStore.open(databasePath(dataDir), { readonly: true });
  try {
    const checkpoint = store.checkpoint();
    if (!checkpoint) throw new Error(`no checkpoint in ${dataDir}`);
    return { rows: store.rounds(), checkpoint };
  } finally {
    store.close();
  }
}

async function evaluate(task: MnistTask, adapter: Float32Array): Promise<number> {
  const model = task.createModel();
  try {
    model.setWeights(adapter);
    return (await model.evaluate(task.test)).accuracy;
  } finally {
    model.dispose();
  }
}

/** Follows a client's last event, for the message of a run that hangs. */
function watch(client: FederatedClient, seen: (event: string) => void): void {
  client.on('roundStart', (r) => seen(`roundStart ${r}`));
  client.on('uploaded', (r) => seen(`uploaded ${r}`));
  client.on('stage', (r, stage) => seen(`stage ${stage} ${r}`));
  client.on('roundEnd', (r, outcome) => seen(`roundEnd ${r} ${outcome}`));
  client.on('disconnected', (e) => seen(`disconnected ${e.code}`));
  client.on('reconnecting', (attempt, ms) => seen(`reconnecting #${attempt} in ${ms} ms`));
  client.on('reconnected', () => seen('reconnected'));
  client.on('circuitOpen', (ms) => seen(`circuit open ${ms} ms`));
  client.on('finished', () => seen('finished'));
}
