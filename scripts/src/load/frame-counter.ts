/**
 * Counts the WebSocket data frames the coordinator sends and receives, from inside the coordinator process,
 * for bench:load's frames-per-second figure. The coordinator has no frame counter of its own, so this wraps
 * `send` and the 'message' event of the `ws` WebSocket class that the coordinator package itself loads
 * (resolved from the coordinator's directory: the same module instance its server uses). Measurement only:
 * it is installed in the bench's coordinator process and never in production code.
 *
 * Counted: every data frame (the handshake hello and key exchange, sealed messages). Not counted: pings,
 * pongs and close frames (control frames), which ws sends by other methods.
 */
import { createRequire } from 'node:module';
import type { WebSocket } from 'ws';
import type { FrameCount } from './ipc.ts';

export interface FrameCounter {
  snapshot(): FrameCount;
}

function byteLength(data: unknown): number {
  if (ArrayBuffer.isView(data)) return data.byteLength;
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (Array.isArray(data)) return data.reduce((sum: number, part) => sum + byteLength(part), 0);
  if (typeof data === 'string') return Buffer.byteLength(data);
  return 0;
}

let installed: FrameCounter | undefined;

/** Wrap the coordinator's `ws` WebSocket class (once per process) and return the running counts. */
export function installFrameCounter(): FrameCounter {
  if (installed) return installed;
  const here = createRequire(import.meta.url);
  const fromCoordinator = createRequire(here.resolve('@fedwarden/coordinator'));
  const WebSocketClass = fromCoordinator('ws') as typeof WebSocket;
  const proto = WebSocketClass.prototype;
  const counts = { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0 };

  const send = proto.send as (this: WebSocket, data: unknown, ...rest: unknown[]) => void;
  proto.send = function countedSend(this: WebSocket, data: unknown, ...rest: unknown[]): void {
    counts.sent++;
    counts.bytesSent += byteLength(data);
    send.call(this, data, ...rest);
  } as WebSocket['send'];

  const emit = proto.emit as (this: WebSocket, event: string | symbol, ...args: unknown[]) => boolean;
  proto.emit = function countedEmit(this: WebSocket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'message') {
      counts.received++;
      counts.bytesReceived += byteLength(args[0]);
    }
    return emit.call(this, event, ...args);
  } as WebSocket['emit'];

  installed = { snapshot: () => ({ ...counts }) };
  return installed;
}

export function framesBetween(from: FrameCount, to: FrameCount): FrameCount {
  return {
    sent: to.sent - from.sent,
    received: to.received - from.received,
    bytesSent: to.bytesSent - from.bytesSent,
    bytesReceived: to.bytesReceived - from.bytesReceived,
  };
}
