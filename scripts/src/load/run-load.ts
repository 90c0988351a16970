/**
 * bench:load's orchestrator: starts the coordinator process and the participant processes, connects the
 * participants in two waves (half, then the rest) with the coordinator's memory sampled after GC before any
 * connection, after each wave, and during the rounds; then runs the rounds and merges the coordinator's
 * round reports with the participants' training times. Returns plain data; bench-load.ts prints it.
 *
 * Two waves give two estimates of memory per idle connection: the average over all connections from the
 * baseline (the issue's definition; it also carries one-time costs such as code compiled on the first
 * handshake, spread over N), and the marginal cost of the second half (which does not).
 */
import { generateToken, hashToken } from '@fedwarden/coordinator';
import { FedwardenError } from '@fedwarden/shared';
import { ChildLink } from './child-link.ts';
import { FROM_CLIENTS, FROM_COORDINATOR, type ClientRoundStats, type FromClients, type FromCoordinator, type MemorySample, type ToClients, type ToCoordinator } from './ipc.ts';
import { mean, perConnection, rate, roundRow, totalFrames, type PerConnection, type RoundRow } from './load-stats.ts';

export interface LoadOptions {
  readonly clients: number;
  readonly rounds: number;
  /** Participant processes the clients are spread over. */
  readonly processes: number;
  /** Adapter parameters of the fake trainer. */
  readonly params: number;
  readonly trainMinMs: number;
  readonly trainMaxMs: number;
  readonly privacy: 'trusted' | 'secagg';
  readonly groupSize: number;
  /** Aggregation strategy (config aggregation.strategy). */
  readonly strategy: string;
  /** Handshakes in flight at once per participant process. */
  readonly connectConcurrency: number;
  /** Round deadline (and secure-aggregation stage deadline), ms. */
  readonly deadlineMs: number;
  readonly seed: number;
  /** Write a V8 CPU profile of the coordinator process into this directory (to see where round time goes). */
  readonly coordinatorCpuProfDir?: string;
}

export const LOAD_DEFAULTS: LoadOptions = {
  clients: 1000,
  rounds: 3,
  processes: 2,
  params: 4096,
  trainMinMs: 50,
  trainMaxMs: 200,
  privacy: 'trusted',
  groupSize: 5,
  strategy: 'fedavg',
  connectConcurrency: 64,
  deadlineMs: 60_000,
  seed: 1,
};

/** The target for coordinator memory per idle connection. */
export const IDLE_LIMIT_KB = 100;

export interface LoadResult {
  readonly options: LoadOptions;
  readonly handshake: { readonly totalMs: number; readonly waveMs: readonly number[]; readonly connectionsPerSecond: number };
  readonly memory: {
    readonly gc: boolean;
    readonly baseline: MemorySample;
    readonly half: MemorySample;
    readonly idle: MemorySample;
    /** (idle − baseline) / N: the figure. */
    readonly perIdleConnection: PerConnection;
    /** (idle − half) / (N − N/2): without one-time costs; null when the second wave was empty. */
    readonly marginalPerIdleConnection: PerConnection | null;
    /** (peak during rounds − baseline) / N. */
    readonly perActiveConnection: PerConnection;
    readonly peakRss: number;
    readonly peakHeapExternal: number;
  };
  readonly rounds: readonly RoundRow[];
  readonly summary: {
    readonly roundsCompleted: number;
    readonly meanRoundMs: number;
    readonly meanSlowestTrainMs: number;
    readonly meanOverheadMs: number;
    readonly frames: number;
    readonly runMs: number;
    readonly framesPerSecond: number;
    /** Participants' lost sessions and reconnect attempts (the SDK reconnects by itself); 0 in a clean run. */
    readonly disconnects: number;
    readonly reconnectAttempts: number;
  };
  /** The ≤ 100 KB criterion, judged on RSS (see bench-load.ts for why); heap + external shown beside it. */
  readonly criterion: { readonly limitKB: number; readonly basis: 'rss'; readonly rssKB: number; readonly heapExternalKB: number; readonly met: boolean };
}

function validate(o: LoadOptions): void {
  const positiveInt = (v: number, name: string) => {
    if (!(Number.isInteger(v) && v >= 1)) throw new FedwardenError('BAD_CONFIG', `bench:load: ${name} must be a positive integer, got ${v}`);
  };
  positiveInt(o.clients, 'clients');
  positiveInt(o.rounds, 'rounds');
  positiveInt(o.processes, 'processes');
  positiveInt(o.params, 'params');
  positiveInt(o.connectConcurrency, 'connect-concurrency');
  positiveInt(o.deadlineMs, 'deadline-ms');
  if (!(o.trainMinMs >= 0 && o.trainMaxMs >= o.trainMinMs)) {
    throw new FedwardenError('BAD_CONFIG', `bench:load: training time range ${o.trainMinMs}-${o.trainMaxMs} ms`);
  }
  if (o.privacy === 'secagg' && o.clients < o.groupSize) {
    throw new FedwardenError('BAD_CONFIG', `bench:load: secagg needs at least ${o.groupSize} clients (one group)`);
  }
}

const SECOND = 1000;

export async function runLoadBench(options: LoadOptions, progress: (line: string) => void = () => undefined): Promise<LoadResult> {
  const o = options;
  validate(o);
  const tokens = Array.from({ length: o.clients }, () => generateToken());
  const ids = tokens.map((_, i) => `load-${String(i).padStart(5, '0')}`);
  const config = {
    port: 0,
    host: '127.0.0.1',
    operator: { enabled: false },
    seed: o.seed,
    logLevel: 'silent',
    participants: ids.map((id, i) => ({ id, tokenSha256: hashToken(tokens[i] as string) })),
    rounds: { count: o.rounds, minParticipants: o.clients, quorum: 0.5, deadlineMs: o.deadlineMs, waitForParticipantsMs: 60_000 },
    privacy: o.privacy,
    secagg: { groupSize: o.groupSize, stageTimeoutMs: o.deadlineMs },
    aggregation: { strategy: o.strategy },
    // The defaults are for a deployment; the bench raises the participant cap to its participant count, the
    // socket cap above it (room for handshaking sockets), and gives handshakes time, since all N arrive at once,
    // from one loopback address (no per-address quota).
    limits: { maxParticipants: o.clients, maxConnections: o.clients + 64, handshakeTimeoutMs: 60_000, maxUnauthenticatedPerAddress: 0 },
  };

  const coordinator = new ChildLink<ToCoordinator, FromCoordinator>(
    'coordinator process',
    new URL('./coordinator-process.ts', import.meta.url),
    FROM_COORDINATOR,
    {
      exposeGc: true,
      ...(o.coordinatorCpuProfDir ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${o.coordinatorCpuProfDir}`] } : {}),
    },
  );
  const processes = Math.min(o.processes, o.clients);
  const clientLinks = Array.from(
    { length: processes },
    (_, p) => new ChildLink<ToClients, FromClients>(`participant process ${p + 1}`, new URL('./client-process.ts', import.meta.url), FROM_CLIENTS),
  );
  let coordinatorStarted = false;
  try {
    progress(`starting the coordinator process and ${processes} participant process(es)`);
    await coordinator.next('ready', 60 * SECOND);
    coordinator.send({ type: 'start', setup: { config } });
    const { port, fingerprint } = await coordinator.next('listening', 30 * SECOND);
    coordinatorStarted = true;
    coordinator.send({ type: 'measure', label: 'baseline' });
    const baseline = (await coordinator.next('memory', 30 * SECOND)).sample;
    await Promise.all(clientLinks.map((c) => c.next('ready', 120 * SECOND)));

    // Participant i goes to process i mod P, so that both waves draw evenly from every process.
    const perProcess = clientLinks.map((_, p) => tokens.flatMap((token, index) => (index % processes === p ? [{ index, token }] : [])));
    clientLinks.forEach((c, p) =>
      c.send({
        type: 'init',
        setup: {
          url: `ws://127.0.0.1:${port}`,
          fingerprint,
          participants: perProcess[p]!,
          model: { params: o.params, trainMinMs: o.trainMinMs, trainMaxMs: o.trainMaxMs, samples: 100 },
          seed: o.seed,
          connectConcurrency: o.connectConcurrency,
          handshakeTimeoutMs: 60_000,
        },
      }),
    );

    const waveMs: number[] = [];
    const samples: MemorySample[] = [];
    const connectTimeout = 120 * SECOND + o.clients * 100;
    for (const wave of [Math.ceil, Math.floor]) {
      const t0 = performance.now();
      clientLinks.forEach((c, p) => c.send({ type: 'connect', count: wave(perProcess[p]!.length / 2) }));
      await Promise.all(clientLinks.map((c) => c.next('connected', connectTimeout)));
      waveMs.push(performance.now() - t0);
      coordinator.send({ type: 'measure', label: `wave ${waveMs.length}` });
      const sample = (await coordinator.next('memory', 30 * SECOND)).sample;
      samples.push(sample);
      progress(`  wave ${waveMs.length}: ${sample.connected} participants connected in ${(waveMs.at(-1)! / SECOND).toFixed(2)} s`);
    }
    const [half, idle] = samples as [MemorySample, MemorySample];
    if (idle.connected !== o.clients) {
      throw new FedwardenError('INTERNAL', `bench:load: the coordinator counts ${idle.connected} connected participants, expected ${o.clients}`);
    }

    progress(`running ${o.rounds} round(s) with ${o.clients} participants (${o.privacy})`);
    coordinator.send({ type: 'run' });
    const roundTimeout = o.deadlineMs * (o.privacy === 'secagg' ? 6 : 1) + 60 * SECOND;
    const reports = [];
    for (let r = 0; r < o.rounds; r++) {
      const { report } = await coordinator.next('round', roundTimeout);
      progress(`  round ${report.round}: ${report.outcome}, ${report.reported}/${report.selected} reported, ${report.durationMs} ms`);
      reports.push(report);
    }
    const finished = await coordinator.next('finished', 60 * SECOND);
    const done = await Promise.all(clientLinks.map((c) => c.next('done', 60 * SECOND)));
    const clientStats: ClientRoundStats[] = done.flatMap((d) => d.rounds);
    const rows = reports.map((report) => roundRow(report, clientStats));

    const frames = totalFrames(finished.frames);
    const totalMs = waveMs.reduce((a, b) => a + b, 0);
    const perIdle = perConnection(baseline, idle)!;
    const peak: MemorySample = { ...idle, rss: finished.peakRss, heapUsed: finished.peakHeapExternal, external: 0, afterGc: false };
    return {
      options: o,
      handshake: { totalMs, waveMs, connectionsPerSecond: rate(o.clients, totalMs) },
      memory: {
        gc: baseline.afterGc && idle.afterGc,
        baseline,
        half,
        idle,
        perIdleConnection: perIdle,
        marginalPerIdleConnection: perConnection(half, idle),
        perActiveConnection: perConnection(baseline, peak)!,
        peakRss: finished.peakRss,
        peakHeapExternal: finished.peakHeapExternal,
      },
      rounds: rows,
      summary: {
        roundsCompleted: rows.filter((r) => r.outcome === 'completed').length,
        meanRoundMs: mean(rows.map((r) => r.roundMs)),
        meanSlowestTrainMs: mean(rows.map((r) => r.slowestTrainMs)),
        meanOverheadMs: mean(rows.map((r) => r.overheadMs)),
        frames,
        runMs: finished.runMs,
        framesPerSecond: rate(frames, finished.runMs),
        disconnects: done.reduce((sum, d) => sum + d.disconnects, 0),
        reconnectAttempts: done.reduce((sum, d) => sum + d.reconnectAttempts, 0),
      },
      criterion: {
        limitKB: IDLE_LIMIT_KB,
        basis: 'rss',
        rssKB: perIdle.rssKB,
        heapExternalKB: perIdle.heapExternalKB,
        met: perIdle.rssKB <= IDLE_LIMIT_KB,
      },
    };
  } finally {
    if (coordinatorStarted) {
      try {
        coordinator.send({ type: 'stop' });
        await coordinator.next('stopped', 15 * SECOND);
      } catch {
        // Already failed or gone: close() below ends it.
      }
    }
    await Promise.all([coordinator.close(), ...clientLinks.map((c) => c.close())]);
  }
}
