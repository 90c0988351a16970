/** A loopback TCP proxy that records every byte in both directions, to check what an observer of the wire sees. */
import { createServer, connect, type AddressInfo, type Server } from 'node:net';

export interface TapProxy {
  readonly url: string;
  /** All bytes seen so far, client→server and server→client. */
  captured(): Buffer;
  close(): Promise<void>;
}

export async function startTapProxy(targetPort: number): Promise<TapProxy> {
  const chunks: Buffer[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    client.on('data', (d) => {
      chunks.push(Buffer.from(d));
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      chunks.push(Buffer.from(d));
      client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    captured: () => Buffer.concat(chunks),
    close: () =>
      new Promise((r) => {
        server.close(() => r());
      }),
  };
}
