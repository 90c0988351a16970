/**
 * Counts the WebSocket data frames a coordinator sends and receives, for bench:load's frames-per-second
 * figure, through the coordinator's own net-layer hook: the NetObserver its server reports every data frame
 * to (coordinator.metrics.net; its metrics count bytes, not frames). The observer's two frame callbacks are
 * wrapped in place, since the server holds that very object; measurement only, in the bench's coordinator
 * process.
 *
 * Counted: every data frame, handshake frames included (the server's hello, the client's key exchange) and
 * every sealed message. Not counted: pings, pongs and close frames (control frames).
 */
import type { FrameCount } from './ipc.ts';

/** The frame callbacks of the coordinator's NetObserver (net/net-observer.ts). */
export interface FrameHooks {
  frameReceived(bytes: number): void;
  frameSent(bytes: number, ...rest: never[]): void;
}

export interface FrameCounter {
  snapshot(): FrameCount;
}

export function countFrames(hooks: FrameHooks): FrameCounter {
  const counts = { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0 };
  const received = hooks.frameReceived.bind(hooks);
  const sent = hooks.frameSent.bind(hooks);
  hooks.frameReceived = (bytes) => {
    counts.received++;
    counts.bytesReceived += bytes;
    received(bytes);
  };
  hooks.frameSent = (bytes, ...rest) => {
    counts.sent++;
    counts.bytesSent += bytes;
    sent(bytes, ...rest);
  };
  return { snapshot: () => ({ ...counts }) };
}

export function framesBetween(from: FrameCount, to: FrameCount): FrameCount {
  return {
    sent: to.sent - from.sent,
    received: to.received - from.received,
    bytesSent: to.bytesSent - from.bytesSent,
    bytesReceived: to.bytesReceived - from.bytesReceived,
  };
}
