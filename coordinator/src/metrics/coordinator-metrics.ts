/**
 * The coordinator's Prometheus metrics (prom-client), in a Registry of its own so that several coordinators in
 * one process (tests, simulations) never share counters; process metrics (CPU, memory, event loop, GC) are
 * per process, so they live in one shared registry and are merged in at scrape time.
 *
 * Sources: the coordinator's events (round records, participants joining and leaving), the net layer through
 * NetObserver (wire bytes, refusals by stable code, closes, the sent messages that time secure-aggregation
 * stages), two stage timings the round loop reports (collection, aggregation), and gauges read at scrape time
 * (MetricsSources: where the round loop stands, connections, reputation counts). Label values come from fixed
 * sets, never from peers: a close code a peer chose that is not one of ours counts as "other"; participants are
 * counted, never labelled, so that the number of series does not grow with the federation.
 *
 * Names, units and help follow Prometheus's conventions (base units, `_total` counters, `_info` for build
 * info) and pass `promtool check metrics`; the process metrics keep prom-client's standard names
 * (process_cpu_seconds_total, nodejs_heap_size_used_bytes…) so that stock Node.js dashboards work.
 */
import type { EventEmitter } from 'node:events';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ERROR_CODES, ERROR_CODE_LIST, PROTOCOL_VERSION, type ErrorCode, type Message } from '@fedwarden/shared';
import { DEGRADATION } from '../anomaly/degradation-detector.ts';
import { ISOLATION_FOREST } from '../anomaly/isolation-forest-detector.ts';
import type { CoordinatorEvents } from '../coordinator.ts';
import { ADMISSION_STAGES, type AdmissionStage } from '../net/admission.ts';
import type { NetObserver } from '../net/net-observer.ts';
import type { RoundRecord } from '../rounds/round-record.ts';
import type { LoopStage, StageChange } from '../rounds/round-stage.ts';
import { COORDINATOR_VERSION } from '../version.ts';
import { SECAGG_STAGES, SecaggStageClock } from './secagg-stage-clock.ts';

export const METRICS_PREFIX = 'fedwarden_';

/** Stages with a duration: the whole round, its two halves, and the secure-aggregation stages (secagg_*). */
export type Stage = 'round' | 'collection' | 'aggregation' | `secagg_${(typeof SECAGG_STAGES)[number]}`;

/** Seconds: secure-aggregation relays take milliseconds, training stages minutes. */
const STAGE_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/** Close codes worth a label of their own: RFC 6455's common ones and every code of ours. */
const KNOWN_CLOSE_CODES = new Set<number>([1000, 1001, 1005, 1006, ...Object.values(ERROR_CODES).map((e) => e.close)]);

/** Every value of LoopStage, for fedwarden_run_stage (the `satisfies` fails to compile when a stage is added). */
const LOOP_STAGES = Object.keys({
  waiting: true,
  selecting: true,
  training: true,
  aggregating: true,
  completed: true,
  aborted: true,
  finished: true,
} satisfies Record<LoopStage, true>) as LoopStage[];

/**
 * prom-client's default gauges of live handles, requests and resources are named `_total`, which Prometheus
 * reserves for counters (promtool: "non-counter metrics should not have _total suffix"). Stock Node.js dashboards
 * query them by these names, so they keep them and are declared untyped instead, which promtool accepts with any
 * name and PromQL reads like a gauge.
 */
export function untypeTotalGauges(exposition: string): string {
  return exposition.replace(/^# TYPE (nodejs_active_(?:handles|requests|resources)_total) gauge$/gm, '# TYPE $1 untyped');
}

export function closeCodeLabel(code: number): string {
  return KNOWN_CLOSE_CODES.has(code) ? String(code) : 'other';
}

let processRegistry: Registry | undefined;

/**
 * Default process metrics, collected once per process whatever the number of coordinators, under prom-client's
 * standard names (no prefix). prom-client counts CPU time from the moment they are registered, so the first
 * coordinator registers them when it is built (a registry made at the first scrape would report almost no CPU
 * time for everything that ran before it).
 */
function sharedProcessRegistry(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** What the gauges read at scrape time. */
export interface MetricsSources {
  /** Authenticated participants connected now. */
  readonly participants: () => number;
  /** Open sockets (handshaking or authenticated). */
  readonly connections: () => number;
  /** Participants enrolled in the config. */
  readonly enrolled: () => number;
  /** Where the round loop stands now. */
  readonly stage: () => StageChange;
  /** The last finished round (completed or aborted), earlier runs included; 0 before the first. */
  readonly lastFinishedRound: () => number;
  /** Participants reputation flags now (score below reputation.flagBelow, excluded, or repeatedly excluded or rejected). */
  readonly flagged: () => number;
  /** Participants reputation excludes from selection now. */
  readonly excluded: () => number;
}

export class CoordinatorMetrics {
  readonly registry = new Registry();
  /** What the net layer reports; hand it to CoordinatorServer. */
  readonly net: NetObserver;

  private readonly rounds: Counter<'outcome'>;
  private readonly lastRoundParticipants: Gauge<'status'>;
  private readonly operatorRefusals: Counter;
  private readonly joined: Counter;
  private readonly left: Counter;
  private readonly dropouts: Counter;
  private readonly unitsRejected: Counter;
  private readonly updateBytes: Counter;
  private readonly bytesIn: Counter;
  private readonly bytesOut: Counter;
  private readonly stages: Histogram<'stage'>;
  private readonly secaggCpu: Counter;
  private readonly alerts: Counter<'detector' | 'severity'>;
  private readonly rejections: Counter<'code'>;
  private readonly closes: Counter<'close_code'>;
  private readonly stageClock: SecaggStageClock;
  /** Made at the first evaluated round: before it, or without an evaluator, there is no figure to report (not 0). */
  private evaluationAccuracy: Gauge | undefined;
  private evaluationLoss: Gauge | undefined;
  /** Made at the first round that finishes in this process, and the first completed round with a reported loss. */
  private lastRoundTime: Gauge | undefined;
  private trainingLoss: Gauge | undefined;
  /** The participants' port's sockets by admission stage, as the net layer counts them (none before it reports). */
  private admissionStages: () => Readonly<Record<AdmissionStage, number>> = () => ({ 'pre-upgrade': 0, unauthenticated: 0, authenticated: 0 });

  constructor(sources: MetricsSources) {
    sharedProcessRegistry();
    const registers = [this.registry];
    const name = (n: string) => METRICS_PREFIX + n;
    this.rounds = new Counter({ name: name('rounds_total'), help: 'Rounds finished, by outcome (completed, aborted).', labelNames: ['outcome'], registers });
    for (const outcome of ['completed', 'aborted']) this.rounds.inc({ outcome }, 0);
    new Gauge({
      name: name('build_info'),
      help: 'Always 1; labels: the coordinator version, the Node.js version and the wire protocol version it speaks.',
      labelNames: ['version', 'nodejs_version', 'protocol_version'],
      registers,
    }).set({ version: COORDINATOR_VERSION, nodejs_version: process.version, protocol_version: String(PROTOCOL_VERSION) }, 1);
    new Gauge({
      name: name('current_round'),
      help: 'The round the coordinator is on: the one running, the next one while it waits for participants, the last one once finished.',
      registers,
      collect() {
        this.set(sources.stage().round);
      },
    });
    new Gauge({
      name: name('run_stage'),
      help: 'Where the round loop stands: 1 for the current stage, 0 for the others (waiting for participants, a round selecting, training, aggregating, completed or aborted while it is recorded, finished).',
      labelNames: ['stage'],
      registers,
      collect() {
        const now = sources.stage().stage;
        for (const stage of LOOP_STAGES) this.set({ stage }, stage === now ? 1 : 0);
      },
    });
    new Gauge({ name: name('last_round'), help: 'Number of the last finished round (completed or aborted); 0 before the first.', registers, collect() { this.set(sources.lastFinishedRound()); } });
    this.lastRoundParticipants = new Gauge({
      name: name('last_round_participants'),
      help: 'Participants of the last finished round: selected, contributed (their update is in the aggregate) and dropped (selected, not contributed).',
      labelNames: ['status'],
      registers,
    });
    new Gauge({ name: name('participants_enrolled'), help: 'Participants enrolled in the config.', registers, collect() { this.set(sources.enrolled()); } });
    new Gauge({
      name: name('participants_flagged'),
      help: 'Participants reputation flags now: score below reputation.flagBelow, excluded, or repeatedly excluded or rejected.',
      registers,
      collect() {
        this.set(sources.flagged());
      },
    });
    new Gauge({ name: name('participants_excluded'), help: 'Participants reputation excludes from selection now (cooldown).', registers, collect() { this.set(sources.excluded()); } });
    this.operatorRefusals = new Counter({ name: name('operator_unauthorized_requests_total'), help: 'Requests to the operator listener refused for a missing or wrong bearer token.', registers });
    new Gauge({ name: name('participants_connected'), help: 'Authenticated participants connected now.', registers, collect() { this.set(sources.participants()); } });
    new Gauge({ name: name('connections_open'), help: 'Open WebSocket connections, handshaking or authenticated.', registers, collect() { this.set(sources.connections()); } });
    const admissionStages = () => this.admissionStages();
    new Gauge({
      name: name('admission_sockets'),
      help: "Sockets open on the participants' port, by admission stage: pre-upgrade (accepted, no WebSocket yet), unauthenticated (no accepted hello yet), authenticated.",
      labelNames: ['stage'],
      registers,
      collect() {
        const counts = admissionStages();
        for (const stage of ADMISSION_STAGES) this.set({ stage }, counts[stage]);
      },
    });
    this.joined = new Counter({ name: name('participants_joined_total'), help: 'Participants that authenticated (reconnections included).', registers });
    this.left = new Counter({ name: name('participants_left_total'), help: 'Authenticated participants that disconnected.', registers });
    this.dropouts = new Counter({ name: name('dropouts_total'), help: 'Selected participants whose update did not reach the aggregate of their round.', registers });
    this.unitsRejected = new Counter({ name: name('units_rejected_total'), help: 'Aggregation units the robust strategy left out.', registers });
    this.updateBytes = new Counter({ name: name('update_bytes_total'), help: 'Wire bytes of the update (or masked-input) frames in the aggregates.', registers });
    this.bytesIn = new Counter({ name: name('received_bytes_total'), help: 'WebSocket data-frame bytes received from participants.', registers });
    this.bytesOut = new Counter({ name: name('sent_bytes_total'), help: 'WebSocket data-frame bytes sent to participants.', registers });
    this.stages = new Histogram({
      name: name('stage_duration_seconds'),
      help: 'Wall-clock duration of round stages: round, collection (training and upload), aggregation, and per secure group secagg_keys (includes training), secagg_encaps, secagg_shares, secagg_masked, secagg_unmask.',
      labelNames: ['stage'],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.secaggCpu = new Counter({ name: name('secagg_protocol_seconds_total'), help: 'Coordinator CPU time spent in the secure-aggregation protocol.', registers });
    this.alerts = new Counter({ name: name('alerts_total'), help: 'Anomaly-detector alerts, by detector and severity.', labelNames: ['detector', 'severity'], registers });
    // Every series of the built-in detectors exists from the start, so that increase() sees the first alert.
    for (const detector of [ISOLATION_FOREST, DEGRADATION]) for (const severity of ['info', 'warning', 'critical']) this.alerts.inc({ detector, severity }, 0);
    this.rejections = new Counter({
      name: name('rejections_total'),
      help: 'Frames, handshakes and connections the coordinator refused, by stable error code; each closes its connection.',
      labelNames: ['code'],
      registers,
    });
    for (const code of ERROR_CODE_LIST) this.rejections.inc({ code }, 0);
    this.closes = new Counter({ name: name('connections_closed_total'), help: 'Closed WebSocket connections, by close code (either side; 1006: no close frame).', labelNames: ['close_code'], registers });
    this.stageClock = new SecaggStageClock((stage, seconds) => this.observeStage(`secagg_${stage}`, seconds));

    this.net = {
      frameReceived: (bytes) => this.bytesIn.inc(bytes),
      frameSent: (bytes, msg, participantId) => {
        this.bytesOut.inc(bytes);
        if (msg && participantId !== undefined) this.messageSent(participantId, msg);
      },
      rejected: (code) => this.rejected(code),
      closed: (closeCode) => this.closes.inc({ close_code: closeCodeLabel(closeCode) }),
      admissionStages: (read) => (this.admissionStages = read),
    };
  }

  /** Count everything the coordinator reports through its events. */
  watch(coordinator: EventEmitter<CoordinatorEvents>): void {
    coordinator.on('round', (record) => this.observeRound(record));
    coordinator.on('participantJoined', () => this.joined.inc());
    coordinator.on('participantLeft', () => this.left.inc());
  }

  observeRound(record: RoundRecord): void {
    this.rounds.inc({ outcome: record.outcome });
    this.lastRoundParticipants.set({ status: 'selected' }, record.selected.length);
    this.lastRoundParticipants.set({ status: 'contributed' }, record.reported.length);
    this.lastRoundParticipants.set({ status: 'dropped' }, record.dropped.length);
    this.lastRoundTime ??= new Gauge({
      name: METRICS_PREFIX + 'last_round_timestamp_seconds',
      help: 'Unix time at which the last round finished (completed or aborted) in this process.',
      registers: [this.registry],
    });
    this.lastRoundTime.set(Date.now() / 1000);
    if (record.outcome === 'completed' && record.meanLoss !== null) {
      this.trainingLoss ??= new Gauge({
        name: METRICS_PREFIX + 'training_loss',
        help: 'Mean local training loss the contributors of the last completed round reported (self-reported by participants).',
        registers: [this.registry],
      });
      this.trainingLoss.set(record.meanLoss);
    }
    this.dropouts.inc(record.dropped.length);
    this.unitsRejected.inc(record.rejected.length);
    this.updateBytes.inc(record.uploadBytes);
    this.secaggCpu.inc(record.protocolMs / 1000);
    this.observeStage('round', record.durationMs / 1000);
    for (const alert of record.alerts) this.alerts.inc({ detector: alert.detector, severity: alert.severity });
    if (record.accuracy !== undefined) {
      this.evaluationAccuracy ??= new Gauge({
        name: METRICS_PREFIX + 'evaluation_accuracy',
        help: "Accuracy of the global adapter after the last evaluated round, on the operator evaluator's data.",
        registers: [this.registry],
      });
      this.evaluationAccuracy.set(record.accuracy);
    }
    if (record.evaluationLoss !== undefined) {
      this.evaluationLoss ??= new Gauge({
        name: METRICS_PREFIX + 'evaluation_loss',
        help: "Loss of the global adapter after the last evaluated round, on the operator evaluator's data.",
        registers: [this.registry],
      });
      this.evaluationLoss.set(record.evaluationLoss);
    }
  }

  observeStage(stage: Stage, seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) this.stages.observe({ stage }, seconds);
  }

  /** A request the operator listener refused for its token. */
  operatorUnauthorized(): void {
    this.operatorRefusals.inc();
  }

  rejected(code: ErrorCode): void {
    this.rejections.inc({ code });
  }

  messageSent(participantId: string, msg: Message): void {
    this.stageClock.sent(participantId, msg);
  }

  /** Prometheus text exposition of this coordinator's metrics and the process metrics. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const merged = Registry.merge([sharedProcessRegistry(), this.registry]);
    return { contentType: merged.contentType, body: untypeTotalGauges(await merged.metrics()) };
  }
}
