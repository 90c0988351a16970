/**
 * bench:load's coordinator process: one real Coordinator on loopback, alone in its process so that its memory
 * is measured without the participants'. Driven over IPC by the orchestrator (ipc.ts): start → measure
 * (baseline, idle connections) → run (rounds, reported one by one with the frames counted in this process
 * and the memory peak) → stop. Started with --expose-gc so that idle samples count live objects only.
 */
import { Coordinator, ephemeralIdentity, parseConfig, type RoundRecord } from '@fedwarden/coordinator';
import { silentLogger, toFedwardenError } from '@fedwarden/shared';
import { countFrames, framesBetween, type FrameCounter } from './frame-counter.ts';
import { TO_COORDINATOR, ipcMessage, type FromCoordinator, type ToCoordinator } from './ipc.ts';
import { PeakMemory, sampleAfterGc, sampleMemory } from './memory.ts';
import { stageMs, stageSums } from './stage-times.ts';

let coordinator: Coordinator | undefined;
let frames: FrameCounter | undefined;

/** Send to the orchestrator; resolves once the message is handed to the channel. */
function reply(msg: FromCoordinator): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(msg, undefined, {}, () => resolve());
  });
}

function started(): Coordinator {
  if (!coordinator) throw new Error('coordinator not started');
  return coordinator;
}

async function start(config: Record<string, unknown>): Promise<void> {
  coordinator = new Coordinator(parseConfig(config), ephemeralIdentity(), silentLogger);
  // Before the coordinator opens its socket, so that every frame is counted.
  frames = countFrames(coordinator.metrics.net);
  const port = await coordinator.listen();
  void reply({ type: 'listening', port, fingerprint: coordinator.identity.fingerprint });
}

async function run(): Promise<void> {
  const c = started();
  const counter = frames!;
  const peak = new PeakMemory();
  const t0 = performance.now();
  let windowStart = t0;
  let framesAtWindowStart = counter.snapshot();
  const framesAtStart = framesAtWindowStart;
  let stagesAtWindowStart = await stageSums(c.metrics.registry);
  // Reports go out in round order even though reading the stage sums is asynchronous.
  let reported = Promise.resolve();
  c.on('round', (record: RoundRecord) => {
    const now = performance.now();
    const snapshot = counter.snapshot();
    const memory = sampleMemory(c.connectedParticipants);
    peak.observe();
    const windowMs = now - windowStart;
    const windowFrames = framesBetween(framesAtWindowStart, snapshot);
    windowStart = now;
    framesAtWindowStart = snapshot;
    // The stage sums are read at once (the next round's stages end well after this tick).
    const stages = stageSums(c.metrics.registry);
    reported = reported.then(async () => {
      const [from, to] = [stagesAtWindowStart, await stages];
      stagesAtWindowStart = to;
      await reply({
        type: 'round',
        report: {
          round: record.round,
          outcome: record.outcome,
          reason: record.reason,
          selected: record.selected.length,
          reported: record.reported.length,
          durationMs: record.durationMs,
          windowMs,
          frames: windowFrames,
          collectionMs: stageMs(from, to, 'collection'),
          aggregationMs: stageMs(from, to, 'aggregation'),
          memory,
        },
      });
    });
  });
  peak.start();
  try {
    await c.run();
  } finally {
    peak.stop();
  }
  await reported;
  void reply({
    type: 'finished',
    runMs: performance.now() - t0,
    frames: framesBetween(framesAtStart, counter.snapshot()),
    peakRss: peak.peakRss,
    peakHeapExternal: peak.peakHeapExternal,
  });
}

async function handle(msg: ToCoordinator): Promise<void> {
  switch (msg.type) {
    case 'start':
      return start(msg.setup.config);
    case 'measure': {
      const c = coordinator;
      const sample = await sampleAfterGc(() => c?.connectedParticipants ?? 0);
      void reply({ type: 'memory', label: msg.label, sample });
      return;
    }
    case 'run':
      return run();
    case 'stop':
      await coordinator?.stop();
      await reply({ type: 'stopped' });
      process.disconnect();
      return;
    default: {
      const unreachable: never = msg;
      throw new Error(`unknown command ${String(unreachable)}`);
    }
  }
}

process.on('message', (raw: unknown) => {
  let msg: ToCoordinator;
  try {
    msg = ipcMessage<ToCoordinator>(raw, TO_COORDINATOR);
  } catch (err) {
    const e = toFedwardenError(err);
    void reply({ type: 'error', code: e.code, message: e.message });
    return;
  }
  handle(msg).catch((err: unknown) => {
    const e = toFedwardenError(err);
    void reply({ type: 'error', code: e.code, message: `coordinator process, ${msg.type}: ${e.message}` });
  });
});
// The orchestrator is gone: nothing left to measure for.
process.on('disconnect', () => process.exit(0));
// Imports are done and the handler is in place: commands sent from now on are heard.
void reply({ type: 'ready' });
