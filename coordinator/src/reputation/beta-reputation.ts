/**
 * Beta reputation with forgetting (Jøsang & Ismail, "The Beta Reputation System", Bled eCommerce 2002), kept
 * per participant from the verdicts of the robust aggregation.
 *   Each round a participant takes part in:  α ← λ·α + r,  β ← λ·β + s,  with r, s its positive and negative
 *   evidence (kept: r = 1; clipped: r = s = ½, an outsized norm is suspicious but common under non-IID data;
 *   rejected: s = 1; doubted: s = 1, a unit kept in the round's aggregate although it points against the
 *   trusted reference, by less than the reference's own noise (aggregation/reference.ts), or that a reliable
 *   isolation forest finds anomalous (anomaly/anomaly-doubt.ts): one such round
 *   proves nothing, which is why its data is kept, but the evidence adds up over rounds here, where a
 *   participant that always opposes the reference — a label flipper late in training — falls while an honest
 *   one, doubted now and then by chance, recovers). Score = E[Beta(α + 1, β + 1)] = (α + 1)/(α + β + 2): 0.5 for a newcomer; one always
 *   kept tends to α = 1/(1 − λ) = 10, score 11/12 ≈ 0.92 (λ = 0.9); one always rejected tends to 1/12.
 *   Forgetting is per participation (old evidence is discounted when new evidence arrives, as in the paper),
 *   not per wall round, so a participant that sampling leaves out for many rounds keeps its record.
 *   λ = 0.9 (default): evidence older than ~10 participations weighs little, so an on-off attacker's good
 *   history fades within a few bad rounds instead of shielding it (with λ = 1, 20 good rounds would absorb
 *   20 bad ones before its score fell to one half).
 *   Exclusion: when a round brings negative evidence and the score ends below excludeBelow (0.25), the
 *   participant is excluded for the next cooldownRounds (5) rounds (weight multiplier 0; the coordinator
 *   should not select it). On release its record is discounted by λ^cooldownRounds, as if it had sat out
 *   those rounds with no evidence, and it re-enters with that decayed record: one more rejection excludes it
 *   again, kept rounds rebuild it. A participant always rejected is excluded after its third round.
 *   flagged(): participants with a score below flagBelow (0.4: below after one rejection of a newcomer),
 *   currently excluded, excluded at least flagAfterExclusions (2) times, or rejected in at least
 *   flagRejectionRate (⅓) of at least 5 rounds over their lifetime. The last two are memories that forgetting
 *   does not erase: a repeat offender stays a suspect while kept rounds rebuild its score — an attacker whose
 *   updates become indistinguishable from honest ones late in training, as label flippers' do near
 *   convergence, or one kept often enough never to fall to the exclusion threshold (measured on the MNIST
 *   task, 30 rounds: label flippers rejected in 5–18 rounds, honest participants in at most 6). These are the
 *   detections the simulation scores for precision and recall.
 *   Secure aggregation: a unit is a group's sum, and its outcome is evidence about every member. groupEvidence
 *   'full' (default) gives every member the whole unit's evidence; with groups redrawn each round an attacker
 *   is in a rejected group every time and an honest member only when it meets one, so the scores separate
 *   (group testing). 'divided' gives each member 1/g of it: fairer to honest members, but weak — a member's
 *   steady-state β is at most 1/(g·(1 − λ)) (2 for g = 5), so the score can never fall below 1/(2 + 2) =
 *   excludeBelow: no exclusion is possible. The price of 'full': an honest member of a group with an attacker
 *   loses reputation too (with 20 % attackers and g = 5, an honest member shares a group with one 59 % of the
 *   time; if those groups are all rejected its score settles near 0.42, just above flagBelow).
 *   weightMultiplier(id) = the score (0 while excluded): a newcomer counts half as much as a veteran, which
 *   limits what a wave of fresh Sybil identities can weigh. A unit's multiplier is the mean over its members.
 *   Recent record: besides the discounted α, β the book keeps, per participant, which of its last
 *   RECENT_PARTICIPATIONS (30) participations were suspect (more negative than positive evidence: rejected or
 *   doubted), as bits. The score answers "how has it behaved on the whole", where a long good record outweighs
 *   a few bad rounds; recentSuspicions() answers "has it been doubted lately", which a good record does not
 *   excuse (the robust pipeline's step 1b rejects a doubted unit on it). Counted per participation, like the
 *   forgetting, and kept across an exclusion.
 */
import { MemoryReputationStore, type ReputationRecord, type ReputationStore } from './reputation-store.ts';

export type EvidenceOutcome = 'kept' | 'clipped' | 'rejected' | 'doubted';

export interface UnitEvidence {
  readonly unitId: string;
  readonly members: readonly string[];
  readonly outcome: EvidenceOutcome;
}

export interface Evidence {
  readonly positive: number;
  readonly negative: number;
}

export interface BetaReputationOptions {
  /** Default: a new MemoryReputationStore. */
  readonly store?: ReputationStore;
  /** λ ∈ (0, 1]. Default 0.9. */
  readonly forgetting?: number;
  /** Exclude when the score falls below this after negative evidence. Default 0.25. */
  readonly excludeBelow?: number;
  /** Rounds an exclusion lasts. Default 5. */
  readonly cooldownRounds?: number;
  /** flagged() lists scores below this. Default 0.4. */
  readonly flagBelow?: number;
  /** flagged() lists participants excluded at least this many times. Default 2; 0 disables. */
  readonly flagAfterExclusions?: number;
  /** flagged() lists participants rejected in at least this fraction of ≥ 5 rounds. Default ⅓; 0 disables. */
  readonly flagRejectionRate?: number;
  /** Evidence per outcome. Default kept {1, 0}, clipped {½, ½}, rejected {0, 1}, doubted {0, 1}. */
  readonly evidence?: Readonly<Record<EvidenceOutcome, Evidence>>;
  /** How a secure group's evidence reaches its members. Default 'full' (see the header). */
  readonly groupEvidence?: 'full' | 'divided';
}

export const BETA_REPUTATION_DEFAULTS = {
  forgetting: 0.9,
  excludeBelow: 0.25,
  cooldownRounds: 5,
  flagBelow: 0.4,
  flagAfterExclusions: 2,
  flagRejectionRate: 1 / 3,
  evidence: {
    kept: { positive: 1, negative: 0 },
    clipped: { positive: 0.5, negative: 0.5 },
    rejected: { positive: 0, negative: 1 },
    doubted: { positive: 0, negative: 1 },
  },
  groupEvidence: 'full',
} as const;

export interface BetaReputation {
  /** (α + 1)/(α + β + 2) as of `round` (default: the round after the last recorded one); 0.5 if unknown. */
  score(id: string, round?: number): number;
  isExcluded(id: string, round?: number): boolean;
  /** The score, or 0 while excluded. */
  weightMultiplier(id: string, round?: number): number;
  /** Mean weightMultiplier over a unit's members (1 for an empty list). */
  unitMultiplier(members: readonly string[], round?: number): number;
  /** Applies one finished round's verdicts; returns the participants this round excluded. */
  recordRound(round: number, evidence: readonly UnitEvidence[]): string[];
  /** Participants with a score below flagBelow, currently excluded, or repeatedly excluded; sorted. */
  flagged(round?: number): string[];
  /** Participants excluded in `round`, sorted. */
  excluded(round?: number): string[];
  /**
   * Of the participant's last `window` participations (1 ≤ window ≤ RECENT_PARTICIPATIONS), how many brought
   * more negative than positive evidence (rejected, doubted); 0 for a newcomer.
   */
  recentSuspicions(id: string, window: number): number;
  /** The last round recorded (0 before any). */
  readonly lastRound: number;
}

/** Rounds of evidence before a lifetime rejection rate can flag a participant. */
const FLAG_MIN_ROUNDS = 5;

/** Participations the recent record (ReputationRecord.recent) remembers: bits of a non-negative 31-bit integer. */
export const RECENT_PARTICIPATIONS = 30;
const RECENT_MASK = 2 ** RECENT_PARTICIPATIONS - 1;

const NEWCOMER: ReputationRecord = { alpha: 0, beta: 0, lastRound: 0, excludedThrough: 0, exclusions: 0, participations: 0, rejections: 0, recent: 0 };

function scoreOf(r: ReputationRecord): number {
  return (r.alpha + 1) / (r.alpha + r.beta + 2);
}

export function createBetaReputation(options: BetaReputationOptions = {}): BetaReputation {
  const store = options.store ?? new MemoryReputationStore();
  const lambda = options.forgetting ?? BETA_REPUTATION_DEFAULTS.forgetting;
  const excludeBelow = options.excludeBelow ?? BETA_REPUTATION_DEFAULTS.excludeBelow;
  const cooldown = options.cooldownRounds ?? BETA_REPUTATION_DEFAULTS.cooldownRounds;
  const flagBelow = options.flagBelow ?? BETA_REPUTATION_DEFAULTS.flagBelow;
  const flagAfter = options.flagAfterExclusions ?? BETA_REPUTATION_DEFAULTS.flagAfterExclusions;
  if (!(Number.isInteger(flagAfter) && flagAfter >= 0)) throw new RangeError(`createBetaReputation: flagAfterExclusions ${flagAfter}`);
  const flagRate = options.flagRejectionRate ?? BETA_REPUTATION_DEFAULTS.flagRejectionRate;
  if (!(flagRate >= 0 && flagRate <= 1)) throw new RangeError(`createBetaReputation: flagRejectionRate ${flagRate} not in [0, 1]`);
  const table = options.evidence ?? BETA_REPUTATION_DEFAULTS.evidence;
  const groupEvidence = options.groupEvidence ?? BETA_REPUTATION_DEFAULTS.groupEvidence;
  if (!(lambda > 0 && lambda <= 1)) throw new RangeError(`createBetaReputation: forgetting ${lambda} not in (0, 1]`);
  if (!(Number.isInteger(cooldown) && cooldown >= 0)) throw new RangeError(`createBetaReputation: cooldownRounds ${cooldown}`);
  if (!(excludeBelow >= 0 && excludeBelow <= flagBelow && flagBelow <= 1)) {
    throw new RangeError(`createBetaReputation: need 0 ≤ excludeBelow (${excludeBelow}) ≤ flagBelow (${flagBelow}) ≤ 1`);
  }

  let lastRound = 0;
  for (const [, r] of store.entries()) lastRound = Math.max(lastRound, r.lastRound);
  const upcoming = (round?: number): number => round ?? lastRound + 1;

  /** The record as of `round`: an exclusion that ended before it has been served and discounted. */
  const effective = (r: ReputationRecord, round: number): ReputationRecord => {
    if (r.excludedThrough === 0 || round <= r.excludedThrough) return r;
    const k = Math.pow(lambda, cooldown);
    return { ...r, alpha: r.alpha * k, beta: r.beta * k, excludedThrough: 0 };
  };
  const recordAt = (id: string, round: number): ReputationRecord | undefined => {
    const r = store.get(id);
    return r === undefined ? undefined : effective(r, round);
  };

  const book: BetaReputation = {
    get lastRound() {
      return lastRound;
    },
    score(id, round) {
      const r = recordAt(id, upcoming(round));
      return r === undefined ? 0.5 : scoreOf(r);
    },
    isExcluded(id, round) {
      const r = store.get(id);
      return r !== undefined && r.excludedThrough >= upcoming(round);
    },
    weightMultiplier(id, round) {
      return book.isExcluded(id, round) ? 0 : book.score(id, round);
    },
    unitMultiplier(members, round) {
      if (members.length === 0) return 1;
      let s = 0;
      for (const m of members) s += book.weightMultiplier(m, round);
      return s / members.length;
    },
    recordRound(round, evidence) {
      if (!(Number.isInteger(round) && round > lastRound)) {
        throw new RangeError(`recordRound: round ${round} is not after the last recorded round ${lastRound}`);
      }
      const gathered = new Map<string, { positive: number; negative: number }>();
      for (const unit of evidence) {
        const e = table[unit.outcome];
        const share = groupEvidence === 'divided' && unit.members.length > 0 ? 1 / unit.members.length : 1;
        for (const m of unit.members) {
          const acc = gathered.get(m) ?? { positive: 0, negative: 0 };
          acc.positive += share * e.positive;
          acc.negative += share * e.negative;
          gathered.set(m, acc);
        }
      }
      const newlyExcluded: string[] = [];
      for (const [id, e] of gathered) {
        const before = recordAt(id, round) ?? NEWCOMER;
        const suspect = e.negative > e.positive;
        let next: ReputationRecord = {
          ...before,
          alpha: lambda * before.alpha + e.positive,
          beta: lambda * before.beta + e.negative,
          lastRound: round,
          participations: before.participations + 1,
          rejections: before.rejections + (suspect ? 1 : 0),
          recent: ((before.recent * 2) & RECENT_MASK) | (suspect ? 1 : 0),
        };
        if (e.negative > 0 && scoreOf(next) < excludeBelow && cooldown > 0) {
          next = { ...next, excludedThrough: round + cooldown, exclusions: next.exclusions + 1 };
          newlyExcluded.push(id);
        }
        store.set(id, next);
      }
      lastRound = round;
      return newlyExcluded.sort();
    },
    flagged(round) {
      const at = upcoming(round);
      const out: string[] = [];
      for (const [id, r] of store.entries()) {
        const repeat =
          (flagAfter > 0 && r.exclusions >= flagAfter) ||
          (flagRate > 0 && r.participations >= FLAG_MIN_ROUNDS && r.rejections >= flagRate * r.participations);
        if (repeat || r.excludedThrough >= at || scoreOf(effective(r, at)) < flagBelow) out.push(id);
      }
      return out.sort();
    },
    excluded(round) {
      const at = upcoming(round);
      const out: string[] = [];
      for (const [id, r] of store.entries()) if (r.excludedThrough >= at) out.push(id);
      return out.sort();
    },
    recentSuspicions(id, window) {
      if (!(Number.isInteger(window) && window >= 1 && window <= RECENT_PARTICIPATIONS)) {
        throw new RangeError(`recentSuspicions: window ${window} not an integer in [1, ${RECENT_PARTICIPATIONS}]`);
      }
      let bits = (store.get(id)?.recent ?? 0) & (2 ** window - 1);
      let n = 0;
      for (; bits !== 0; bits &= bits - 1) n++;
      return n;
    },
  };
  return book;
}
