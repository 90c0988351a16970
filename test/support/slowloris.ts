/**
 * A slowloris attacker for lock-out tests. From each of a set of loopback source addresses (on Linux all of
 * 127.0.0.0/8 is local, so 127.0.0.2, 127.0.0.3… act as separate hosts) it keeps `perAddress` sockets open on
 * the coordinator's port, each stalled in one of three ways, and opens a new one as soon as the coordinator
 * closes one:
 *
 * - `silent`: TCP connected, nothing sent;
 * - `partial-upgrade`: an HTTP upgrade request whose headers never end (one more header line every 500 ms);
 * - `stalled-handshake`: a completed WebSocket upgrade that never answers the coordinator's key-exchange hello.
 *
 * `held` counts its sockets that are open and unanswered (no HTTP refusal, not closed). Bounded: it opens at
 * most `maxOpens` sockets in all, waits `reopenDelayMs` before replacing one, and stop() closes everything.
 */
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';

export type StallKind = 'silent' | 'partial-upgrade' | 'stalled-handshake';

export interface SlowlorisOptions {
  readonly port: number;
  /** Source addresses, e.g. ['127.0.0.2', '127.0.0.3']. */
  readonly addresses: readonly string[];
  /** Sockets kept open from each address. */
  readonly perAddress: number;
  /** The stalls, used in turn. */
  readonly kinds?: readonly StallKind[];
  readonly maxOpens?: number;
  readonly reopenDelayMs?: number;
  /** Extra headers of its WebSocket upgrade requests (a forged X-Forwarded-For, say). */
  readonly headers?: Readonly<Record<string, string>>;
}

const ALL_KINDS: readonly StallKind[] = ['silent', 'partial-upgrade', 'stalled-handshake'];

export class Slowloris {
  /** Sockets opened so far. */
  opened = 0;
  /** HTTP status lines and WebSocket close codes the coordinator answered with, counted. */
  readonly answers = new Map<string, number>();
  private readonly live = new Set<{ held: boolean; close(): void }>();
  private running = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: SlowlorisOptions) {}

  /** Open sockets that the coordinator has neither answered nor closed. */
  get held(): number {
    let n = 0;
    for (const s of this.live) if (s.held) n++;
    return n;
  }

  start(): void {
    this.running = true;
    let k = 0;
    const kinds = this.options.kinds ?? ALL_KINDS;
    for (const address of this.options.addresses) {
      for (let i = 0; i < this.options.perAddress; i++) this.open(address, kinds[k++ % kinds.length] as StallKind);
    }
  }

  stop(): void {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of [...this.live]) s.close();
  }

  private count(answer: string): void {
    this.answers.set(answer, (this.answers.get(answer) ?? 0) + 1);
  }

  /** Replace a closed socket with one of the same kind, from the same address. */
  private reopen(address: string, kind: StallKind): void {
    if (!this.running || this.opened >= (this.options.maxOpens ?? 2_000)) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.running) this.open(address, kind);
    }, this.options.reopenDelayMs ?? 20);
    this.timers.add(timer);
  }

  private open(address: string, kind: StallKind): void {
    this.opened++;
    if (kind === 'stalled-handshake') this.openWebSocket(address);
    else this.openSocket(address, kind);
  }

  private openSocket(address: string, kind: StallKind): void {
    const socket: Socket = connect({ port: this.options.port, host: '127.0.0.1', localAddress: address });
    let drip: NodeJS.Timeout | undefined;
    const entry = { held: false, close: () => socket.destroy() };
    this.live.add(entry);
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      entry.held = true;
      if (kind !== 'partial-upgrade') return;
      socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n');
      let n = 0;
      drip = setInterval(() => socket.write(`X-Slow-${n++}: 1\r\n`), 500);
    });
    let answered = false;
    socket.on('data', (chunk: Buffer) => {
      entry.held = false;
      if (!answered) this.count(chunk.toString('latin1').split('\r\n', 1)[0] as string);
      answered = true;
    });
    socket.once('close', () => {
      clearInterval(drip);
      entry.held = false;
      if (!answered) this.count('closed without answer');
      this.live.delete(entry);
      this.reopen(address, kind);
    });
  }

  private openWebSocket(address: string): void {
    const ws = new WebSocket(`ws://127.0.0.1:${this.options.port}`, { localAddress: address, perMessageDeflate: false, headers: this.options.headers });
    const entry = { held: false, close: () => ws.terminate() };
    this.live.add(entry);
    ws.on('error', () => undefined);
    ws.once('open', () => (entry.held = true)); // the coordinator's hello arrives; it is never answered
    ws.once('unexpected-response', (_req, res) => {
      this.count(`HTTP/1.1 ${res.statusCode}`);
      ws.terminate();
    });
    ws.once('close', (code) => {
      if (entry.held) this.count(`close ${code}`);
      entry.held = false;
      this.live.delete(entry);
      this.reopen(address, 'stalled-handshake');
    });
  }
}
