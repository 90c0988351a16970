/**
 * Regression tests for what the network fuzzer (fuzz-network.test.ts) found, over real loopback sockets:
 *
 * - A text frame that is not valid UTF-8 was closed by ws itself with 1007 — no stable code, no "CODE: reason",
 *   not counted. The server now skips ws's UTF-8 validation (every text frame is refused anyway), so it gets
 *   UNSUPPORTED (1003) like any other text frame.
 * - A WebSocket-level violation that ws catches below us (unmasked frame, reserved opcode…) was only logged
 *   at debug level and never counted; it now counts as BAD_FRAME (TOO_BIG for a length beyond maxPayload).
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { codeFromCloseReason } from '@fedwarden/shared';
import { startFederation, type TestFederation } from './support/federation.ts';
import { RawPeer } from './support/raw-peer.ts';

let fed: TestFederation | undefined;
afterEach(async () => {
  await fed?.stop();
  fed = undefined;
});

async function rejections(code: string): Promise<number> {
  const metric = (await fed!.coordinator.metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'fedwarden_rejections_total');
  return metric?.values.find((v) => v.labels.code === code)?.value ?? 0;
}

describe('hostile frames (fuzzer regressions)', () => {
  it('refuses a text frame of invalid UTF-8 with UNSUPPORTED (1003), like any text frame', async () => {
    fed = await startFederation(1);
    for (const payload of [Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('plain text')]) {
      const peer = await RawPeer.connect(fed.url);
      peer.ws.send(payload, { binary: false });
      const { code, reason } = await peer.closed;
      expect(code).toBe(1003);
      expect(codeFromCloseReason(reason)).toBe('UNSUPPORTED');
    }
    expect(await rejections('UNSUPPORTED')).toBe(2);
  });

  it('counts a WebSocket-level violation caught by ws as BAD_FRAME', async () => {
    fed = await startFederation(1);
    const peer = await RawPeer.connect(fed.url);
    await peer.nextFrame();
    // A frame with a reserved opcode (0x3), written under ws's framing: ws closes with 1002 itself.
    const socket = (peer.ws as unknown as { _socket: Socket })._socket;
    socket.write(Buffer.from([0x83, 0x80, 1, 2, 3, 4]));
    expect((await peer.closed).code).toBe(1002);
    await expect.poll(() => rejections('BAD_FRAME')).toBe(1);
  });
});
