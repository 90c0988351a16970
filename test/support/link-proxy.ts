/**
 * A loopback TCP proxy whose links can fail the ways real networks fail, for resilience tests:
 * - cut(): every current link is torn down at once (both sockets destroyed), as when a connection resets;
 * - blackHole(): every current link stops forwarding without closing anything, as when a NAT forgets the
 *   flow or a peer loses power: neither end hears a FIN or RST, even when the other end closes its socket;
 *   only a heartbeat can tell. blackHole('down') swallows only what the coordinator sends (the participant's
 *   frames still arrive, the acknowledgements and pings do not).
 * New links are forwarded normally either way, so a participant that reconnects gets through.
 * With `capture`, every byte forwarded in either direction is recorded, to check what an observer of the wire
 * sees.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface LinkProxy {
  readonly url: string;
  readonly port: number;
  /** Links accepted so far. */
  readonly accepted: number;
  /** All bytes forwarded so far, both directions (empty unless started with `capture`). */
  captured(): Buffer;
  cut(): void;
  blackHole(direction?: 'both' | 'down'): void;
  close(): Promise<void>;
}

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  darkUp: boolean;
  darkDown: boolean;
}

export async function startLinkProxy(targetPort: number, options: { capture?: boolean } = {}): Promise<LinkProxy> {
  const links = new Set<Link>();
  const chunks: Buffer[] = [];
  const record = (d: Buffer) => {
    if (options.capture) chunks.push(Buffer.from(d));
  };
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    const upstream = connect(targetPort, '127.0.0.1');
    const link: Link = { client, upstream, darkUp: false, darkDown: false };
    links.add(link);
    const end = () => drop(link);
    client.on('data', (d) => {
      if (link.darkUp) return;
      record(d);
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (link.darkDown) return;
      record(d);
      client.write(d);
    });
    // A closing end is passed on only while the link forwards; a black hole swallows it too.
    for (const socket of [client, upstream]) {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        if (!link.darkUp && !link.darkDown) end();
      });
    }
  });
  const drop = (link: Link) => {
    links.delete(link);
    link.client.destroy();
    link.upstream.destroy();
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    captured: () => Buffer.concat(chunks),
    cut() {
      for (const link of [...links]) drop(link);
    },
    blackHole(direction = 'both') {
      for (const link of links) {
        link.darkDown = true;
        if (direction === 'both') link.darkUp = true;
      }
    },
    close: () =>
      new Promise((r) => {
        for (const link of [...links]) drop(link);
        server.close(() => r());
      }),
  };
}
