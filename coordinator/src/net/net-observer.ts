/**
 * What the network layer reports about its sockets, for metrics: wire bytes each way, the messages it sends,
 * every connection it refuses (by stable error code) and every close. The net layer calls it and never
 * depends on what listens; metrics/ implements it. Calls are synchronous and must not throw.
 */
import type { ErrorCode, Message } from '@fedwarden/shared';
import type { AdmissionStage } from './admission.ts';

export interface NetObserver {
  /** A data frame arrived, before any check (handshake and sealed frames alike). */
  frameReceived(bytes: number): void;
  /** A data frame went out: the handshake's serverHello (no message), or a sealed message to a participant. */
  frameSent(bytes: number, msg?: Message, participantId?: string): void;
  /** The coordinator refused a frame, a handshake or a connection, and closes it with `code`'s close code. */
  rejected(code: ErrorCode): void;
  /** A socket closed; `closeCode` is whichever side's close code ended it (1006 when none was sent). */
  closed(closeCode: number): void;
  /** The participants' port's admission: `read` counts its open sockets by stage whenever asked. */
  admissionStages(read: () => Readonly<Record<AdmissionStage, number>>): void;
}

export const NOOP_NET_OBSERVER: NetObserver = {
  frameReceived: () => undefined,
  frameSent: () => undefined,
  rejected: () => undefined,
  closed: () => undefined,
  admissionStages: () => undefined,
};
