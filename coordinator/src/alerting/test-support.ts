/** A webhook receiver on 127.0.0.1 for the alerting tests: records each request, answers as the test says. */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Alert, AlertSeverity } from '../anomaly/alert.ts';
import type { RoundRecord } from '../rounds/round-record.ts';

export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly json: Record<string, unknown>;
}

/** Answer one request; `index` counts requests from 0. Default: 204. Not answering at all leaves it hanging. */
export type Answer = (res: ServerResponse, index: number, req: IncomingMessage) => void;

export interface TestReceiver {
  readonly url: string;
  readonly port: number;
  /** Every request that arrived, answered or not. */
  readonly received: Received[];
  /** Resolves once `n` requests arrived; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(answer: Answer = (res) => res.writeHead(204).end(), port = 0): Promise<TestReceiver> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const index = received.length;
      received.push({ headers: req.headers, body, json: JSON.parse(body) as Record<string, unknown> });
      answer(res, index, req);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/hooks/fedwarden?token=not-for-logs`,
    port: bound,
    received,
    async waitFor(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`receiver: ${received.length} of ${n} requests after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return received.slice(0, n);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening on it (connections are refused), free for a receiver to take later. */
export async function refusedPort(): Promise<number> {
  const r = await startReceiver();
  await r.close();
  return r.port;
}

/** Log lines a test reads back: createLogger('debug', {}, sink) writes each JSON line to `lines`. */
export function lineSink(): { lines: string[]; sink: (line: string) => void; parsed: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  return { lines, sink: (line) => lines.push(line), parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** A finished trusted round of participants p0..p{n-1} with these alerts (the fields alerting reads, the rest plausible). */
export function roundRecord(round: number, alerts: readonly Alert[] = [], extra: Partial<RoundRecord> = {}): RoundRecord {
  const ids = ['p0', 'p1', 'p2', 'p3', 'p4'];
  return {
    round,
    outcome: 'completed',
    reason: '5 of 5 contributed',
    privacy: 'trusted',
    selected: ids,
    reported: ids,
    dropped: [],
    units: ids.length,
    unitMembers: Object.fromEntries(ids.map((id) => [id, [id]])),
    rejected: [],
    adjusted: [],
    alerts,
    excluded: [],
    meanLoss: 1,
    samples: 50,
    uploadBytes: 0,
    adapterParams: 4,
    protocolMs: 0,
    durationMs: 10,
    ...extra,
  };
}

/** An isolation-forest finding about `unit` in `round`. */
export function unitAlert(round: number, unit: string, severity: AlertSeverity = 'warning', feature = 'norm'): Alert {
  return { detector: 'isolation-forest', severity, round, unit, feature, score: 0.72, message: `unit ${unit}: isolation score 0.720; ${feature} stands out` };
}
