/**
 * The messages bench:load's processes exchange over Node's IPC channel: the orchestrator (bench-load.ts),
 * the coordinator process (measured alone) and the client processes (the participants). One discriminated
 * union per direction; a child's messages are checked for a known `type` where they arrive (ipcMessage), and
 * anything else is a BAD_FRAME error rather than a silent drop.
 *
 * Enrolment tokens travel to the client processes over this local channel only; they are never logged.
 */
import { FedwardenError } from '@fedwarden/shared';

/** process.memoryUsage() at one moment, bytes. */
export interface MemorySample {
  readonly rss: number;
  /** V8 heap committed (heapUsed plus free space inside the heap's pages). */
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Authenticated participants connected when the sample was taken. */
  readonly connected: number;
  /** Whether a full GC ran just before (the coordinator process was started with --expose-gc). */
  readonly afterGc: boolean;
}

/** Frames (WebSocket data messages, not pings) the coordinator sent and received, and their bytes. */
export interface FrameCount {
  readonly sent: number;
  readonly received: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

/** What the coordinator process reports about one round. */
export interface RoundReport {
  readonly round: number;
  readonly outcome: string;
  readonly reason: string;
  readonly selected: number;
  readonly reported: number;
  /** RoundRecord.durationMs: from the round's start to its aggregate, on the coordinator's clock. */
  readonly durationMs: number;
  /** Wall time from the previous round's end (or run start) to this round's end, roundEnd frames included. */
  readonly windowMs: number;
  /** Frames in that window. */
  readonly frames: FrameCount;
  /**
   * The coordinator's own stage timings for this round (its stage-duration histogram), ms: collection (start to
   * last update: sending the global, training, uploads) and aggregation (strategy, reputation, detectors).
   * Null where the coordinator does not report the stage.
   */
  readonly collectionMs: number | null;
  readonly aggregationMs: number | null;
  readonly memory: MemorySample;
}

export interface CoordinatorSetup {
  /** A CoordinatorConfigInput (port, participants, limits…), as JSON. */
  readonly config: Record<string, unknown>;
}

export type ToCoordinator =
  | { readonly type: 'start'; readonly setup: CoordinatorSetup }
  | { readonly type: 'measure'; readonly label: string }
  | { readonly type: 'run' }
  | { readonly type: 'stop' };

export type FromCoordinator =
  | { readonly type: 'ready' }
  | { readonly type: 'listening'; readonly port: number; readonly fingerprint: string }
  | { readonly type: 'memory'; readonly label: string; readonly sample: MemorySample }
  | { readonly type: 'round'; readonly report: RoundReport }
  | {
      readonly type: 'finished';
      readonly runMs: number;
      readonly frames: FrameCount;
      /** Highest RSS and heapUsed + external seen while rounds ran (sampled every few tens of ms). */
      readonly peakRss: number;
      readonly peakHeapExternal: number;
    }
  | { readonly type: 'stopped' }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

export interface LightModelSpec {
  readonly params: number;
  readonly trainMinMs: number;
  readonly trainMaxMs: number;
  readonly samples: number;
}

export interface ClientSetup {
  readonly url: string;
  readonly fingerprint: string;
  /** This process's participants: index in the federation and enrolment token. */
  readonly participants: readonly { readonly index: number; readonly token: string }[];
  readonly model: LightModelSpec;
  readonly seed: number;
  /** Most connection handshakes in flight at once in this process. */
  readonly connectConcurrency: number;
  readonly handshakeTimeoutMs: number;
}

/** Per round, over one client process's participants. */
export interface ClientRoundStats {
  readonly round: number;
  readonly trained: number;
  /** Slowest training as measured by the participant (the trainMs it reports), ms. */
  readonly maxTrainMs: number;
  /** Slowest training time drawn (the fake trainer's nominal sleep), ms. */
  readonly maxNominalMs: number;
}

export type ToClients =
  /** No reply: IPC keeps order, so the next command finds the setup in place. */
  | { readonly type: 'init'; readonly setup: ClientSetup }
  | { readonly type: 'connect'; readonly count: number };

export type FromClients =
  | { readonly type: 'ready' }
  | { readonly type: 'connected'; readonly total: number; readonly ms: number }
  | {
      readonly type: 'done';
      readonly rounds: readonly ClientRoundStats[];
      readonly finished: number;
      /** Sessions lost after the welcome, and reconnect attempts the SDK made (first connections included). */
      readonly disconnects: number;
      readonly reconnectAttempts: number;
    }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

/** Check that an IPC message has a `type` among `known`; the rest of its shape is ours (same program). */
export function ipcMessage<T extends { readonly type: string }>(value: unknown, known: readonly T['type'][]): T {
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !known.includes(type)) {
    throw new FedwardenError('BAD_FRAME', `bench:load: unexpected IPC message ${JSON.stringify(type)}`);
  }
  return value as T;
}

export const FROM_COORDINATOR: readonly FromCoordinator['type'][] = ['ready', 'listening', 'memory', 'round', 'finished', 'stopped', 'error'];
export const FROM_CLIENTS: readonly FromClients['type'][] = ['ready', 'connected', 'done', 'error'];
export const TO_COORDINATOR: readonly ToCoordinator['type'][] = ['start', 'measure', 'run', 'stop'];
export const TO_CLIENTS: readonly ToClients['type'][] = ['init', 'connect'];
