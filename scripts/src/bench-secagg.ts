/**
 * bench:secagg — cost of one secure group's SecAgg+ round, in memory (real ML-KEM, ML-DSA-65 signatures,
 * AES-GCM, Shamir, SHA-256 commitments, AES-CTR masks; no sockets), per stage on the participant and coordinator
 * side; what the signatures and commitments cost inside those stages; mask-expansion throughput against the raw
 * native AES-128-CTR keystream; bytes per parameter of a sealed masked upload.
 *
 *   pnpm bench:secagg [--n 10,50,100,200] [--d 10000,100000,1000000] [--dropout 0,0.1,0.3] [--vanish 0]
 *                     [--seed 1] [--json]
 *
 * Each group's degree is chosen as the coordinator does with secagg.maxDropout = max(0.1, the row's dropout).
 * Dropouts are taken at the costliest point for the coordinator: after the shares stage, before the masked
 * upload, so that every dropped member's pairwise masks must come out of the sum. Survivors reveal the seeds
 * they share with a dropped partner, and the coordinator removes those masks without any KEM work
 * (docs/secagg-dropout-recovery.md). --vanish f makes a further fraction f of the members vanish after their
 * masked upload, before answering unmask: a dropped member with such a partner is then recovered the old way,
 * from its rebuilt pairwise master (ML-KEM key generation, decapsulation, re-encapsulation). The column "rec"
 * gives how many dropped members each way took: by seeds / from the master. The column "floor" is the time the
 * raw native AES-128-CTR keystream alone takes for the masks the coordinator must remove (one per survivor, one
 * per surviving partner of each dropped member, d words each), timed right after the row; "x" is unmask / floor.
 * Identity key pairs (ML-DSA-65) are made once per member index before any row, outside every timed section:
 * key generation is enrolment, not part of a round.
 *
 * Stage table. Participant times are the mean per participant that ran the stage (keys, encaps, shares: all n;
 * masked, survivors, unmask: the survivors); coordinator times are for the whole group. Coordinator columns:
 * keys..shares = its accept* calls (each checks the sender's signature) + the relay; masked = acceptMasked*;
 * survivors = survivorsRequests (plans the unmask, opens the consistency round) + acceptSurvivorsSigned*
 * (checks each survivor's signature over U3); unmask = unmaskRequests + acceptUnmaskReply* + finish
 * (share checks against commitments, reconstruction, mask removal). All are wall-clock ms on one thread. The
 * last column, cpu, is the process's CPU time over the row's wall time: well under 100 % means something else
 * had the CPU meanwhile and every ms of that row is inflated (GC helper threads can take it above 100 %).
 *
 * Signature and commitment table: measured inside the same run, not estimated. Before the protocol modules are
 * loaded, report/crypto-meter.ts installs a module-resolution hook that gives the secagg modules of client-sdk
 * and coordinator a facade of @fedwarden/shared in which signStatement, attestItems, verifyStatement,
 * checkAttested, checkAttestedAll, commitSecret and commitShare run inside a stopwatch, filed by side. So each
 * figure is the summed wall time of the calls the protocol really made in that round, with their real inputs:
 *   sign   = signStatement (keys, survivors) + attestItems (encaps, shares: SHA-256 of each recipient's item, one
 *            ML-DSA-65 signature over the list). A member that stays to the end signs 4 times per round.
 *   verify = verifyStatement + checkAttested (a member: relayed keys, encaps and shares of each neighbour it
 *            hears from, and each partner's signature over U3 at unmask, about 4k) + checkAttestedAll (the
 *            coordinator: each member's keys, encaps and shares, and each survivor's U3 signature: 3n + |U3|).
 *   commit = commitSecret + commitShare: a member makes 2 + 2k (its b and P, then each share it seals) and
 *            recomputes 2k to check the shares it opens; the coordinator recomputes one per revealed share and
 *            one per rebuilt secret at finish.
 * Member figures are per member and round, the mean over all n members of the group (dropped ones included);
 * calls are the same mean. Coordinator figures are for the whole group. These times are part of the stage
 * columns, not added to them; "share" is their part of all participant (resp. coordinator) stage time. Not
 * metered: building the statements and items (byte copies) and the codec, both small.
 * Before the rows, a calibration times ML-DSA-65 keygen, sign and verify alone on statements of realistic
 * size, and one SHA-256 commitment, to compare with the in-run means per call.
 */
import { createCipheriv, randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { SecaggClient as SecaggClientType } from '@fedwarden/client';
import {
  commitShare,
  createRng,
  defaultDegree,
  deriveSeed,
  defaultThreshold,
  generateIdentity,
  keysStatement,
  measureMaskThroughput,
  neighbourGraph,
  quantizationBits,
  shuffle,
  signStatement,
  survivorsStatement,
  verifyStatement,
  type IdentityKeyPair,
} from '@fedwarden/shared';
import { installCryptoMeter, type MeterKind, type MeterSide, type MeterTotals } from './report/crypto-meter.ts';
import { uploadWireBytes } from './report/wire-bytes.ts';

// The meter must be in place before the protocol modules load: import them only now.
const meter = installCryptoMeter();
const { SecaggClient } = await import('@fedwarden/client');
const { SecaggGroup } = await import('@fedwarden/coordinator');
type SecaggClient = SecaggClientType;

const STAGES = ['keys', 'encaps', 'shares', 'masked', 'survivors', 'unmask'] as const;
type Stage = (typeof STAGES)[number];
type StageTimes = Record<Stage, number>;
const KINDS: readonly MeterKind[] = ['sign', 'verify', 'commit'];

interface Row {
  n: number;
  d: number;
  dropout: number;
  dropped: number;
  /** Members that vanished after masked, before unmask. */
  vanished: number;
  /** ms of raw AES-128-CTR keystream for the masks the coordinator removes at unmask. */
  keystreamFloor: number;
  /** Dropped members recovered by revealed seeds, and from a rebuilt master. */
  bySeeds: number;
  byMaster: number;
  survivors: number;
  degree: number;
  threshold: number;
  /** Mean ms per participant that ran the stage. */
  client: StageTimes;
  /** ms for the whole group. */
  coordinator: StageTimes;
  /** Total ms of all participants, all stages; total ms of the coordinator. */
  totals: Record<MeterSide, number>;
  /** Metered signature and commitment calls of the round: summed over the group (divide by n per member). */
  crypto: MeterTotals;
  /** Process CPU time / wall time over the row. */
  cpu: number;
  ok: boolean;
}

interface Calibration {
  keygenMs: number;
  signMs: number;
  verifyMs: number;
  keysStatementBytes: number;
  commitUs: number;
}

function zeros(): StageTimes {
  return { keys: 0, encaps: 0, shares: 0, masked: 0, survivors: 0, unmask: 0 };
}

/** Identity key pairs by member index, made once: enrolment, outside every timed section. */
const IDENTITIES: IdentityKeyPair[] = [];
function identities(n: number): IdentityKeyPair[] {
  while (IDENTITIES.length < n) IDENTITIES.push(generateIdentity());
  return IDENTITIES.slice(0, n);
}

function runGroup(n: number, d: number, dropout: number, vanish: number, seed: number): Row {
  // The group is sized, as the coordinator does, for the dropout it must survive (config secagg.maxDropout,
  // default 0.1).
  const k = defaultDegree(n, Math.max(0.1, dropout));
  // Independent streams: drawing the drop set from the graph's own permutation would drop ring neighbours.
  const graph = neighbourGraph(n, k >= n - 1 ? { kind: 'complete' } : { kind: 'kRegular', k }, deriveSeed(seed, 1));
  const threshold = defaultThreshold(k);
  const indices = Array.from({ length: n }, (_, i) => i + 1);
  const ids = identities(n);
  const group = new SecaggGroup({
    round: 1,
    group: 1,
    memberIds: indices.map((i) => `p${i}`),
    identityKeys: ids.map((id) => id.publicKey),
    graph,
    threshold,
    clip: 1,
    bits: quantizationBits(n),
    dim: d,
  });
  const rng = createRng(deriveSeed(seed, 2));
  const order = shuffle(rng, [...indices]);
  const dropped = new Set(order.slice(0, Math.round(dropout * n)));
  const vanished = new Set(order.slice(dropped.size, dropped.size + Math.round(vanish * n)));
  const update = Float32Array.from({ length: d }, () => rng.next() - 0.5);
  const client = zeros();
  const coordinator = zeros();
  const ran = zeros();
  const time = (times: StageTimes, stage: Stage, fn: () => void) => {
    const t0 = performance.now();
    fn();
    times[stage] += performance.now() - t0;
    if (times === client) ran[stage]++;
  };
  const clients = new Map(indices.map((i) => [i, new SecaggClient(1, group.setupFor(i), { identity: ids[i - 1] as IdentityKeyPair })]));
  const meta = { numSamples: 100, meanLoss: 0.5, trainMs: 1 };
  meter.reset();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();

  for (const [i, c] of clients) {
    let msg!: ReturnType<SecaggClient['keys']>;
    time(client, 'keys', () => (msg = c.keys(meta)));
    time(coordinator, 'keys', () => group.acceptKeys(i, msg));
  }
  let relays: Map<number, unknown> = new Map();
  time(coordinator, 'keys', () => (relays = group.relayKeys()));
  for (const [i, c] of clients) {
    const relay = relays.get(i) as Parameters<SecaggClient['encaps']>[0] | undefined;
    if (!relay) continue;
    let msg!: ReturnType<SecaggClient['encaps']>;
    time(client, 'encaps', () => (msg = c.encaps(relay)));
    time(coordinator, 'encaps', () => group.acceptEncaps(i, msg));
  }
  time(coordinator, 'encaps', () => (relays = group.relayEncaps()));
  for (const [i, c] of clients) {
    const relay = relays.get(i) as Parameters<SecaggClient['shares']>[0] | undefined;
    if (!relay) continue;
    let msg!: ReturnType<SecaggClient['shares']>;
    time(client, 'shares', () => (msg = c.shares(relay)));
    time(coordinator, 'shares', () => group.acceptShares(i, msg));
  }
  time(coordinator, 'shares', () => (relays = group.relayShares(new Map(indices.map((i) => [i, 1])))));
  for (const [i, c] of clients) {
    const relay = relays.get(i) as Parameters<SecaggClient['masked']>[0] | undefined;
    if (dropped.has(i) || !relay) continue;
    let msg!: ReturnType<SecaggClient['masked']>;
    time(client, 'masked', () => (msg = c.masked(relay, update)));
    time(coordinator, 'masked', () => group.acceptMasked(i, msg));
  }
  time(coordinator, 'survivors', () => (relays = group.survivorsRequests()));
  for (const [i, c] of clients) {
    const request = relays.get(i) as Parameters<SecaggClient['survivors']>[0] | undefined;
    if (dropped.has(i) || !request) continue; // a group that cannot finish asks nobody
    let msg!: ReturnType<SecaggClient['survivors']>;
    time(client, 'survivors', () => (msg = c.survivors(request)));
    time(coordinator, 'survivors', () => group.acceptSurvivorsSigned(i, msg));
  }
  time(coordinator, 'unmask', () => (relays = group.unmaskRequests()));
  for (const [i, c] of clients) {
    const request = relays.get(i) as Parameters<SecaggClient['unmask']>[0] | undefined;
    if (dropped.has(i) || vanished.has(i) || !request) continue;
    let msg!: ReturnType<SecaggClient['unmask']>;
    time(client, 'unmask', () => (msg = c.unmask(request)));
    time(coordinator, 'unmask', () => group.acceptUnmaskReply(i, msg));
  }
  let result!: ReturnType<(typeof group)['finish']>;
  time(coordinator, 'unmask', () => (result = group.finish()));
  const ok = result.ok;
  const recovered = result.ok ? result.recovered : { bySeeds: [], byMaster: [] };
  const crypto = structuredClone(meter.totals());
  const survivorsOf = (j: number) => (graph[j] ?? []).filter((i) => !dropped.has(i)).length;
  const keystreamFloor = rawKeystreamMs(n - dropped.size + [...dropped].reduce((acc, j) => acc + survivorsOf(j), 0), 4 * d);
  const cpuUsed = process.cpuUsage(cpu0);
  const cpu = (cpuUsed.user + cpuUsed.system) / 1000 / (performance.now() - wall0);
  const sum = (t: StageTimes) => STAGES.reduce((s, stage) => s + t[stage], 0);
  const totals = { participant: sum(client), coordinator: sum(coordinator) };
  for (const stage of STAGES) client[stage] /= Math.max(1, ran[stage]);
  const { bySeeds, byMaster } = recovered;
  return {
    n,
    d,
    dropout,
    dropped: dropped.size,
    vanished: vanished.size,
    keystreamFloor,
    bySeeds: bySeeds.length,
    byMaster: byMaster.length,
    survivors: n - dropped.size,
    degree: k,
    threshold,
    client,
    coordinator,
    totals,
    crypto,
    cpu,
    ok,
  };
}

/** ms for `streams` raw AES-128-CTR keystreams of `bytes` bytes each, in 64 KiB updates as applyMask makes them. */
function rawKeystreamMs(streams: number, bytes: number): number {
  const zeros = Buffer.alloc(64 * 1024);
  const key = randomFillSync(new Uint8Array(16));
  const iv = randomFillSync(new Uint8Array(16));
  const t0 = performance.now();
  for (let s = 0; s < streams; s++) {
    const c = createCipheriv('aes-128-ctr', key, iv);
    for (let off = 0; off < bytes; off += zeros.length) c.update(off + zeros.length <= bytes ? zeros : zeros.subarray(0, bytes - off));
  }
  return performance.now() - t0;
}

/** ML-DSA-65 and one commitment alone, on statements of the sizes the protocol signs. */
function calibrate(reps: number): Calibration {
  const mean = (fn: () => void) => {
    for (let r = 0; r < 20; r++) fn(); // warm-up: let the JIT optimise first, as it has in a running round
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) fn();
    return (performance.now() - t0) / reps;
  };
  let id = generateIdentity();
  const keygenMs = mean(() => (id = generateIdentity()));
  const rng = createRng(3);
  const bytes = (len: number) => Uint8Array.from({ length: len }, () => Math.floor(rng.next() * 256));
  const statement = keysStatement(1, 1, 1, { maskPublicKey: bytes(1184), sharePublicKey: bytes(1184), selfCommitment: bytes(32), masterCommitment: bytes(32) });
  let signature = signStatement(id.secretKey, statement);
  const signMs = mean(() => (signature = signStatement(id.secretKey, statement)));
  let valid = true;
  const verifyMs = mean(() => (valid = valid && verifyStatement(id.publicKey, statement, signature)));
  if (!valid || !verifyStatement(id.publicKey, survivorsStatement(1, 1, 1, [1, 2]), signStatement(id.secretKey, survivorsStatement(1, 1, 1, [1, 2])))) {
    throw new Error('calibration: a signature did not verify');
  }
  const share = bytes(32);
  const commitReps = 20_000;
  for (let r = 0; r < 1000; r++) commitShare('self', share, 1, 1, 1, 2);
  const t0 = performance.now();
  for (let r = 0; r < commitReps; r++) commitShare('self', share, 1, 1, 1, 2);
  const commitUs = ((performance.now() - t0) / commitReps) * 1000;
  return { keygenMs, signMs, verifyMs, keysStatementBytes: statement.length, commitUs };
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
      vanish: { type: 'string', default: '0' },
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
  const vanish = Number(values.vanish);
  if (!(vanish >= 0 && vanish < 1)) throw new Error('--vanish: a fraction in [0, 1)');
  const f = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0)).padStart(8);
  const pct = (part: number, whole: number) => `${((100 * part) / Math.max(whole, 1e-9)).toFixed(1)}%`.padStart(6);
  const rowHead = (r: Row) =>
    `${String(r.n).padStart(4)} ${String(r.d).padStart(8)}  ${r.dropout.toFixed(1)} ${String(r.degree).padStart(3)} ${String(r.threshold).padStart(3)} |`;

  identities(Math.max(...ns)); // enrolment, before anything is timed
  const calibration = calibrate(100);
  say('bench:secagg — one group, in memory; participant ms are per participant, coordinator ms for the group');
  say('');
  say(
    `calibration, alone: ML-DSA-65 keygen ${calibration.keygenMs.toFixed(2)} ms, sign ${calibration.signMs.toFixed(2)} ms, ` +
      `verify ${calibration.verifyMs.toFixed(2)} ms (keys statement, ${calibration.keysStatementBytes} bytes); ` +
      `one SHA-256 share commitment ${calibration.commitUs.toFixed(2)} µs`,
  );
  say('');
  say(
    '   n        d  drop  k   t |  participant: keys   encaps   shares   masked survivors  unmask |' +
      ' coordinator: keys   encaps   shares   masked survivors  unmask  ok   cpu    rec   floor     x',
  );
  const rows: Row[] = [];
  for (const n of ns) {
    for (const d of ds) {
      for (const dropout of drops) {
        const row = runGroup(n, d, dropout, vanish, Number(values.seed));
        if (!meter.loaded) throw new Error('bench:secagg: the crypto meter did not take (were the protocol modules imported before it?)');
        rows.push(row);
        say(
          rowHead(row) +
            `              ${STAGES.map((s) => f(row.client[s])).join(' ')} |` +
            `              ${STAGES.map((s) => f(row.coordinator[s])).join(' ')}  ${row.ok ? 'yes' : ' NO'} ${pct(row.cpu, 1)} ${`${row.bySeeds}/${row.byMaster}`.padStart(6)} ${f(row.keystreamFloor)} ${(row.coordinator.unmask / row.keystreamFloor).toFixed(1).padStart(5)}`,
        );
      }
    }
  }
  say('');
  say('signatures and commitments, timed inside the runs above (see the header): member = per member and round,');
  say('mean over the n members; coordinator = per group and round; (calls); share = part of that side\'s stage time');
  say(
    '   n        d  drop  k   t |   member: sign ms (calls)   verify ms (calls)   commit ms (calls)  share |' +
      ' coordinator: verify ms (calls)   commit ms (calls)  share',
  );
  const cell = (ms: number, calls: number) => `${f(ms)} ${`(${calls < 100 ? calls.toFixed(1) : calls.toFixed(0)})`.padStart(8)}`;
  for (const r of rows) {
    const m = r.crypto.participant;
    const c = r.crypto.coordinator;
    const memberMs = KINDS.reduce((s, kind) => s + m[kind].ms, 0);
    const coordMs = KINDS.reduce((s, kind) => s + c[kind].ms, 0);
    say(
      rowHead(r) +
        `       ${KINDS.map((kind) => cell(m[kind].ms / r.n, m[kind].calls / r.n)).join('    ')} ${pct(memberMs, r.totals.participant)} |` +
        `          ${cell(c.verify.ms, c.verify.calls)}    ${cell(c.commit.ms, c.commit.calls)} ${pct(coordMs, r.totals.coordinator)}`,
    );
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
  if (values.json) process.stdout.write(JSON.stringify({ calibration, rows, throughput, maskedBytesPerParam: bytesPerParam }) + '\n');
}

main(process.argv.slice(2));
