/**
 * Trusted-mode collection: every selected participant gets the global adapter and returns its own update
 * (plaintext inside the encrypted channel); each accepted update is one aggregation unit weighted by its
 * sample count.
 *
 * Session resume: a selected participant that reconnects while the round still collects is taken back. If
 * its update is already in, it gets the acknowledgement it may have missed; otherwise it gets the round's
 * start again and answers with the update it kept (or trains, if it never finished), which is counted once
 * however many times it arrives.
 *
 * Refusals (UPDATE_REFUSED): an update for an earlier round, or one arriving after this round stopped
 * collecting, gets an error reply and the link stays up (a straggler's upload can cross the deadline); a second
 * update that differs from the accepted one closes the connection (update-collector.ts).
 */
import { FedwardenError, type Message } from '@fedwarden/shared';
import type { CollectedRound, RoundCollector, RoundContext } from './round-context.ts';
import { weightedMeanLoss } from './round-context.ts';
import { UpdateCollector, updateRefused } from './update-collector.ts';

export class TrustedCollector implements RoundCollector {
  private updates: UpdateCollector | undefined;
  private start: Message | undefined;

  constructor(private readonly ctx: RoundContext) {}

  async collect(selected: readonly string[]): Promise<CollectedRound> {
    const { round, global, config } = this.ctx;
    const updates = new UpdateCollector(round, new Set(selected), global.length, config.limits.maxUpdateNorm);
    this.updates = updates;
    const start: Message = { kind: 'roundStart', round, plan: config.training, deadlineMs: config.rounds.deadlineMs, global };
    this.start = start;
    await Promise.all(
      selected.map(async (id) => {
        if (!(await this.ctx.send(id, start))) updates.drop(id);
      }),
    );
    await updates.wait(config.rounds.deadlineMs);
    this.updates = undefined;
    this.start = undefined;
    const accepted = updates.accepted;
    return {
      units: accepted.map((u) => ({ id: u.participantId, delta: u.delta, weight: u.numSamples, members: [u.participantId] })),
      unitStats: new Map(accepted.map((u) => [u.participantId, { meanLoss: u.meanLoss, trainMs: u.trainMs, numSamples: u.numSamples }])),
      contributors: accepted.map((u) => u.participantId),
      meanLoss: weightedMeanLoss(accepted),
      samples: accepted.reduce((s, u) => s + u.numSamples, 0),
      uploadBytes: accepted.reduce((s, u) => s + u.frameBytes, 0),
      protocolMs: 0,
      notes: [],
    };
  }

  onMessage(participantId: string, msg: Message, frameBytes: number): void {
    if (msg.kind !== 'update') throw new FedwardenError('UNEXPECTED_MESSAGE', `${msg.kind} in a trusted-mode round`);
    const updates = this.updates;
    if (!updates) {
      void this.ctx.send(participantId, updateRefused(msg.round, `round ${this.ctx.round} no longer collects updates`));
      return;
    }
    const result = updates.offer(participantId, msg, frameBytes);
    if (result === 'stale') void this.ctx.send(participantId, updateRefused(msg.round, `too late: round ${this.ctx.round} is under way`));
    else void this.ctx.send(participantId, { kind: 'updateAck', round: msg.round });
  }

  onLeave(participantId: string): void {
    this.updates?.drop(participantId);
  }

  onRejoin(participantId: string): void {
    const updates = this.updates;
    const start = this.start;
    if (!updates || !start) return;
    switch (updates.rejoin(participantId)) {
      case 'accepted':
        void this.ctx.send(participantId, { kind: 'updateAck', round: updates.round });
        return;
      case 'rejoined':
        this.ctx.log.info('participant rejoined the round', { participant: participantId });
        void this.ctx.send(participantId, start).then((sent) => {
          if (!sent) updates.drop(participantId);
        });
        return;
      case 'closed':
        return;
    }
  }
}
