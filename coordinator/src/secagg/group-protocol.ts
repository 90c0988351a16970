/**
 * The coordinator's side of SecAgg+ with ML-KEM for one secure group (Bonawitz et al., CCS 2017; Bell et al.,
 * CCS 2020), pure: no sockets, timers or logging. An ordered list of stages over one explicit state object
 * (group-state.ts); each accept* checks its stage, member, round, duplicates, indices and sizes before it
 * changes anything, and throws FedwardenError (UNEXPECTED_MESSAGE, BAD_FRAME, BAD_UPDATE) otherwise.
 *
 *   keys:    acceptKeys*        → relayKeys()        (U1; closes keys)
 *   encaps:  acceptEncaps*      → relayEncaps()
 *   shares:  acceptShares*      → relayShares(w)     (U2)
 *   masked:  acceptMasked*      → survivorsRequests() (U3 = survivors)
 *   survivors: acceptSurvivorsSigned* → unmaskRequests() (the consistency round)
 *   unmask:  acceptUnmaskReply* → finish()           (U4 = repliers) → done | failed
 *
 * The orchestrator calls each relay with whatever arrived before the stage deadline; absent members are
 * dropped. At every relay the group keeps only the t-core of the members still in play (each with ≥ t
 * neighbours in play): a member below it could never have its secrets recovered, would refuse, and would sink
 * the whole group. Before asking anyone to unmask, the group checks that every needed secret can have t shares
 * and otherwise fails without asking (no honest member reveals anything for a round that cannot finish).
 *
 * Nobody in U3 is ever listed as dropped, and late masked inputs are refused by stage: the coordinator must
 * never rebuild P_d for a member whose masked input it holds.
 *
 * Each member publishes two ML-KEM keys: the mask key (derived from its pairwise master P) and a fresh share
 * key that is never secret-shared. Rebuilding a dropped member's P therefore recovers its pairwise mask seeds
 * but never opens a sealed share (Bonawitz et al. use two key pairs, c and s, for the same reason).
 *
 * Integrity against hostile members. Members commit to b and P in keys and to every share in shares
 * (shared/src/secagg/commitment.ts). A member whose partner's shares do not open or do not match their
 * commitments complains in masked with evidence that proves its key for that pair alone; judgeComplaint
 * (blame.ts) names the culprit, who is dropped from U3 (its masks are removed like any dropped member's), so
 * the round completes. At unmask every revealed share is checked against its dealer's commitment: a wrong one is
 * discarded and its sender named; every rebuilt secret is checked against its own commitment. With enough good
 * shares left the sum is exact; with fewer than t (e.g. exactly t answered and one lied) the group fails, the
 * culprit named. No wrong share reaches the sum.
 *
 * Dropout recovery (unmask.ts, docs/secagg-dropout-recovery.md). Members also commit, in shares, to each pairwise
 * mask seed, and a survivor asked about a dropped partner d reveals the seed it shares with d beside its share of
 * P_d. When every surviving partner of d revealed a seed that opens both ends' commitments, d's masks come out
 * by those seeds, with no KEM work and without rebuilding P_d; otherwise (one vanished, or a seed or commitment
 * is off) that d alone falls back to P_d, and whoever committed to or revealed a wrong seed is named.
 *
 * Active security (Bonawitz et al., §4, the malicious-server variant). Every member signs what it says in keys,
 * encaps and shares with its registered ML-DSA-65 identity key (shared/src/secagg/statements.ts); this class
 * checks each signature before it accepts a message (a bad one is refused and blamed on its sender) and relays
 * the signatures, so each recipient checks them again: a coordinator that substitutes a key or alters a
 * ciphertext or share gets refusals. After masked comes the consistency round: each survivor signs U3, and a
 * member unmasks only when shown t of its partners' signatures over the U3 it signed itself, so a coordinator
 * that tells members different survivor sets gets refusals, not both secrets of anyone.
 *
 * Limits: a hostile member can still make its group fail by sealing bad shares for so many partners that fewer
 * than t good holders of its P remain among those that masked with it (it is named), and can add anything to
 * its own input within the range check (sum-range.ts).
 */
import {
  FedwardenError,
  ML_KEM768_PUBLIC_KEY_BYTES,
  SECAGG_CIPHERTEXT_BYTES,
  SECAGG_COMMITMENT_BYTES,
  SECAGG_COMPLAINT_BYTES,
  SECAGG_PEER_KEYS_BYTES,
  SECAGG_PUBLIC_KEYS_BYTES,
  SECAGG_SEALED_SHARES_BYTES,
  SECAGG_SHARE_BYTES,
  SECAGG_SHARE_COMMITMENTS_BYTES,
  SECAGG_MASK_SEED_BYTES,
  SIGNATURE_BYTES,
  checkAttestedAll,
  commitShare,
  dequantizeSum,
  encapsItem,
  isValidKemPublicKey,
  keysStatement,
  opensCommitment,
  sharesItem,
  survivorsStatement,
  verifyStatement,
  type MessageOf,
  type SecaggSetup,
  type SecretKind,
  type ShamirShare,
} from '@fedwarden/shared';
import { judgeComplaint, type GroupBlame } from './blame.ts';
import {
  checkAddressed,
  checkParams,
  nextGroupStage,
  sortedSet,
  thresholdCore,
  type GroupStage,
  type GroupStageName,
  type GroupState,
  type MemberMetadata,
  type SecaggGroupParams,
  type UnmaskRequest,
} from './group-state.ts';
import { enoughRepliesPossible, infeasible, planUnmask } from './unmask-plan.ts';
import { unmaskSum } from './unmask.ts';

export type { GroupStage, MemberMetadata, SecaggGroupParams } from './group-state.ts';
export type { GroupBlame } from './blame.ts';
export { GROUP_STAGES } from './group-state.ts';

/** The group's outcome; `blamed` lists every fault attributed during the run, whichever way it ended. */
export type SecaggResult =
  | {
      readonly ok: true;
      readonly survivors: number[];
      readonly sum: Uint32Array;
      readonly weightedSum: Float32Array;
      readonly blamed: readonly GroupBlame[];
      /** Dropped members whose masks came out by their partners' revealed seeds, and those rebuilt from P. */
      readonly recovered: { readonly bySeeds: readonly number[]; readonly byMaster: readonly number[] };
    }
  | { readonly ok: false; readonly reason: string; readonly blamed: readonly GroupBlame[] };

export class SecaggGroup {
  private readonly s: GroupState;
  private result: SecaggResult | undefined;

  constructor(params: SecaggGroupParams) {
    const neighbours = checkParams(params);
    this.s = {
      params: { ...params, memberIds: [...params.memberIds], graph: neighbours },
      n: params.memberIds.length,
      neighbours,
      stage: 'keys',
      failure: undefined,
      publicKeys: new Map(),
      signedKeys: new Map(),
      metadata: new Map(),
      commitments: new Map(),
      keyed: new Map(),
      cipherTexts: new Map(),
      shareCipherTexts: new Map(),
      encapsAttestations: new Map(),
      sharesAttestations: new Map(),
      paired: new Map(),
      sealed: new Map(),
      shareCommitments: new Map(),
      seedCommitments: new Map(),
      partners: new Map(),
      masked: new Map(),
      complaints: new Map(),
      culprits: new Set(),
      blamed: [],
      masking: new Map(),
      survivors: [],
      survivorSignatures: new Map(),
      requests: new Map(),
      replies: new Map(),
    };
  }

  /** The stage whose messages are accepted now, or 'done' / 'failed'. */
  get stage(): GroupStage {
    return this.s.stage;
  }

  /** Faults attributed so far (complaints judged in masked, shares checked at finish). */
  get blamed(): readonly GroupBlame[] {
    return this.s.blamed;
  }

  /** Why the group failed, once it has. */
  get failure(): string | undefined {
    return this.s.failure;
  }

  setupFor(index: number): SecaggSetup {
    this.member(index);
    const { group, threshold, clip, bits, memberIds, identityKeys } = this.s.params;
    const neighbours = [...this.nbrs(index)];
    const peers = neighbours.map((j) => ({ index: j, participantId: memberIds[j - 1] as string, identityKey: identityKeys[j - 1] as Uint8Array }));
    return { group, index, members: this.s.n, neighbours, threshold, clip, bits, peers };
  }

  /** Training metadata a member sent with its key. */
  metadata(index: number): MemberMetadata {
    const m = this.s.metadata.get(index);
    if (!m) throw new FedwardenError('INTERNAL', `SecaggGroup: no metadata for member ${index}`);
    return m;
  }

  /** Members expected in the current stage that have not answered yet. */
  pending(): number[] {
    const s = this.s;
    const [expected, answered]: [Iterable<number>, ReadonlySet<number> | ReadonlyMap<number, unknown>] =
      s.stage === 'keys' ? [this.all(), s.publicKeys]
      : s.stage === 'encaps' ? [s.keyed.keys(), s.cipherTexts]
      : s.stage === 'shares' ? [s.paired.keys(), s.sealed]
      : s.stage === 'masked' ? [s.partners.keys(), s.complaints]
      : s.stage === 'survivors' ? [s.requests.keys(), s.survivorSignatures]
      : s.stage === 'unmask' ? [s.requests.keys(), s.replies]
      : [[], new Set<number>()];
    return sortedSet([...expected].filter((i) => !answered.has(i)));
  }

  // ---- stage keys ----

  acceptKeys(index: number, msg: MessageOf<'saKeys'>): void {
    this.accepting('keys', index, msg, 'saKeys', this.all(), this.s.publicKeys);
    const { numSamples, meanLoss, trainMs, maskPublicKey, sharePublicKey, selfCommitment, masterCommitment, signature } = msg;
    for (const key of [maskPublicKey, sharePublicKey]) {
      if (!(key instanceof Uint8Array) || key.length !== ML_KEM768_PUBLIC_KEY_BYTES) {
        throw new FedwardenError('BAD_FRAME', `saKeys: public keys must be ${ML_KEM768_PUBLIC_KEY_BYTES} bytes`);
      }
      // A key neighbours could not encapsulate to would make each of them refuse: refuse it here instead.
      if (!isValidKemPublicKey(key)) throw new FedwardenError('BAD_FRAME', 'saKeys: a public key fails the ML-KEM input check');
    }
    for (const c of [selfCommitment, masterCommitment]) {
      if (!(c instanceof Uint8Array) || c.length !== SECAGG_COMMITMENT_BYTES) {
        throw new FedwardenError('BAD_FRAME', `saKeys: commitments must be ${SECAGG_COMMITMENT_BYTES} bytes`);
      }
    }
    if (!Number.isSafeInteger(numSamples) || numSamples < 1) {
      throw new FedwardenError('BAD_UPDATE', `saKeys: numSamples must be a positive integer, got ${numSamples}`);
    }
    if (!Number.isFinite(meanLoss) || !Number.isFinite(trainMs) || trainMs < 0) {
      throw new FedwardenError('BAD_UPDATE', 'saKeys: meanLoss and trainMs must be finite');
    }
    if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) {
      throw new FedwardenError('BAD_FRAME', `saKeys: signature must be ${SIGNATURE_BYTES} bytes`);
    }
    this.requireSigned(index, 'saKeys', verifyStatement(this.identityKey(index), keysStatement(this.round, this.s.params.group, index, msg), signature));
    const signed = new Uint8Array(SECAGG_PEER_KEYS_BYTES);
    [maskPublicKey, sharePublicKey, selfCommitment, masterCommitment, signature].reduce((at, part) => (signed.set(part, at), at + part.length), 0);
    this.s.publicKeys.set(index, signed.slice(0, SECAGG_PUBLIC_KEYS_BYTES));
    this.s.signedKeys.set(index, signed);
    this.s.metadata.set(index, { numSamples, meanLoss, trainMs });
    this.s.commitments.set(index, { self: selfCommitment.slice(), master: masterCommitment.slice() });
  }

  /** Close stage keys: each member of the t-core of U1 gets its neighbours' keys. */
  relayKeys(): Map<number, MessageOf<'saPeerKeys'>> {
    const s = this.s;
    if (!this.closing('keys')) return new Map();
    const core = thresholdCore(s.publicKeys.keys(), (i) => this.nbrs(i), this.t);
    const out = new Map<number, MessageOf<'saPeerKeys'>>();
    for (const i of sortedSet(core)) {
      const relayed = this.nbrs(i).filter((j) => core.has(j));
      s.keyed.set(i, relayed);
      out.set(i, { kind: 'saPeerKeys', round: this.round, keys: relayed.map((j) => ({ index: j, bytes: s.signedKeys.get(j) as Uint8Array })) });
    }
    return this.advance('keys', out, `${core.size} of ${s.publicKeys.size} members with keys have ${this.t} neighbours with keys`);
  }

  // ---- stage encaps ----

  acceptEncaps(index: number, msg: MessageOf<'saEncaps'>): void {
    this.accepting('encaps', index, msg, 'saEncaps', this.s.keyed.keys(), this.s.cipherTexts);
    const keyed = this.s.keyed.get(index) as number[];
    const cts = checkAddressed(msg.cipherTexts, keyed.filter((j) => j > index), SECAGG_CIPHERTEXT_BYTES, 'saEncaps');
    const shareCts = checkAddressed(msg.shareCipherTexts, keyed, SECAGG_CIPHERTEXT_BYTES, 'saEncaps shareCipherTexts');
    const items = new Map([...shareCts].map(([j, ct]) => [j, encapsItem(cts.get(j), ct)]));
    this.requireSigned(index, 'saEncaps', checkAttestedAll('encaps', this.identityKey(index), this.round, this.s.params.group, index, items, msg.attestation));
    this.s.cipherTexts.set(index, new Map([...cts].map(([j, ct]) => [j, ct.slice()])));
    this.s.shareCipherTexts.set(index, new Map([...shareCts].map(([j, ct]) => [j, ct.slice()])));
    this.s.encapsAttestations.set(index, msg.attestation.slice());
  }

  /**
   * Close stage encaps: among the t-core of those that reached encaps, each member pairs with its keyed
   * neighbours in the core (both share exchanges need both to have encapsulated) and gets their ciphertexts.
   */
  relayEncaps(): Map<number, MessageOf<'saPeerEncaps'>> {
    const s = this.s;
    if (!this.closing('encaps')) return new Map();
    const core = thresholdCore(s.cipherTexts.keys(), (i) => s.keyed.get(i) ?? [], this.t);
    const out = new Map<number, MessageOf<'saPeerEncaps'>>();
    for (const j of sortedSet(core)) {
      // Exactly what member j computes: the neighbours whose share-key ciphertexts it hears from.
      const paired = (s.keyed.get(j) as number[]).filter((i) => core.has(i));
      s.paired.set(j, paired);
      const cipherTexts = paired.filter((i) => i < j).map((i) => ({ index: i, bytes: s.cipherTexts.get(i)?.get(j) as Uint8Array }));
      const shareCipherTexts = paired.map((i) => ({ index: i, bytes: s.shareCipherTexts.get(i)?.get(j) as Uint8Array }));
      const attestations = paired.map((i) => ({ index: i, bytes: s.encapsAttestations.get(i) as Uint8Array }));
      out.set(j, { kind: 'saPeerEncaps', round: this.round, cipherTexts, shareCipherTexts, attestations });
    }
    return this.advance('encaps', out, `${core.size} of ${s.cipherTexts.size} members that reached encaps have ${this.t} paired neighbours`);
  }

  // ---- stage shares ----

  acceptShares(index: number, msg: MessageOf<'saShares'>): void {
    this.accepting('shares', index, msg, 'saShares', this.s.paired.keys(), this.s.sealed);
    const paired = this.s.paired.get(index) as number[];
    const sealed = checkAddressed(msg.shares, paired, SECAGG_SEALED_SHARES_BYTES, 'saShares');
    const commitments = checkAddressed(msg.commitments, paired, SECAGG_SHARE_COMMITMENTS_BYTES, 'saShares commitments');
    const seedCommitments = checkAddressed(msg.seedCommitments, paired, SECAGG_COMMITMENT_BYTES, 'saShares seedCommitments');
    const items = new Map([...sealed].map(([j, b]) => [j, sharesItem(b, commitments.get(j) as Uint8Array, seedCommitments.get(j) as Uint8Array)]));
    this.requireSigned(index, 'saShares', checkAttestedAll('shares', this.identityKey(index), this.round, this.s.params.group, index, items, msg.attestation));
    this.s.sharesAttestations.set(index, msg.attestation.slice());
    this.s.sealed.set(index, new Map([...sealed].map(([j, b]) => [j, b.slice()])));
    this.s.shareCommitments.set(index, new Map([...commitments].map(([j, b]) => [j, b.slice()])));
    this.s.seedCommitments.set(index, new Map([...seedCommitments].map(([j, b]) => [j, b.slice()])));
  }

  /**
   * Close stage shares (U2 = senders): each member of the t-core of U2 gets the shares its partners sealed for
   * it, and `weights.get(index)` ∈ (0, 1] to scale its update by.
   */
  relayShares(weights: ReadonlyMap<number, number>): Map<number, MessageOf<'saPeerShares'>> {
    const s = this.s;
    if (!this.closing('shares')) return new Map();
    const core = thresholdCore(s.sealed.keys(), (i) => s.paired.get(i) ?? [], this.t);
    for (const i of core) {
      const w = weights.get(i);
      if (typeof w !== 'number' || !(w > 0 && w <= 1)) {
        throw new FedwardenError('INTERNAL', `relayShares: weight of member ${i} must be in (0, 1], got ${String(w)}`);
      }
    }
    const out = new Map<number, MessageOf<'saPeerShares'>>();
    for (const i of sortedSet(core)) {
      const partners = (s.paired.get(i) as number[]).filter((j) => core.has(j));
      s.partners.set(i, partners);
      const shares = partners.map((j) => ({ index: j, bytes: s.sealed.get(j)?.get(i) as Uint8Array }));
      const commitments = partners.map((j) => ({ index: j, bytes: s.shareCommitments.get(j)?.get(i) as Uint8Array }));
      const seedCommitments = partners.map((j) => ({ index: j, bytes: s.seedCommitments.get(j)?.get(i) as Uint8Array }));
      const attestations = partners.map((j) => ({ index: j, bytes: s.sharesAttestations.get(j) as Uint8Array }));
      out.set(i, { kind: 'saPeerShares', round: this.round, weight: weights.get(i) as number, shares, commitments, seedCommitments, attestations });
    }
    return this.advance('shares', out, `${core.size} of ${s.sealed.size} members that sent shares have ${this.t} partners`);
  }

  // ---- stage masked ----

  /**
   * A masked input with its complaints; or, from a member left with fewer than t good partners, complaints
   * alone with an empty input (it abstains: judged like any complaints, then treated as dropped before masked).
   */
  acceptMasked(index: number, msg: MessageOf<'saMasked'>): void {
    this.accepting('masked', index, msg, 'saMasked', this.s.partners.keys(), this.s.masked);
    if (this.s.complaints.has(index)) throw new FedwardenError('UNEXPECTED_MESSAGE', `saMasked: member ${index} already abstained`);
    const abstains = msg.masked instanceof Uint32Array && msg.masked.length === 0;
    if (!abstains && (!(msg.masked instanceof Uint32Array) || msg.masked.length !== this.s.params.dim)) {
      throw new FedwardenError('BAD_UPDATE', `saMasked: expected ${this.s.params.dim} words`);
    }
    const partners = this.s.partners.get(index) as number[];
    const complaints = checkAddressed(msg.complaints, partners, SECAGG_COMPLAINT_BYTES, 'saMasked complaints', true);
    const kept = partners.length - complaints.size;
    if (abstains ? complaints.size === 0 || kept >= this.t : kept < this.t) {
      throw new FedwardenError(
        'UNEXPECTED_MESSAGE',
        abstains ? `saMasked: abstaining with ${complaints.size} complaints and ${kept} good partners (threshold ${this.t})` : `saMasked: masked with ${kept} partners, threshold is ${this.t}`,
      );
    }
    if (!abstains) this.s.masked.set(index, msg.masked);
    this.s.complaints.set(index, new Set(complaints.keys()));
    for (const [accused, evidence] of complaints) this.judge(index, accused, evidence);
  }

  /**
   * Close stage masked (U3 = senders): plan whom to ask about whom, and ask every survivor to sign U3 (the
   * consistency round). Fails instead, asking nobody, when some secret could never get t shares even if every
   * survivor answered.
   */
  survivorsRequests(): Map<number, MessageOf<'saSurvivors'>> {
    const s = this.s;
    if (!this.closing('masked')) return new Map();
    // Culprits found by complaints are dropped: their input (if it came) is discarded, their masks removed.
    for (const c of s.culprits) {
      s.masked.get(c)?.fill(0);
      s.masked.delete(c);
    }
    const u3 = new Set(s.masked.keys());
    for (const i of u3) s.masking.set(i, (s.partners.get(i) ?? []).filter((j) => !s.complaints.get(i)?.has(j)));
    for (const d of s.partners.keys()) {
      if (!u3.has(d)) s.masking.set(d, sortedSet([...u3].filter((i) => s.masking.get(i)?.includes(d))));
    }
    const requests = planUnmask(s.masking, u3);
    const problem = infeasible(s.masking, requests, this.t, (i) => u3.has(i));
    const out = new Map<number, MessageOf<'saSurvivors'>>();
    if (!problem) {
      s.survivors = sortedSet(u3);
      for (const [i, r] of requests) {
        s.requests.set(i, r);
        out.set(i, { kind: 'saSurvivors', round: this.round, survivors: [...s.survivors] });
      }
    }
    return this.advance('masked', problem ? new Map() : out, problem ?? '');
  }

  // ---- stage survivors (consistency round) ----

  acceptSurvivorsSigned(index: number, msg: MessageOf<'saSurvivorsSigned'>): void {
    this.accepting('survivors', index, msg, 'saSurvivorsSigned', this.s.requests.keys(), this.s.survivorSignatures);
    if (!(msg.signature instanceof Uint8Array) || msg.signature.length !== SIGNATURE_BYTES) {
      throw new FedwardenError('BAD_FRAME', `saSurvivorsSigned: signature must be ${SIGNATURE_BYTES} bytes`);
    }
    const statement = survivorsStatement(this.round, this.s.params.group, index, this.s.survivors);
    this.requireSigned(index, 'saSurvivorsSigned', verifyStatement(this.identityKey(index), statement, msg.signature));
    this.s.survivorSignatures.set(index, msg.signature.slice());
  }

  /**
   * Close the consistency round: ask each survivor that signed, and whose partners in U3 gave at least t
   * signatures, to unmask, showing it those signatures. Fails, asking nobody, when the members still asked could
   * not give t shares of every needed secret.
   */
  unmaskRequests(): Map<number, MessageOf<'saUnmask'>> {
    const s = this.s;
    if (!this.closing('survivors')) return new Map();
    const signed = s.survivorSignatures;
    for (const [i, r] of [...s.requests]) {
      if (!signed.has(i) || r.survivors.filter((j) => signed.has(j)).length < this.t) s.requests.delete(i);
    }
    const out = new Map<number, MessageOf<'saUnmask'>>();
    if (enoughRepliesPossible(s.requests, new Set(), new Set(), s.masked.keys(), this.t)) {
      for (const [i, r] of s.requests) {
        const signatures = r.survivors.filter((j) => signed.has(j)).map((j) => ({ index: j, bytes: signed.get(j) as Uint8Array }));
        out.set(i, { kind: 'saUnmask', round: this.round, survivors: [...r.survivors], dropped: [...r.dropped], signatures });
      }
    }
    return this.advance('survivors', out, `${signed.size} of ${s.survivors.length} survivors signed U3: too few to unmask every needed secret`);
  }

  // ---- stage unmask ----

  acceptUnmaskReply(index: number, msg: MessageOf<'saUnmaskReply'>): void {
    this.accepting('unmask', index, msg, 'saUnmaskReply', this.s.requests.keys(), this.s.replies);
    const r = this.s.requests.get(index) as UnmaskRequest;
    const selfShares = checkAddressed(msg.selfShares, r.survivors, SECAGG_SHARE_BYTES, 'saUnmaskReply selfShares');
    const masterShares = checkAddressed(msg.masterShares, r.dropped, SECAGG_SHARE_BYTES, 'saUnmaskReply masterShares');
    const maskSeeds = checkAddressed(msg.maskSeeds, r.dropped, SECAGG_MASK_SEED_BYTES, 'saUnmaskReply maskSeeds');
    const copy = (m: Map<number, Uint8Array>): Map<number, Uint8Array> => new Map([...m].map(([j, b]) => [j, b.slice()]));
    this.s.replies.set(index, { selfShares: copy(selfShares), masterShares: copy(masterShares), maskSeeds: copy(maskSeeds) });
  }

  /** Close stage unmask: the exact sum of U3's quantized inputs, or why not. Callable once. */
  finish(): SecaggResult {
    const s = this.s;
    if (this.result) throw new FedwardenError('UNEXPECTED_MESSAGE', 'SecaggGroup: finish() was already called');
    if (!this.closing('unmask')) return this.conclude({ ok: false, reason: s.failure ?? 'failed', blamed: s.blamed });
    const survivors = sortedSet(s.masked.keys());
    const selfShares = new Map<number, ShamirShare[]>();
    const masterShares = new Map<number, ShamirShare[]>();
    // Only shares that match their dealer's commitment go on; whoever revealed another is named.
    const keep = (kind: SecretKind, into: Map<number, ShamirShare[]>, x: number, j: number, share: Uint8Array): void => {
      const committed = s.shareCommitments.get(j)?.get(x);
      const half = kind === 'self' ? committed?.subarray(0, SECAGG_COMMITMENT_BYTES) : committed?.subarray(SECAGG_COMMITMENT_BYTES);
      if (opensCommitment(half, commitShare(kind, share, this.round, this.s.params.group, j, x))) push(into, j, { x, share });
      else {
        const what = kind === 'self' ? 'self-mask seed' : 'pairwise master';
        this.blame({ culprit: x, kind: 'unmask-share-off-commitment', detail: `its share of member ${j}'s ${what} differs from the one ${j} committed to` });
      }
    };
    // Mask seeds are checked in unmaskSum, against both ends' seed commitments.
    const maskSeeds = new Map<number, Map<number, Uint8Array>>();
    for (const [x, reply] of s.replies) {
      for (const [j, share] of reply.selfShares) keep('self', selfShares, x, j, share);
      for (const [j, share] of reply.masterShares) keep('master', masterShares, x, j, share);
      for (const [d, seed] of reply.maskSeeds) {
        const about = maskSeeds.get(d) ?? new Map<number, Uint8Array>();
        maskSeeds.set(d, about.set(x, seed));
      }
    }
    for (const r of s.requests.values()) for (const d of r.dropped) if (!masterShares.has(d)) masterShares.set(d, []);
    const { round, group, threshold, dim, clip, bits } = s.params;
    const unmasked = unmaskSum({
      round,
      group,
      threshold,
      dim,
      survivors,
      masked: s.masked,
      partners: s.masking,
      // Recovery needs only the mask halves: the share key exchange is never reconstructed.
      maskPublicKey: (i) => s.publicKeys.get(i)?.subarray(0, ML_KEM768_PUBLIC_KEY_BYTES),
      maskCipherText: (from, to) => s.cipherTexts.get(from)?.get(to),
      commitment: (kind, member) => s.commitments.get(member)?.[kind],
      seedCommitment: (from, to) => s.seedCommitments.get(from)?.get(to),
      selfShares,
      masterShares,
      maskSeeds,
    });
    for (const f of unmasked.faults) this.blame(f);
    if (!unmasked.ok) {
      if (unmasked.culprit !== undefined) this.blame({ culprit: unmasked.culprit, kind: unmasked.kind ?? 'secret-off-commitment', detail: unmasked.reason });
      const named = s.blamed.length > 0 ? ` (blamed: ${[...new Set(s.blamed.map((b) => b.culprit))].join(', ')})` : '';
      return this.conclude({ ok: false, reason: unmasked.reason + named, blamed: s.blamed });
    }
    const weightedSum = dequantizeSum(unmasked.sum, survivors.length, clip, bits);
    const recovered = { bySeeds: [...unmasked.bySeeds], byMaster: [...unmasked.byMaster] };
    return this.conclude({ ok: true, survivors, sum: unmasked.sum, weightedSum, blamed: s.blamed, recovered });
  }

  /**
   * Whether the group can still finish if every member still in play answers from now on, with `absent`
   * (members known to be gone for good, e.g. disconnected) never answering again. False once failed.
   */
  canStillSucceed(absent: Iterable<number> = []): boolean {
    const s = this.s;
    const gone = new Set(absent);
    const live = (keys: Iterable<number>): number[] => [...keys].filter((i) => !gone.has(i));
    const nonEmpty = (core: Set<number>): boolean => core.size > 0;
    switch (s.stage) {
      case 'keys':
        return nonEmpty(thresholdCore(live(this.all()), (i) => this.nbrs(i), this.t));
      case 'encaps':
        return nonEmpty(thresholdCore(live(s.keyed.keys()), (i) => s.keyed.get(i) ?? [], this.t));
      case 'shares':
        return nonEmpty(thresholdCore(live(s.paired.keys()), (i) => s.paired.get(i) ?? [], this.t));
      case 'masked': {
        const u3 = new Set(live(s.partners.keys()));
        return u3.size > 0 && infeasible(s.partners, planUnmask(s.partners, u3), this.t, (i) => u3.has(i)) === undefined;
      }
      case 'survivors':
        return enoughRepliesPossible(s.requests, new Set(s.survivorSignatures.keys()), gone, s.masked.keys(), this.t);
      case 'unmask':
        return enoughRepliesPossible(s.requests, new Set(s.replies.keys()), gone, s.masked.keys(), this.t);
      case 'done':
        return this.result?.ok === true;
      case 'failed':
        return false;
    }
  }

  /** Give up (e.g. the round was cancelled): the group fails and forgets everything it holds. */
  abort(reason: string): void {
    if (this.s.stage === 'done' || this.s.stage === 'failed') return;
    this.fail(reason);
  }

  // ---- internals ----

  /** Judge `complainer`'s complaint about `accused` (blame.ts) and drop whoever is at fault. */
  private judge(complainer: number, accused: number, evidence: Uint8Array): void {
    const s = this.s;
    this.blame(
      judgeComplaint({
        round: this.round,
        group: s.params.group,
        complainer,
        accused,
        evidence,
        accusedSharePublicKey: s.publicKeys.get(accused)?.subarray(ML_KEM768_PUBLIC_KEY_BYTES),
        shareCipherText: s.shareCipherTexts.get(complainer)?.get(accused),
        sealed: s.sealed.get(accused)?.get(complainer),
        commitments: s.shareCommitments.get(accused)?.get(complainer),
      }),
    );
  }

  /** A member's registered identity key. */
  private identityKey(index: number): Uint8Array {
    return this.s.params.identityKeys[index - 1] as Uint8Array;
  }

  /** BAD_SIGNATURE (the message is refused and its sender blamed) unless `valid`. */
  private requireSigned(index: number, kind: string, valid: boolean): void {
    if (valid) return;
    const detail = `${kind} is not signed by its identity key`;
    this.blame({ culprit: index, kind: 'bad-signature', detail });
    throw new FedwardenError('BAD_SIGNATURE', `${kind}: not signed by member ${index}'s identity key`);
  }

  private blame(b: GroupBlame): void {
    this.s.blamed.push(b);
    this.s.culprits.add(b.culprit);
  }

  private get t(): number {
    return this.s.params.threshold;
  }

  private get round(): number {
    return this.s.params.round;
  }

  private all(): number[] {
    return Array.from({ length: this.s.n }, (_, i) => i + 1);
  }

  private nbrs(index: number): readonly number[] {
    return this.s.neighbours[index] ?? [];
  }

  private member(index: number): void {
    if (!Number.isInteger(index) || index < 1 || index > this.s.n) {
      throw new FedwardenError('UNEXPECTED_MESSAGE', `SecaggGroup: ${String(index)} is not a member index`);
    }
  }

  /** Common checks of accept*: stage, member, expected in this stage, kind, round, first answer. */
  private accepting(
    stage: GroupStageName,
    index: number,
    msg: { readonly kind: string; readonly round: number },
    kind: string,
    expected: Iterable<number>,
    answered: ReadonlyMap<number, unknown>,
  ): void {
    if (this.s.stage !== stage) throw new FedwardenError('UNEXPECTED_MESSAGE', `${kind} in stage ${this.s.stage}`);
    this.member(index);
    if (msg?.kind !== kind) throw new FedwardenError('UNEXPECTED_MESSAGE', `expected ${kind}, got ${String(msg?.kind)}`);
    if (msg.round !== this.round) throw new FedwardenError('UNEXPECTED_MESSAGE', `${kind}: round ${msg.round}, expected ${this.round}`);
    if (!new Set(expected).has(index)) throw new FedwardenError('UNEXPECTED_MESSAGE', `${kind}: member ${index} is not in this stage`);
    if (answered.has(index)) throw new FedwardenError('UNEXPECTED_MESSAGE', `${kind}: member ${index} already answered`);
  }

  /**
   * Whether stage `stage` can be closed now: true in that stage, false once the group has failed (so that the
   * orchestrator's remaining calls fall through to finish()), and UNEXPECTED_MESSAGE out of order.
   */
  private closing(stage: GroupStageName): boolean {
    if (this.s.stage === 'failed') return false;
    if (this.s.stage !== stage) throw new FedwardenError('UNEXPECTED_MESSAGE', `SecaggGroup: cannot close ${stage} in stage ${this.s.stage}`);
    return true;
  }

  /** Move past `stage`; an empty relay means nobody can go on, and the group fails with `why`. */
  private advance<T>(stage: GroupStageName, out: Map<number, T>, why: string): Map<number, T> {
    if (out.size === 0) {
      this.fail(why || `no member can continue after ${stage}`);
      return out;
    }
    this.s.stage = nextGroupStage(stage);
    return out;
  }

  private fail(reason: string): void {
    this.s.stage = 'failed';
    this.s.failure = reason;
    this.forget();
  }

  private conclude(result: SecaggResult): SecaggResult {
    this.result = result;
    if (result.ok) this.s.stage = 'done';
    else if (this.s.stage !== 'failed') {
      this.s.stage = 'failed';
      this.s.failure = result.reason;
    }
    this.forget();
    return result;
  }

  /** Drop everything but keys' metadata (which the orchestrator reads after the fact). */
  private forget(): void {
    const s = this.s;
    for (const r of s.replies.values()) for (const b of [...r.selfShares.values(), ...r.masterShares.values(), ...r.maskSeeds.values()]) b.fill(0);
    s.replies.clear();
    s.masked.clear();
    s.sealed.clear();
    s.shareCommitments.clear();
    s.seedCommitments.clear();
    s.cipherTexts.clear();
    s.shareCipherTexts.clear();
    s.signedKeys.clear();
    s.encapsAttestations.clear();
    s.sharesAttestations.clear();
    s.survivorSignatures.clear();
  }
}

function push(m: Map<number, ShamirShare[]>, key: number, share: ShamirShare): void {
  const list = m.get(key);
  if (list) list.push(share);
  else m.set(key, [share]);
}
