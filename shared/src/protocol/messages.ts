/**
 * fedwarden wire protocol, version 1: the messages carried inside the encrypted channel.
 *
 * Messages are a discriminated union on `kind`. Each kind has a fixed numeric tag on the wire (never reuse one).
 * Tensors are Float32Array and travel as raw little-endian bytes. See codec.ts for the byte layout.
 */
import type { AdapterManifest } from '../adapter.ts';
import type { ErrorCode } from '../errors.ts';

export const PROTOCOL_VERSION = 1;

/** Hyper-parameters a participant uses for one round of local training. */
export interface TrainingPlan {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
}

export type RoundOutcome = 'completed' | 'aborted';

export type Message =
  /** Participant → coordinator, first message after the handshake. */
  | { readonly kind: 'hello'; readonly token: string; readonly manifest: AdapterManifest }
  /** Coordinator → participant: accepted. */
  | { readonly kind: 'welcome'; readonly participantId: string; readonly rounds: number }
  /** Coordinator → participant: you are selected; train from `global` and report before the deadline. */
  | {
      readonly kind: 'roundStart';
      readonly round: number;
      readonly plan: TrainingPlan;
      /** Milliseconds from receipt within which the update must arrive. */
      readonly deadlineMs: number;
      readonly global: Float32Array;
    }
  /** Participant → coordinator: the change to the global adapter after local training. */
  | {
      readonly kind: 'update';
      readonly round: number;
      readonly numSamples: number;
      readonly meanLoss: number;
      readonly trainMs: number;
      readonly delta: Float32Array;
    }
  /** Coordinator → participant: the update for `round` was received and counted once. */
  | { readonly kind: 'updateAck'; readonly round: number }
  /** Coordinator → participants of a round: how it ended. */
  | { readonly kind: 'roundEnd'; readonly round: number; readonly outcome: RoundOutcome; readonly reason: string }
  /** Coordinator → participant: the federation has finished its rounds; `global` is the final adapter. */
  | { readonly kind: 'finished'; readonly round: number; readonly global: Float32Array }
  /** Either side: a protocol error; the sender closes after it. */
  | { readonly kind: 'error'; readonly code: ErrorCode; readonly message: string };

export type MessageKind = Message['kind'];
export type MessageOf<K extends MessageKind> = Extract<Message, { kind: K }>;

/** Wire tags. Append only. */
export const MESSAGE_TAGS = {
  hello: 1,
  welcome: 2,
  roundStart: 3,
  update: 4,
  updateAck: 5,
  roundEnd: 6,
  finished: 7,
  error: 8,
} as const satisfies Record<MessageKind, number>;
