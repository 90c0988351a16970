/**
 * Secure-aggregation collection (privacy "secagg"): the selected participants are partitioned into secure
 * groups (groups.ts, with the coordinator's grouping key), every group runs SecAgg+ in parallel, and each group
 * that completes yields one aggregation unit: its members' sample-weighted mean update, weighted by their total
 * sample count. The coordinator never holds an individual update. Selected participants in no group (a fixed
 * home group short of members) are logged and recorded as a 'sat-out' group with the reason.
 */
import { FedwardenError, type Message } from '@fedwarden/shared';
import type { UnitStats } from '../defences.ts';
import { effectiveMinGroupSize } from '../config.ts';
import type { CollectedRound, RoundCollector, RoundContext } from '../rounds/round-context.ts';
import type { SecureGroupOutcome } from '../rounds/round-record.ts';
import { weightedMeanLoss } from '../rounds/round-context.ts';
import { GroupRun } from './group-run.ts';
import { partitionGroups, type SittingOut } from './groups.ts';

export class SecaggCollector implements RoundCollector {
  private readonly byParticipant = new Map<string, GroupRun>();

  constructor(
    private readonly ctx: RoundContext,
    private readonly groupingKey: Uint8Array,
  ) {}

  async collect(selected: readonly string[]): Promise<CollectedRound> {
    const { config, round, log } = this.ctx;
    const { groupSize, groupPolicy } = config.secagg;
    const { groups, sittingOut } = partitionGroups({
      policy: groupPolicy,
      enrolled: config.participants.map((p) => p.id),
      selected,
      groupSize,
      minGroupSize: effectiveMinGroupSize(config.secagg),
      key: this.groupingKey,
      round,
      score: (id) => this.ctx.reputationWeight(id),
    });
    for (const s of sittingOut) log.info('secure group sits out', { ...(s.number !== undefined ? { group: s.number } : {}), participants: s.members, reason: s.reason });
    const satOut = sittingOut.map(satOutRecord);
    if (groups.length === 0) return { ...empty(sittingOut.map((s) => s.reason)), groups: satOut };
    const runs = groups.map((g) => new GroupRun(this.ctx, g.number, g.members));
    runs.forEach((run, g) => (groups[g]?.members ?? []).forEach((id) => this.byParticipant.set(id, run)));
    const outcomes = await Promise.all(runs.map((r) => r.run()));
    this.byParticipant.clear();

    const done = outcomes.filter((o) => o.unit !== undefined);
    // A group whose sum is out of range reported like the others; its unit is rejected before aggregation.
    const refused = outcomes.filter((o) => o.refused !== undefined);
    const reported = [...done, ...refused];
    const entries = reported.flatMap((o) => o.meanLossEntries);
    return {
      units: done.map((o) => o.unit!),
      unitStats: new Map(done.map((o) => [o.unit!.id, groupStats(o.meanLossEntries)])),
      contributors: reported.flatMap((o) => o.contributors),
      meanLoss: weightedMeanLoss(entries),
      samples: entries.reduce((s, e) => s + e.numSamples, 0),
      uploadBytes: done.reduce((s, o) => s + o.uploadBytes, 0),
      protocolMs: outcomes.reduce((s, o) => s + o.protocolMs, 0),
      notes: [...outcomes.filter((o) => o.unit === undefined && o.refused === undefined).map((o) => o.reason), ...sittingOut.map((s) => s.reason)],
      refused: refused.map((o) => o.refused!),
      blamed: outcomes.flatMap((o) => o.blamed),
      groups: [
        ...outcomes.map((o, g) => ({
          id: `group-${o.group}`,
          members: groups[g]?.members ?? [],
          contributors: o.contributors,
          status: o.unit !== undefined ? ('summed' as const) : o.refused !== undefined ? ('refused' as const) : ('aborted' as const),
          reason: o.reason,
        })),
        ...satOut,
      ],
    };
  }

  onMessage(participantId: string, msg: Message, frameBytes: number): void {
    const run = this.byParticipant.get(participantId);
    if (!run) {
      if (msg.kind === 'update') throw new FedwardenError('UNEXPECTED_MESSAGE', 'plain update in a secure-aggregation round');
      return; // not in this round (or the round has finished): a late message is dropped
    }
    run.onMessage(participantId, msg, frameBytes);
  }

  onLeave(participantId: string): void {
    this.byParticipant.get(participantId)?.onLeave(participantId);
  }

  /**
   * No re-entry into the same round. A group's survivor sets are fixed stage by stage (who sent keys, who
   * got shares, who uploaded masked input), and a member's round secrets (KEM keys, self-mask seed, pairwise
   * seeds) lived in the session that was lost: the client wipes them when its link goes. Letting it back in
   * would need fresh keys that its neighbours never saw. So a reconnecting member is simply gone for this
   * round, which the group already handles at every stage, and it joins the next round. If its old
   * connection was superseded rather than seen to close, this is where the group learns that it left, instead
   * of waiting for the stage deadline.
   */
  onRejoin(participantId: string): void {
    this.onLeave(participantId);
  }
}

function empty(notes: string[]): CollectedRound {
  return { units: [], unitStats: new Map(), contributors: [], meanLoss: null, samples: 0, uploadBytes: 0, protocolMs: 0, notes };
}

/** Selected participants in no group, as the round records them: a home group's own id, else "ungrouped". */
function satOutRecord(s: SittingOut): SecureGroupOutcome {
  return { id: s.number !== undefined ? `group-${s.number}` : 'ungrouped', members: s.members, contributors: [], status: 'sat-out', reason: s.reason };
}

/** A group's unit stats: the members' sample-weighted mean loss, mean training time, total samples. */
function groupStats(entries: ReadonlyArray<{ meanLoss: number; trainMs: number; numSamples: number }>): UnitStats {
  const samples = entries.reduce((s, e) => s + e.numSamples, 0);
  return {
    meanLoss: weightedMeanLoss(entries) ?? 0,
    trainMs: entries.reduce((s, e) => s + e.trainMs, 0) / Math.max(1, entries.length),
    numSamples: samples,
  };
}
