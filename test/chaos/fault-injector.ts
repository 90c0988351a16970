/**
 * Carries out a ChaosPlan (chaos-plan.ts) against live participants: it listens to each FederatedClient's
 * events (progress, uploaded, stage, roundEnd) and, at the planned moment, cuts that participant's link or
 * kills the coordinator. It never touches the client itself: a cut participant must notice the lost link and
 * come back through the SDK's own reconnect, as on a real network.
 *
 * Each (participant, round) is cut once per coordinator life: the round a killed coordinator runs again after
 * its restart gets its disconnects again. A participant whose planned moment never comes — a secure-aggregation
 * member whose group gave up before its stage, or one that answers a rerun round with its kept update and so
 * never trains — is cut when it hears that its round ended instead, so every round still loses its planned
 * participants; such cuts are counted apart (`late`).
 */
import type { FederatedClient } from '@fedwarden/client';
import { describeMoment, victimsOf, type ChaosPlan, type Moment } from './chaos-plan.ts';

export interface InjectorHooks {
  /** Tear down participant `participant`'s link (both sockets at once, as a reset). */
  cut(participant: number): void;
  /** SIGKILL the coordinator process; called once. */
  kill(): void;
}

export interface InjectedCut {
  readonly round: number;
  /** Coordinator life: 1 before the kill, 2 after the restart. */
  readonly life: number;
  readonly participant: number;
  readonly at: string;
  /** Cut when its round ended, because its planned secure-aggregation stage never came. */
  readonly late: boolean;
}

export interface InjectedKill {
  readonly round: number;
  readonly participant: number;
  readonly at: string;
}

type Match = (moment: Moment) => boolean;

export class FaultInjector {
  private life = 1;
  private readonly done = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly cuts: InjectedCut[] = [];
  kill: InjectedKill | undefined;

  constructor(
    private readonly plan: ChaosPlan,
    private readonly hooks: InjectorHooks,
  ) {}

  /** The coordinator listens again: rounds from now on belong to its second life. */
  restarted(): void {
    this.life++;
  }

  attach(client: FederatedClient, participant: number): void {
    const batches = new Map<number, number>();
    client.on('roundStart', (round) => batches.set(round, 0));
    client.on('progress', (round) => {
      const step = batches.get(round) ?? 0;
      batches.set(round, step + 1);
      this.reached(participant, round, (m) => m.kind === 'train' && m.step === step);
    });
    // A kept update sent again after a reconnect (trusted mode, or a restarted coordinator's rerun) is an upload too.
    client.on('uploaded', (round) => this.reached(participant, round, (m) => m.kind === 'upload'));
    client.on('uploadRetried', (round) => this.reached(participant, round, (m) => m.kind === 'upload'));
    client.on('stage', (round, stage) => {
      if (stage !== 'train') this.reached(participant, round, (m) => m.kind === 'stage' && m.stage === stage);
    });
    client.on('roundEnd', (round) => {
      const moment = victimsOf(this.plan, round).get(participant);
      if (moment) this.cut(participant, round, moment, true);
    });
  }

  /** Cancel cuts still waiting for their delay. */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private reached(participant: number, round: number, matches: Match): void {
    const moment = victimsOf(this.plan, round).get(participant);
    if (moment) {
      if (matches(moment)) this.cut(participant, round, moment, false);
      return; // a participant being cut never triggers the kill: its answer may be lost, the round could end
    }
    const { kill } = this.plan;
    if (this.kill || this.life !== 1 || round !== kill.round || !matches(kill.moment)) return;
    this.kill = { round, participant, at: describeMoment(kill.moment) };
    this.hooks.kill();
  }

  private cut(participant: number, round: number, moment: Moment, late: boolean): void {
    const key = `${participant}:${round}:${this.life}`;
    if (this.done.has(key)) return;
    this.done.add(key);
    this.cuts.push({ round, life: this.life, participant, at: late ? 'round end' : describeMoment(moment), late });
    if (!late && moment.kind === 'upload' && moment.delayMs > 0) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.hooks.cut(participant);
      }, moment.delayMs);
      this.timers.add(timer);
    } else this.hooks.cut(participant);
  }
}
