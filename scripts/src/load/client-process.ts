/**
 * bench:load's participant process: many FederatedClients with the light fake trainer (light-model.ts) in one
 * process, driven over IPC by the orchestrator (ipc.ts): init → connect in waves (at most
 * `connectConcurrency` handshakes in flight, so that the listen backlog does not overflow and turn SYN
 * retries into handshake time) → take part in every round → report, per round, how many trained and the
 * slowest training time, once every participant heard `finished`. The SDK's own reconnects (on by default,
 * as a deployment would run it) are counted, not hidden: a clean run reports none.
 */
import { FederatedClient } from '@fedwarden/client';
import { FedwardenError, deriveSeed, toFedwardenError } from '@fedwarden/shared';
import { TO_CLIENTS, ipcMessage, type ClientRoundStats, type ClientSetup, type FromClients, type ToClients } from './ipc.ts';
import { LightModel, lightData } from './light-model.ts';

let setup: ClientSetup | undefined;
/** Participants started so far (index into setup.participants). */
let nextParticipant = 0;
let finished = 0;
let failed = false;
/** Link trouble the SDK recovered from by itself (it reconnects by default); a clean run has none. */
let disconnects = 0;
let reconnectAttempts = 0;
const rounds = new Map<number, { trained: number; maxTrainMs: number; maxNominalMs: number }>();

function reply(msg: FromClients): void {
  process.send?.(msg);
}

function fail(err: unknown, context: string): void {
  if (failed) return;
  failed = true;
  const e = toFedwardenError(err);
  reply({ type: 'error', code: e.code, message: `${context}: ${e.message}` });
}

/** Start one participant; resolves once it is welcomed, rejects if its run ends before that. */
function startParticipant(s: ClientSetup, index: number, token: string): Promise<void> {
  const model = new LightModel(s.model, deriveSeed(s.seed, index));
  const client = new FederatedClient({
    url: s.url,
    fingerprint: s.fingerprint,
    token,
    model,
    data: lightData(s.model.samples),
    seed: deriveSeed(s.seed, index, 1),
    handshakeTimeoutMs: s.handshakeTimeoutMs,
  });
  client.on('disconnected', () => disconnects++);
  client.on('reconnecting', () => reconnectAttempts++);
  client.on('uploaded', (round, result) => {
    const r = rounds.get(round) ?? { trained: 0, maxTrainMs: 0, maxNominalMs: 0 };
    r.trained++;
    r.maxTrainMs = Math.max(r.maxTrainMs, result.trainMs);
    r.maxNominalMs = Math.max(r.maxNominalMs, model.lastNominalMs);
    rounds.set(round, r);
  });
  return new Promise((resolve, reject) => {
    let welcomed = false;
    client.once('connected', () => {
      welcomed = true;
      resolve();
    });
    client.run().then(
      () => {
        finished++;
        if (finished === s.participants.length) {
          const stats: ClientRoundStats[] = [...rounds].sort(([a], [b]) => a - b).map(([round, r]) => ({ round, ...r }));
          reply({ type: 'done', rounds: stats, finished, disconnects, reconnectAttempts });
        }
      },
      (err: unknown) => {
        if (welcomed) fail(err, `participant ${index} left during the run`);
        else reject(err);
      },
    );
  });
}

async function connect(count: number): Promise<void> {
  const s = setup;
  if (!s) throw new FedwardenError('BAD_CONFIG', 'connect before init');
  const end = Math.min(s.participants.length, nextParticipant + count);
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (nextParticipant < end) {
      const p = s.participants[nextParticipant++]!;
      try {
        await startParticipant(s, p.index, p.token);
      } catch (err) {
        const e = toFedwardenError(err);
        throw new FedwardenError(e.code, `participant ${p.index} could not join: ${e.message}`, { cause: err });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, s.connectConcurrency) }, worker));
  reply({ type: 'connected', total: nextParticipant, ms: performance.now() - t0 });
}

process.on('message', (raw: unknown) => {
  let msg: ToClients;
  try {
    msg = ipcMessage<ToClients>(raw, TO_CLIENTS);
  } catch (err) {
    fail(err, 'client process');
    return;
  }
  switch (msg.type) {
    case 'init':
      setup = msg.setup;
      return;
    case 'connect':
      connect(msg.count).catch((err: unknown) => fail(err, 'client process, connect'));
      return;
    default: {
      const unreachable: never = msg;
      fail(new Error(`unknown command ${String(unreachable)}`), 'client process');
    }
  }
});
// The orchestrator lets go of this process by closing the channel (or is gone): end every connection.
process.on('disconnect', () => process.exit(0));
// Imports are done and the handler is in place: commands sent from now on are heard.
reply({ type: 'ready' });
