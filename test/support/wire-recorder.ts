/**
 * A loopback TCP proxy that records every link's bytes, each direction apart, as a wire tap would, and the
 * WebSocket messages (RFC 6455 §5.2 framing, client frames unmasked) those bytes carry: what an attacker who
 * records traffic today has to work with later.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface RecordedLink {
  /** Participant → coordinator bytes, HTTP upgrade request included. */
  readonly up: Buffer;
  /** Coordinator → participant bytes, HTTP upgrade response included. */
  readonly down: Buffer;
}

export interface WireRecorder {
  readonly url: string;
  links(): RecordedLink[];
  close(): Promise<void>;
}

export async function startWireRecorder(targetPort: number): Promise<WireRecorder> {
  const recorded: { up: Buffer[]; down: Buffer[] }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const link = { up: [] as Buffer[], down: [] as Buffer[] };
    recorded.push(link);
    const upstream = connect(targetPort, '127.0.0.1');
    client.on('data', (d) => {
      link.up.push(Buffer.from(d));
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      link.down.push(Buffer.from(d));
      client.write(d);
    });
    for (const [socket, other] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        other.end();
      });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    links: () => recorded.map((l) => ({ up: Buffer.concat(l.up), down: Buffer.concat(l.down) })),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * The binary WebSocket messages in one direction of a recorded link, in order: the HTTP upgrade is skipped,
 * control frames (ping, pong, close) and text frames are left out. Fragmented messages are not expected (ws
 * sends each message as one frame) and fail the parse.
 */
export function binaryMessages(stream: Buffer): Uint8Array[] {
  const headerEnd = stream.indexOf('\r\n\r\n');
  if (headerEnd < 0) throw new Error('wire-recorder: no HTTP upgrade in the stream');
  const messages: Uint8Array[] = [];
  let at = headerEnd + 4;
  while (at + 2 <= stream.length) {
    const fin = (stream[at]! & 0x80) !== 0;
    const opcode = stream[at]! & 0x0f;
    const masked = (stream[at + 1]! & 0x80) !== 0;
    let length = stream[at + 1]! & 0x7f;
    at += 2;
    if (length === 126) {
      length = stream.readUInt16BE(at);
      at += 2;
    } else if (length === 127) {
      length = Number(stream.readBigUInt64BE(at));
      at += 8;
    }
    const mask = masked ? stream.subarray(at, at + 4) : undefined;
    if (masked) at += 4;
    if (at + length > stream.length) break; // cut off mid-frame by the close
    const payload = Uint8Array.from(stream.subarray(at, at + length));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
    at += length;
    if (opcode === 0x2) {
      if (!fin) throw new Error('wire-recorder: fragmented message');
      messages.push(payload);
    } else if (opcode === 0x0) throw new Error('wire-recorder: fragmented message');
  }
  return messages;
}
