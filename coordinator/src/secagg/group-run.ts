/**
 * Drives one secure group through the SecAgg+ stages over the network: sends each member its setup, waits
 * for each stage's messages until everyone still in play answered or the stage deadline passed, relays, and
 * finally unmasks. The protocol logic itself lives in SecaggGroup (pure); this file owns time and sockets.
 *
 *   roundStart(secagg) → saKeys → saPeerKeys → saEncaps → saPeerEncaps → saShares → saPeerShares
 *     → saMasked → saSurvivors → saSurvivorsSigned → saUnmask → saUnmaskReply → sum
 *
 * A member that vanishes at any stage is simply absent from the next; SecaggGroup decides whether the sum
 * can still be recovered and aborts the group cleanly when it cannot.
 */
import { performance } from 'node:perf_hooks';
import {
  FedwardenError,
  defaultDegree,
  defaultThreshold,
  deriveSeed,
  neighbourGraph,
  quantizationBits,
  type Message,
  type MessageKind,
} from '@fedwarden/shared';
import type { AggregationUnit } from '../aggregation/strategy.ts';
import { capWeights } from '../aggregation/weight-cap.ts';
import { Arrivals } from '../rounds/arrivals.ts';
import type { RefusedUnit } from '../defences.ts';
import type { RoundContext } from '../rounds/round-context.ts';
import type { Blame } from '../rounds/round-record.ts';
import { SecaggGroup } from './group-protocol.ts';
import { checkSumRange, honestSumRange } from './sum-range.ts';

/** The message each stage waits for, in order. */
const STAGES = ['saKeys', 'saEncaps', 'saShares', 'saMasked', 'saSurvivorsSigned', 'saUnmaskReply'] as const satisfies readonly MessageKind[];
type StageKind = (typeof STAGES)[number];

export interface GroupOutcome {
  readonly group: number;
  readonly unit: AggregationUnit | undefined;
  readonly contributors: string[];
  readonly reason: string;
  readonly meanLossEntries: Array<{ meanLoss: number; trainMs: number; numSamples: number }>;
  readonly uploadBytes: number;
  readonly protocolMs: number;
  /** The group's unit, rejected before aggregation: its sum is outside the range honest inputs reach (sum-range.ts). */
  readonly refused?: RefusedUnit;
  /** Faults the group attributed to its members (they were dropped, or the group failed). */
  readonly blamed: readonly Blame[];
}

export class GroupRun {
  private readonly protocol: SecaggGroup;
  private readonly indexOf = new Map<string, number>();
  private readonly gone = new Set<number>();
  private stage: { kind: StageKind; arrivals: Arrivals<number> } | undefined;
  private stageIndex = -1;
  private protocolMs = 0;
  private uploadBytes = 0;
  private blamed: Blame[] = [];

  constructor(
    private readonly ctx: RoundContext,
    readonly group: number,
    private readonly memberIds: readonly string[],
  ) {
    const { config, round } = ctx;
    const n = memberIds.length;
    const k = config.secagg.degree > 0 ? Math.min(config.secagg.degree, n - 1) : defaultDegree(n, config.secagg.maxDropout);
    const graph = neighbourGraph(n, k >= n - 1 ? { kind: 'complete' } : { kind: 'kRegular', k }, deriveSeed(config.seed, round, group));
    const threshold = config.secagg.threshold > 0 ? config.secagg.threshold : defaultThreshold(Math.min(k, n - 1));
    const identityKeys = memberIds.map((id) => {
      const key = ctx.identityKey(id);
      if (!key) throw new FedwardenError('INTERNAL', `secure group ${group}: participant ${id} has no registered identity key`);
      return key;
    });
    this.protocol = new SecaggGroup({
      round,
      group,
      memberIds,
      identityKeys,
      graph,
      threshold,
      clip: config.secagg.clip,
      bits: quantizationBits(n),
      dim: ctx.global.length,
    });
    memberIds.forEach((id, i) => this.indexOf.set(id, i + 1));
  }

  async run(): Promise<GroupOutcome> {
    const { round, global, config } = this.ctx;
    const all = this.memberIds.map((_, i) => i + 1);
    const first = new Map<number, Message>(
      all.map((index) => [
        index,
        {
          kind: 'roundStart',
          round,
          plan: config.training,
          deadlineMs: config.rounds.deadlineMs,
          global,
          secagg: this.timed(() => this.protocol.setupFor(index)),
        },
      ]),
    );
    // Training happens before the keys stage, so its deadline is the round's; later stages are quick.
    await this.exchange('saKeys', first, config.rounds.deadlineMs);
    await this.exchange('saEncaps', this.timed(() => this.protocol.relayKeys()), config.secagg.stageTimeoutMs);
    await this.exchange('saShares', this.timed(() => this.protocol.relayEncaps()), config.secagg.stageTimeoutMs);
    const weights = this.timed(() => this.weights());
    await this.exchange('saMasked', this.timed(() => this.protocol.relayShares(weights)), config.secagg.stageTimeoutMs);
    await this.exchange('saSurvivorsSigned', this.timed(() => this.protocol.survivorsRequests()), config.secagg.stageTimeoutMs);
    await this.exchange('saUnmaskReply', this.timed(() => this.protocol.unmaskRequests()), config.secagg.stageTimeoutMs);
    this.stage = undefined;
    const result = this.timed(() => this.protocol.finish());
    this.blamed = result.blamed.map((b) => ({
      participant: this.memberIds[b.culprit - 1] as string,
      group: this.group,
      kind: b.kind,
      ...(b.accuser !== undefined ? { accuser: this.memberIds[b.accuser - 1] as string } : {}),
      detail: b.detail,
    }));
    for (const b of this.blamed) this.ctx.log.warn('secure-aggregation member blamed', { ...b });
    if (!result.ok) return this.outcome(undefined, [], `group ${this.group} aborted: ${result.reason}`);
    const range = checkSumRange(result.sum, honestSumRange(result.survivors.map((i) => weights.get(i) as number), quantizationBits(this.memberIds.length)));
    if (!range.ok) {
      // Someone's masked input was not a quantized update (wrap-around): the sum says nothing, and who it was
      // is hidden by the masks, so the unit is rejected and its members share the evidence.
      const members = result.survivors.map((i) => this.memberIds[i - 1] as string);
      this.ctx.log.warn('secure group rejected: sum out of range', { group: this.group, members, outside: range.outside });
      const refused: RefusedUnit = { id: `group-${this.group}`, members, reason: range.reason };
      return { ...this.outcome(undefined, members, `group ${this.group} rejected: ${range.reason}`), refused };
    }

    let weightSum = 0;
    let samples = 0;
    for (const index of result.survivors) {
      weightSum += weights.get(index) ?? 0;
      samples += this.protocol.metadata(index).numSamples;
    }
    const delta = result.weightedSum.map((v) => v / weightSum);
    const contributors = result.survivors.map((i) => this.memberIds[i - 1] as string);
    return this.outcome({ id: `group-${this.group}`, delta, weight: samples, members: contributors }, contributors, '');
  }

  onMessage(participantId: string, msg: Message, frameBytes: number): void {
    const index = this.indexOf.get(participantId) as number;
    const kind = msg.kind as StageKind;
    const position = STAGES.indexOf(kind);
    if (position < 0) throw new FedwardenError('UNEXPECTED_MESSAGE', `${msg.kind} in a secure-aggregation round`);
    if (position < this.stageIndex || !this.stage) return; // a late answer to a closed stage: ignored
    if (position > this.stageIndex) throw new FedwardenError('UNEXPECTED_MESSAGE', `${msg.kind} before its stage`);
    if (this.stage.arrivals.has(index)) throw new FedwardenError('UNEXPECTED_MESSAGE', `${msg.kind} sent twice`);
    if (!this.stage.arrivals.expected.has(index)) return; // dropped from the protocol at an earlier stage
    this.timed(() => this.accept(index, msg));
    if (msg.kind === 'saMasked') this.uploadBytes += frameBytes;
    this.stage.arrivals.answer(index);
  }

  onLeave(participantId: string): void {
    const index = this.indexOf.get(participantId);
    if (index === undefined) return;
    this.gone.add(index);
    this.stage?.arrivals.drop(index);
  }

  /** Send each member its message for the next stage, then wait for their answers. */
  private async exchange(kind: StageKind, outgoing: ReadonlyMap<number, Message>, deadlineMs: number): Promise<void> {
    const arrivals = new Arrivals(new Set(outgoing.keys()));
    this.stage = { kind, arrivals };
    this.stageIndex = STAGES.indexOf(kind);
    for (const index of this.gone) arrivals.drop(index);
    await Promise.all(
      [...outgoing].map(async ([index, msg]) => {
        if (!(await this.ctx.send(this.memberIds[index - 1] as string, msg))) arrivals.drop(index);
      }),
    );
    await arrivals.wait(deadlineMs);
  }

  private accept(index: number, msg: Message): void {
    switch (msg.kind) {
      case 'saKeys':
        return this.protocol.acceptKeys(index, msg);
      case 'saEncaps':
        return this.protocol.acceptEncaps(index, msg);
      case 'saShares':
        return this.protocol.acceptShares(index, msg);
      case 'saMasked':
        return this.protocol.acceptMasked(index, msg);
      case 'saSurvivorsSigned':
        return this.protocol.acceptSurvivorsSigned(index, msg);
      case 'saUnmaskReply':
        return this.protocol.acceptUnmaskReply(index, msg);
      default:
        throw new FedwardenError('UNEXPECTED_MESSAGE', `${msg.kind} in a secure-aggregation round`);
    }
  }

  /**
   * Each member scales its update by its weight — sample count (capped at weightCap × the group's median,
   * since it is self-reported) × reputation multiplier, over the group's largest — before masking, so the group's unmasked sum divided by the survivors' total weight is their
   * weighted mean. A member with no weight left (multiplier 0) gets the smallest positive weight the wire
   * allows rather than none, since a zero would reveal nothing about it but abort its group.
   */
  private weights(): Map<number, number> {
    const answered = this.stage?.arrivals.expected ?? new Set<number>();
    const members = [...answered].filter((i) => this.stage?.arrivals.has(i));
    const samples = capWeights(members.map((i) => this.protocol.metadata(i).numSamples), this.ctx.config.aggregation.weightCap);
    const raw = members.map((i, a) => [i, (samples[a] as number) * this.ctx.reputationWeight(this.memberIds[i - 1] as string)] as const);
    const max = Math.max(Number.MIN_VALUE, ...raw.map(([, w]) => w));
    return new Map(raw.map(([i, w]) => [i, Math.max(w / max, 1e-6)]));
  }

  private outcome(unit: AggregationUnit | undefined, contributors: string[], reason: string): GroupOutcome {
    return {
      group: this.group,
      unit,
      contributors,
      reason,
      meanLossEntries: contributors.map((id) => this.protocol.metadata(this.indexOf.get(id) as number)),
      uploadBytes: unit ? this.uploadBytes : 0,
      protocolMs: this.protocolMs,
      blamed: this.blamed,
    };
  }

  private timed<T>(fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.protocolMs += performance.now() - t0;
    }
  }
}
