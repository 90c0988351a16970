/**
 * bench:secagg — cost of one secure group's SecAgg+ round, in memory (real ML-KEM, AES-GCM, Shamir, AES-CTR
 * masks; no sockets), per stage on the participant and coordinator side; mask-expansion throughput against
 * the raw native AES-128-CTR keystream; bytes per parameter of a sealed masked upload.
 *
 *   pnpm bench:secagg [--n 10,50,100,200] [--d 10000,100000,1000000] [--dropout 0,0.1,0.3] [--json]
 *
 * Each group's degree is chosen as the coordinator does with secagg.maxDropout = max(0.1, the row's dropout).
 * Dropouts are taken at the costliest point for the coordinator: after the shares stage, before the masked
 * upload, so that every dropped member's pairwise masks must be reconstructed from shares of its master.
 * Participant times are the mean per participant; coordinator times are for the whole group. The unmask
 * column of the coordinator is unmaskRequests + accepting replies + reconstruction and mask removal.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { SecaggClient } from '@fedwarden/client';
import { SecaggGroup } from '@fedwarden/coordinator';
import {
  createRng,
  defaultDegree,
  deriveSeed,
  defaultThreshold,
  measureMaskThroughput,
  neighbourGraph,
  quantizationBits,
  shuffle,
} from '@fedwarden/shared';
import { uploadWireBytes } from './report/wire-bytes.ts';

const STAGES = ['keys', 'encaps', 'shares', 'masked', 'unmask'] as const;
type Stage = (typeof STAGES)[number];
type StageTimes = Record<Stage, number>;

interface Row {
  n: number;
  d: number;
  dropout: number;
  dropped: number;
  degree: number;
  threshold: number;
  client: StageTimes;
  coordinator: StageTimes;
  ok: boolean;
}

function zeros(): StageTimes {
  return { keys: 0, encaps: 0, shares: 0, masked: 0, unmask: 0 };
}

function runGroup(n: number, d: number, dropout: number, seed: number): Row {
  // The group is sized, as the coordinator does, for the dropout it must survive (config secagg.maxDropout,
  // default 0.1).
  const k = defaultDegree(n, Math.max(0.1, dropout));
  // Independent streams: drawing the drop set from the graph's own permutation would drop ring neighbours.
  const graph = neighbourGraph(n, k >= n - 1 ? { kind: 'complete' } : { kind: 'kRegular', k }, deriveSeed(seed, 1));
  const threshold = defaultThreshold(k);
  const indices = Array.from({ length: n }, (_, i) => i + 1);
  const group = new SecaggGroup({
    round: 1,
    group: 1,
    memberIds: indices.map((i) => `p${i}`),
    graph,
    threshold,
    clip: 1,
    bits: quantizationBits(n),
    dim: d,
  });
  const rng = createRng(deriveSeed(seed, 2));
  const dropped = new Set(shuffle(rng, [...indices]).slice(0, Math.round(dropout * n)));
  const update = Float32Array.from({ length: d }, () => rng.next() - 0.5);
  const client = zeros();
  const coordinator = zeros();
  const time = (times: StageTimes, stage: Stage, fn: () => void) => {
    const t0 = performance.now();
    fn();
    times[stage] += performance.now() - t0;
  };
  const clients = new Map(indices.map((i) => [i, new SecaggClient(1, group.setupFor(i))]));
  const meta = { numSamples: 100, meanLoss: 0.5, trainMs: 1 };

  for (const [i, c] of clients) {
    let msg!: ReturnType<SecaggClient['keys']>;
    time(client, 'keys', () => (msg = c.keys(meta)));
    time(coordinator, 'keys', () => group.acceptKeys(i, msg));
  }
  let relays: Map<number, unknown> = new Map();
  time(coordinator, 'keys', () => (relays = group.relayKeys()));
  for (const [i, c] of clients) {
    let msg!: ReturnType<SecaggClient['encaps']>;
    time(client, 'encaps', () => (msg = c.encaps(relays.get(i) as Parameters<SecaggClient['encaps']>[0])));
    time(coordinator, 'encaps', () => group.acceptEncaps(i, msg));
  }
  time(coordinator, 'encaps', () => (relays = group.relayEncaps()));
  for (const [i, c] of clients) {
    let msg!: ReturnType<SecaggClient['shares']>;
    time(client, 'shares', () => (msg = c.shares(relays.get(i) as Parameters<SecaggClient['shares']>[0])));
    time(coordinator, 'shares', () => group.acceptShares(i, msg));
  }
  time(coordinator, 'shares', () => (relays = group.relayShares(new Map(indices.map((i) => [i, 1])))));
  for (const [i, c] of clients) {
    if (dropped.has(i)) continue;
    let msg!: ReturnType<SecaggClient['masked']>;
    time(client, 'masked', () => (msg = c.masked(relays.get(i) as Parameters<SecaggClient['masked']>[0], update)));
    time(coordinator, 'masked', () => group.acceptMasked(i, msg));
  }
  time(coordinator, 'unmask', () => (relays = group.unmaskRequests()));
  for (const [i, c] of clients) {
    const request = relays.get(i) as Parameters<SecaggClient['unmask']>[0] | undefined;
    if (dropped.has(i) || !request) continue; // a group that cannot finish asks nobody to unmask
    let msg!: ReturnType<SecaggClient['unmask']>;
    time(client, 'unmask', () => (msg = c.unmask(request)));
    time(coordinator, 'unmask', () => group.acceptUnmaskReply(i, msg));
  }
  let ok = false;
  time(coordinator, 'unmask', () => (ok = group.finish().ok));
  const survivors = n - dropped.size;
  for (const stage of STAGES) client[stage] /= stage === 'masked' || stage === 'unmask' ? survivors : n;
  return { n, d, dropout, dropped: dropped.size, degree: k, threshold, client, coordinator, ok };
}

/** Sealed saMasked frame plus its masked WebSocket header, per parameter. */
function maskedBytesPerParam(d: number): number {
  return uploadWireBytes({ kind: 'saMasked', round: 1, masked: new Uint32Array(d), complaints: [] }) / d;
}

function list(value: string, name: string): number[] {
  const out = value.split(',').map(Number);
  if (out.some((v) => !Number.isFinite(v) || v < 0)) throw new Error(`--${name}: comma-separated non-negative numbers`);
  return out;
}

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string', default: '10,50,100,200' },
      d: { type: 'string', default: '10000,100000,1000000' },
      dropout: { type: 'string', default: '0,0.1,0.3' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  const say = (line: string) => {
    if (!values.json) process.stdout.write(line + '\n');
  };
  const ns = list(values.n, 'n');
  const ds = list(values.d, 'd');
  const drops = list(values.dropout, 'dropout');
  const f = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0)).padStart(8);
  say('bench:secagg — one group, in memory; participant ms are per participant, coordinator ms for the group');
  say('');
  say(
    '   n        d  drop  k   t |  participant: keys   encaps   shares   masked   unmask | coordinator: keys   encaps   shares   masked   unmask  ok',
  );
  const rows: Row[] = [];
  for (const n of ns) {
    for (const d of ds) {
      for (const dropout of drops) {
        const row = runGroup(n, d, dropout, Number(values.seed));
        rows.push(row);
        say(
          `${String(n).padStart(4)} ${String(d).padStart(8)}  ${dropout.toFixed(1)} ${String(row.degree).padStart(3)} ${String(row.threshold).padStart(3)} |` +
            `              ${STAGES.map((s) => f(row.client[s])).join(' ')} |` +
            `              ${STAGES.map((s) => f(row.coordinator[s])).join(' ')}  ${row.ok ? 'yes' : 'NO'}`,
        );
      }
    }
  }
  say('');
  say('mask PRG vs the raw native AES-128-CTR keystream (MB/s of mask; ratios to raw)');
  say('  expansion = expandMask: HMAC key derivation + AES-128-CTR keystream into a word vector');
  say('  application = applyMask: expansion + the mod-2^32 add into the masked vector (the protocol hot path)');
  say('       d   raw MB/s   expansion  ratio   application  ratio');
  const throughput = [10_000, 100_000, 1_000_000].map((d) => ({ d, ...measureMaskThroughput(d, 15) }));
  for (const t of throughput) {
    say(
      `${String(t.d).padStart(8)} ${t.rawMBps.toFixed(0).padStart(10)} ${t.expandMBps.toFixed(0).padStart(11)} ${t.expandRatio.toFixed(2).padStart(6)}` +
        ` ${t.maskMBps.toFixed(0).padStart(13)} ${t.ratio.toFixed(2).padStart(6)}`,
    );
  }
  const bytesPerParam = maskedBytesPerParam(100_000);
  say('');
  say(`masked upload, sealed with its WebSocket header: ${bytesPerParam.toFixed(4)} bytes per parameter (d = 100000)`);
  if (values.json) process.stdout.write(JSON.stringify({ rows, throughput, maskedBytesPerParam: bytesPerParam }) + '\n');
}

main(process.argv.slice(2));
