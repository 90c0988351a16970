/**
 * Wall-clock duration of each secure-aggregation stage, per secure group, read off the messages the
 * coordinator sends: a group's stage starts when the coordinator sends its members the stage's opening
 * message, and ends when the next stage opens or the round ends (GroupRun sends each stage to all members in
 * one burst, so the first message of a kind to a group marks the boundary).
 *
 *   roundStart(secagg) ─keys─▶ saPeerKeys ─encaps─▶ saPeerEncaps ─shares─▶ saPeerShares ─masked─▶ saSurvivors
 *     ─survivors─▶ saUnmask ─unmask─▶ roundEnd
 *
 * The keys stage includes the members' local training (they send their keys once trained). A group that aborts
 * part-way reports the stages it reached; a round that ends without a roundEnd reaching any member is
 * forgotten when the next round starts. Pure apart from the injected clock; holds state for one round's
 * groups at a time. Observing rather than instrumenting GroupRun keeps the protocol code free of metrics.
 */
import type { Message, MessageKind } from '@fedwarden/shared';

export const SECAGG_STAGES = ['keys', 'encaps', 'shares', 'masked', 'survivors', 'unmask'] as const;
export type SecaggStage = (typeof SECAGG_STAGES)[number];

/** The coordinator → member message that opens each stage, in stage order. */
const OPENED_BY: Readonly<Partial<Record<MessageKind, number>>> = {
  roundStart: 0,
  saPeerKeys: 1,
  saPeerEncaps: 2,
  saPeerShares: 3,
  saSurvivors: 4,
  saUnmask: 5,
};

interface GroupClock {
  readonly round: number;
  stage: number;
  startedAt: number;
}

export class SecaggStageClock {
  /** participant → its group's clock in the round being observed. */
  private readonly groupOf = new Map<string, GroupClock>();
  /** `${round}/${group}` → clock. */
  private readonly groups = new Map<string, GroupClock>();

  constructor(
    private readonly onStage: (stage: SecaggStage, seconds: number) => void,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** The coordinator sent `msg` to `participantId`. */
  sent(participantId: string, msg: Message): void {
    if (msg.kind === 'roundEnd') return this.endRound(msg.round);
    const stage = OPENED_BY[msg.kind];
    if (stage === undefined || !('round' in msg)) return;
    if (msg.kind === 'roundStart') {
      if (!msg.secagg) return;
      this.forgetBefore(msg.round);
      const key = `${msg.round}/${msg.secagg.group}`;
      let group = this.groups.get(key);
      if (!group) {
        group = { round: msg.round, stage: 0, startedAt: this.clock() };
        this.groups.set(key, group);
      }
      this.groupOf.set(participantId, group);
      return;
    }
    const group = this.groupOf.get(participantId);
    if (!group || group.round !== msg.round || stage <= group.stage) return;
    const now = this.clock();
    this.onStage(SECAGG_STAGES[group.stage] as SecaggStage, (now - group.startedAt) / 1000);
    group.stage = stage;
    group.startedAt = now;
  }

  /** Groups still being timed (for tests: state must not outlive its round). */
  get openGroups(): number {
    return this.groups.size;
  }

  private endRound(round: number): void {
    const now = this.clock();
    for (const [key, group] of this.groups) {
      if (group.round !== round) continue;
      this.onStage(SECAGG_STAGES[group.stage] as SecaggStage, (now - group.startedAt) / 1000);
      this.groups.delete(key);
    }
    for (const [id, group] of this.groupOf) if (group.round === round) this.groupOf.delete(id);
  }

  private forgetBefore(round: number): void {
    for (const [key, group] of this.groups) if (group.round < round) this.groups.delete(key);
    for (const [id, group] of this.groupOf) if (group.round < round) this.groupOf.delete(id);
  }
}
