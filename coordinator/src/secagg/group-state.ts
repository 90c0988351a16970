/**
 * The one explicit state object of a secure group's SecAgg+ run on the coordinator (group-protocol.ts), its
 * stage order, parameter checks, and the pruning rule that keeps every member in play with ≥ t partners.
 */
import { FedwardenError, IDENTITY_KEY_BYTES, type IndexedBytes } from '@fedwarden/shared';
import type { GroupBlame } from './blame.ts';

/** Stages in order: the messages the group accepts now. */
export const GROUP_STAGES = ['keys', 'encaps', 'shares', 'masked', 'survivors', 'unmask'] as const;
export type GroupStageName = (typeof GROUP_STAGES)[number];
export type GroupStage = GroupStageName | 'done' | 'failed';

export interface SecaggGroupParams {
  readonly round: number;
  readonly group: number;
  /** Participant ids; a member's index is its position + 1. */
  readonly memberIds: readonly string[];
  /** Each member's registered ML-DSA-65 identity public key, in the order of memberIds. */
  readonly identityKeys: readonly Uint8Array[];
  /** Adjacency lists, 1-based: graph[i] are the neighbours of member i; graph[0] is empty. */
  readonly graph: readonly (readonly number[])[];
  readonly threshold: number;
  readonly clip: number;
  readonly bits: number;
  /** Words in a masked input (the adapter's parameter count). */
  readonly dim: number;
}

export interface MemberMetadata {
  readonly numSamples: number;
  readonly meanLoss: number;
  readonly trainMs: number;
}

export interface UnmaskRequest {
  readonly survivors: readonly number[];
  readonly dropped: readonly number[];
}

/** What one survivor revealed at unmask, by the partner it is about. */
export interface UnmaskReply {
  readonly selfShares: Map<number, Uint8Array>;
  readonly masterShares: Map<number, Uint8Array>;
  /** The mask seed it shares with each dropped partner. */
  readonly maskSeeds: Map<number, Uint8Array>;
}

export interface GroupState {
  readonly params: SecaggGroupParams;
  readonly n: number;
  /** Sorted neighbours of each index (index 0 unused). */
  readonly neighbours: readonly (readonly number[])[];
  stage: GroupStage;
  failure: string | undefined;
  /** Stage keys: each member's mask public key followed by its share public key (SECAGG_PUBLIC_KEYS_BYTES). */
  readonly publicKeys: Map<number, Uint8Array>;
  /** Stage keys: the same keys with the commitments and the member's signature, as relayed (SECAGG_PEER_KEYS_BYTES). */
  readonly signedKeys: Map<number, Uint8Array>;
  readonly metadata: Map<number, MemberMetadata>;
  /** Stage keys: each member's commitments to its self-mask seed b and its pairwise master P. */
  readonly commitments: Map<number, { readonly self: Uint8Array; readonly master: Uint8Array }>;
  /** R1: members sent saPeerKeys, with the neighbours whose keys they got. */
  readonly keyed: Map<number, readonly number[]>;
  /** Stage encaps: mask-key ciphertext ct[from][to] for from < to, kept for the unmasking of a dropped member. */
  readonly cipherTexts: Map<number, Map<number, Uint8Array>>;
  /** Stage encaps: share-key ciphertext from `from` to `to` (keys to's shares for from), kept to judge complaints. */
  readonly shareCipherTexts: Map<number, Map<number, Uint8Array>>;
  /** Stage encaps and shares: each sender's attestation (its signature over every recipient's item). */
  readonly encapsAttestations: Map<number, Uint8Array>;
  readonly sharesAttestations: Map<number, Uint8Array>;
  /** R2: members sent saPeerEncaps, with their paired neighbours (exactly as the member computes them). */
  readonly paired: Map<number, readonly number[]>;
  /** Stage shares: sealed[from][to], and from's commitments to the two shares inside (self || master). */
  readonly sealed: Map<number, Map<number, Uint8Array>>;
  readonly shareCommitments: Map<number, Map<number, Uint8Array>>;
  /** Stage shares: seedCommitments[from][to], from's commitment to the mask seed of the pair (commitPairSeed). */
  readonly seedCommitments: Map<number, Map<number, Uint8Array>>;
  /** R3: members sent saPeerShares, with their masking partners. */
  readonly partners: Map<number, readonly number[]>;
  /** Stage masked: U3's inputs, and whom each sender complained about (it did not mask with them). */
  readonly masked: Map<number, Uint32Array>;
  readonly complaints: Map<number, ReadonlySet<number>>;
  /** Members found at fault (each with its blame in `blamed`); those found in stage masked are out of U3. */
  readonly culprits: Set<number>;
  readonly blamed: GroupBlame[];
  /** From the close of masked: whom each survivor masked with, and for each dropped member the survivors that did. */
  readonly masking: Map<number, readonly number[]>;
  /** From the close of masked: U3, sorted, as every survivor is asked to sign it. */
  survivors: readonly number[];
  /** Consistency round: each survivor's signature over U3. */
  readonly survivorSignatures: Map<number, Uint8Array>;
  /** R4: survivors asked to unmask (from the close of survivors: only those shown t signatures). */
  readonly requests: Map<number, UnmaskRequest>;
  /** Stage unmask: each replier's shares and revealed mask seeds, by the member they are about. */
  readonly replies: Map<number, UnmaskReply>;
}

export function nextGroupStage(stage: GroupStageName): GroupStage {
  return GROUP_STAGES[GROUP_STAGES.indexOf(stage) + 1] ?? 'done';
}

/** Validate the parameters; returns the sorted neighbour lists. */
export function checkParams(p: SecaggGroupParams): number[][] {
  const bad = (why: string): never => {
    throw new FedwardenError('BAD_CONFIG', `SecaggGroup: ${why}`);
  };
  const u32 = (v: number): boolean => Number.isSafeInteger(v) && v >= 0 && v <= 0xffffffff;
  if (!u32(p.round)) bad(`round ${p.round} is not a u32`);
  if (!u32(p.group)) bad(`group ${p.group} is not a u32`);
  const n = p.memberIds.length;
  if (n < 2 || n > 255) bad(`${n} members, expected 2..255`);
  if (new Set(p.memberIds).size !== n) bad('member ids must be distinct');
  if (!Array.isArray(p.identityKeys) || p.identityKeys.length !== n || p.identityKeys.some((k) => !(k instanceof Uint8Array) || k.length !== IDENTITY_KEY_BYTES)) {
    bad(`each of the ${n} members needs a ${IDENTITY_KEY_BYTES}-byte identity key`);
  }
  if (p.graph.length !== n + 1 || (p.graph[0]?.length ?? 0) !== 0) bad(`graph must have ${n + 1} lists, the first empty`);
  const neighbours: number[][] = [[]];
  for (let i = 1; i <= n; i++) {
    const list = [...(p.graph[i] ?? [])].sort((a, b) => a - b);
    list.forEach((j, k) => {
      if (!Number.isInteger(j) || j < 1 || j > n || j === i) bad(`member ${i} has bad neighbour ${j}`);
      if (k > 0 && j === list[k - 1]) bad(`member ${i} lists neighbour ${j} twice`);
    });
    neighbours.push(list);
  }
  for (let i = 1; i <= n; i++) {
    for (const j of neighbours[i] as number[]) if (!(neighbours[j] as number[]).includes(i)) bad(`graph is not symmetric at ${i}–${j}`);
  }
  const degrees = neighbours.slice(1).map((l) => l.length);
  const minDegree = Math.min(...degrees);
  const maxDegree = Math.max(...degrees);
  if (!Number.isInteger(p.threshold) || p.threshold < 1 || p.threshold > minDegree) {
    bad(`threshold ${p.threshold} not in 1..${minDegree} (the smallest degree)`);
  }
  // Members refuse a setup with 2t <= degree (client-state.ts checkSetup): fail here, loudly, instead.
  if (2 * p.threshold <= maxDegree) bad(`threshold ${p.threshold} must be more than half the largest degree ${maxDegree}`);
  if (!(Number.isFinite(p.clip) && p.clip > 0)) bad('clip must be finite and > 0');
  if (!Number.isInteger(p.bits) || p.bits < 1 || p.bits > 32) bad(`bits ${p.bits} not in 1..32`);
  if (!Number.isSafeInteger(p.dim) || p.dim < 1) bad(`dim ${p.dim} must be a positive integer`);
  return neighbours;
}

/**
 * The largest subset of `candidates` in which every member has ≥ t neighbours (the t-core): a member with
 * fewer could not have its secrets recovered from t partners, would refuse the next stage, and would take
 * the group down with it, so it is treated as dropped now, before anyone depends on it.
 */
export function thresholdCore(
  candidates: Iterable<number>,
  adjacent: (i: number) => readonly number[],
  t: number,
): Set<number> {
  const core = new Set(candidates);
  for (let changed = true; changed; ) {
    changed = false;
    for (const i of [...core]) {
      if (adjacent(i).filter((j) => core.has(j)).length < t) {
        core.delete(i);
        changed = true;
      }
    }
  }
  return core;
}

export function sortedSet(s: Iterable<number>): number[] {
  return [...s].sort((a, b) => a - b);
}

/**
 * A member's index-addressed list: indices exactly `expected` (no more, no fewer, none twice; with `subset`,
 * any of them), each blob `size` bytes. Returns a map index → bytes.
 */
export function checkAddressed(
  entries: readonly IndexedBytes[],
  expected: readonly number[],
  size: number,
  what: string,
  subset = false,
): Map<number, Uint8Array> {
  if (!Array.isArray(entries)) throw new FedwardenError('BAD_FRAME', `${what}: entries must be an array`);
  const allowed = new Set(expected);
  const out = new Map<number, Uint8Array>();
  for (const e of entries) {
    if (!e || !allowed.has(e.index) || out.has(e.index)) {
      throw new FedwardenError('UNEXPECTED_MESSAGE', `${what}: index ${String(e?.index)} not allowed or repeated`);
    }
    if (!(e.bytes instanceof Uint8Array) || e.bytes.length !== size) {
      throw new FedwardenError('BAD_FRAME', `${what}: entry ${e.index} must be ${size} bytes`);
    }
    out.set(e.index, e.bytes);
  }
  if (!subset && out.size !== allowed.size) {
    const missing = expected.filter((j) => !out.has(j));
    throw new FedwardenError('UNEXPECTED_MESSAGE', `${what}: missing entries for ${missing.join(', ')}`);
  }
  return out;
}
