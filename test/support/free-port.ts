/**
 * A TCP port that is free on 127.0.0.1 now, picked by the OS. For a process that must come back on the same
 * port after it is killed (a coordinator restarted on its data dir, reached again at the same address).
 */
import { createServer, type AddressInfo } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
