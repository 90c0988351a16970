/**
 * The Adversary: one process-wide coordinator for the Byzantine participants of a simulation, so that they
 * can collude as the attacks assume (ALIE and IPM pool their honest deltas; Sybils send one shared vector).
 *
 * Each Byzantine participant's model is wrapped (byzantine-model.ts). When a wrapped model trains, it joins
 * the coalition's current round, trains honestly, registers its benign delta and waits; once every Byzantine
 * participant that started training in that round has registered or left, the attack crafts all deltas at
 * once, and each waiting model gets its own.
 *
 * Which round? The Adversary cannot see the coordinator's round numbers (the client hands the model only the
 * global adapter and a plan). It keys a round by the global adapter's content: every participant selected
 * in a round receives the same global adapter, and two rounds have different ones unless a round ended
 * without a step (aborted, or everything rejected). So a wrapped model joins the newest round whose global
 * adapter equals its own and that it is not already part of; if it is part of it, the adapter repeated and
 * this is a new round; if none matches, a new round starts. Rounds are numbered 1, 2, … in the order they
 * start: the count of rounds in which some Byzantine participant trained (AttackContext.round). A shared call
 * counter would not do: Byzantine participants that are not selected, or vanish before training, would
 * shift each other's counts.
 *
 * Never waiting forever: a round is crafted when no participant that joined it is still training. Leaving
 * (abandoning) happens when a wrapped model's training throws or is not iterated to the end, when its next
 * setWeights comes, or when it is disposed; a participant that is never selected never joins. As a last
 * resort, `waitTimeoutMs` after the first registration the round is crafted from the deltas that are there;
 * a participant registering later (or joining a round already crafted) is crafted alone, same round number.
 * The crafting itself waits one macrotask (setImmediate), so that participants whose round start is in
 * flight at the same instant can still join.
 *
 * Reproducibility: crafting sees the benign deltas in byzantineIds order, not arrival order, and the rng of
 * a round is seeded from (seed, round, batch); a rerun of the same simulation crafts the same deltas as long
 * as the same participants trained on the same data.
 */
import type { LabeledData, TrainableModel } from '@fedwarden/client';
import { createRng, deriveSeed } from '@fedwarden/shared';
import type { Attack, AttackContext } from './attack.ts';
import { ByzantineModel, type Coalition, type RoundTicket } from './byzantine-model.ts';
import { isPoisoned } from './poisoned-data.ts';

export interface AdversaryOptions {
  /**
   * After the first Byzantine participant of a round registered, how long to wait for the others before
   * crafting from what is there (ms). Default 300,000: long enough for many participants training one after
   * another on one CPU; it only matters if a participant hangs without ever leaving. Infinity: no timeout.
   */
  readonly waitTimeoutMs?: number;
}

type MemberState = 'training' | 'registered' | 'abandoned';

interface Member {
  readonly id: string;
  readonly order: number;
  state: MemberState;
  benign?: Float32Array;
  settle?: { resolve: (delta: Float32Array) => void; reject: (err: unknown) => void };
}

interface Cohort {
  readonly round: number;
  readonly global: Float32Array;
  readonly members: Map<string, Member>;
  crafted: boolean;
  batches: number;
  scheduled: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

/** setTimeout's largest delay; longer waits (Infinity included) mean no timeout at all. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How many recent rounds are kept for matching; older ones are finished for good. */
const KEEP_ROUNDS = 8;

export class Adversary implements Coalition {
  private readonly order: ReadonlyMap<string, number>;
  private readonly wrapped = new Set<string>();
  private cohorts: Cohort[] = [];
  private rounds = 0;
  private readonly waitTimeoutMs: number;

  constructor(
    readonly attack: Attack,
    readonly numParticipants: number,
    readonly byzantineIds: readonly string[],
    private readonly seed: number,
    options: AdversaryOptions = {},
  ) {
    if (!Number.isSafeInteger(numParticipants) || numParticipants < 1) throw new RangeError(`Adversary: numParticipants must be a positive integer, got ${numParticipants}`);
    if (byzantineIds.length > numParticipants) throw new RangeError(`Adversary: ${byzantineIds.length} Byzantine of ${numParticipants} participants`);
    this.order = new Map(byzantineIds.map((id, i) => [id, i]));
    if (this.order.size !== byzantineIds.length) throw new RangeError('Adversary: duplicate Byzantine id');
    this.waitTimeoutMs = options.waitTimeoutMs ?? 300_000;
    if (!(this.waitTimeoutMs >= 0)) throw new RangeError(`Adversary: waitTimeoutMs must be ≥ 0, got ${this.waitTimeoutMs}`);
  }

  isByzantine(id: string): boolean {
    return this.order.has(id);
  }

  /** Rounds in which some Byzantine participant trained so far. */
  get roundsStarted(): number {
    return this.rounds;
  }

  /** The model Byzantine participant `id` must use in place of `model` (once per id). */
  wrap(id: string, model: TrainableModel): TrainableModel {
    if (!this.order.has(id)) throw new RangeError(`Adversary.wrap: ${id} is not one of the Byzantine participants`);
    if (this.wrapped.has(id)) throw new RangeError(`Adversary.wrap: ${id} is wrapped already`);
    this.wrapped.add(id);
    return new ByzantineModel(id, model, this);
  }

  /**
   * The attack's data poisoning for `round` (the Byzantine models apply it themselves at each training; data
   * poisoned already is returned as it is). Without a round: poisoning that holds for every round.
   */
  poison(data: LabeledData, round?: number): LabeledData {
    if (isPoisoned(data) || !this.attack.poisonData) return data;
    return this.attack.poisonData(data, round);
  }

  join(id: string, global: Float32Array): RoundTicket {
    const order = this.order.get(id);
    if (order === undefined) throw new RangeError(`Adversary.join: ${id} is not one of the Byzantine participants`);
    const cohort = this.cohortFor(id, global);
    const member: Member = { id, order, state: 'training' };
    cohort.members.set(id, member);
    return {
      round: cohort.round,
      register: (benign) => this.register(cohort, member, benign),
      abandon: () => {
        if (member.state !== 'training') return;
        member.state = 'abandoned';
        this.maybeCraft(cohort);
      },
    };
  }

  private cohortFor(id: string, global: Float32Array): Cohort {
    for (let i = this.cohorts.length - 1; i >= 0; i--) {
      const c = this.cohorts[i] as Cohort;
      if (!sameVector(c.global, global)) continue;
      if (!c.members.has(id)) return c;
      break; // this participant is in that round already: the adapter repeated, so a new round starts
    }
    const cohort: Cohort = { round: ++this.rounds, global: global.slice(), members: new Map(), crafted: false, batches: 0, scheduled: false };
    this.cohorts.push(cohort);
    if (this.cohorts.length > KEEP_ROUNDS) this.cohorts.shift();
    return cohort;
  }

  private register(cohort: Cohort, member: Member, benign: Float32Array): Promise<Float32Array> {
    if (member.state !== 'training') return Promise.reject(new Error(`Adversary: ${member.id} registered twice or after leaving`));
    member.state = 'registered';
    member.benign = benign;
    const promise = new Promise<Float32Array>((resolve, reject) => (member.settle = { resolve, reject }));
    if (cohort.crafted) {
      this.craft(cohort, [member]); // late: its round was crafted without it
    } else {
      if (cohort.timer === undefined && this.waitTimeoutMs <= MAX_TIMER_MS) {
        cohort.timer = setTimeout(() => this.craft(cohort, this.waiting(cohort)), this.waitTimeoutMs);
        cohort.timer.unref?.();
      }
      this.maybeCraft(cohort);
    }
    return promise;
  }

  /** Schedule crafting once nobody in the round is still training. */
  private maybeCraft(cohort: Cohort): void {
    if (cohort.crafted || cohort.scheduled) return;
    cohort.scheduled = true;
    setImmediate(() => {
      cohort.scheduled = false;
      if (cohort.crafted) return;
      const members = [...cohort.members.values()];
      if (members.some((m) => m.state === 'training')) return;
      this.craft(cohort, this.waiting(cohort));
    });
  }

  private waiting(cohort: Cohort): Member[] {
    return [...cohort.members.values()].filter((m) => m.state === 'registered' && m.settle !== undefined);
  }

  private craft(cohort: Cohort, members: Member[]): void {
    cohort.crafted = true;
    if (cohort.timer !== undefined) clearTimeout(cohort.timer);
    if (members.length === 0) return;
    members.sort((a, b) => a.order - b.order);
    const batch = cohort.batches++;
    const ctx: AttackContext = {
      round: cohort.round,
      global: cohort.global,
      benign: members.map((m) => m.benign as Float32Array),
      numParticipants: this.numParticipants,
      numByzantine: this.byzantineIds.length,
      rng: createRng(deriveSeed(this.seed, cohort.round, batch)),
    };
    let crafted: Float32Array[];
    try {
      crafted = this.attack.craft(ctx);
      if (crafted.length !== members.length) throw new RangeError(`${this.attack.name}: crafted ${crafted.length} deltas for ${members.length} participants`);
      for (const d of crafted) {
        if (d.length !== cohort.global.length) throw new RangeError(`${this.attack.name}: crafted delta length ${d.length} != ${cohort.global.length}`);
      }
    } catch (err) {
      for (const m of members) this.settle(m, (s) => s.reject(err));
      return;
    }
    members.forEach((m, i) => this.settle(m, (s) => s.resolve(crafted[i] as Float32Array)));
  }

  private settle(member: Member, act: (s: NonNullable<Member['settle']>) => void): void {
    const s = member.settle;
    member.settle = undefined;
    if (s) act(s);
  }
}

function sameVector(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
