/**
 * Admission control for the participants' port, counted from TCP accept: which sockets may be open, so that
 * stalled handshakes cannot lock enrolled participants out. A socket is unauthenticated from accept (before and
 * after its WebSocket upgrade) until its hello is accepted, then authenticated.
 *
 * - At most `maxConnections` sockets in all.
 * - Unauthenticated sockets cannot take the reserved share (`reservedShare` of maxConnections): that room is
 *   kept for authenticated participants.
 * - At most `maxUnauthenticatedPerAddress` unauthenticated sockets per address key (address-key.ts: IPv4
 *   address, IPv6 /64), so that one host cannot hold the unauthenticated room by itself. A trusted proxy's
 *   socket is exempt until it is re-keyed to its client's address at upgrade (`rekey`).
 * - When a newcomer finds its address's quota full, it displaces that address's oldest socket if it has been
 *   unauthenticated for `displaceAfterMs`. When it finds the unauthenticated room full, it displaces the oldest
 *   such socket of the address holding the most unauthenticated sockets, and only if that address holds more
 *   than the newcomer's own (fair share: addresses that hold equal shares of the room cannot keep displacing
 *   each other to keep it young, while a newcomer holding less can always take from the largest holder). Only
 *   when nothing may be displaced is the newcomer refused (RATE_LIMITED for its address's quota, FULL otherwise).
 * - A stall is remembered against its address (in the spirit of OpenSSH's PerSourcePenalties): a socket that
 *   timed out, or that went away unauthenticated after displaceAfterMs (closed, or replaced by a newer socket of
 *   its own address), bars its address from displacing anyone for `stallPenaltyMs`. A socket displaced by
 *   another address is never held against its own: an honest participant whose handshake was slow may retry at
 *   once. A barred address may still take free room.
 *
 * Pure bookkeeping over an injected (monotonic) clock; the caller closes sockets (a displaced slot's `onDisplaced`).
 */
import { FedwardenError } from '@fedwarden/shared';
import type { Clock } from './token-bucket.ts';

export interface AdmissionLimits {
  /** Most sockets open at once, whatever their stage. */
  readonly maxConnections: number;
  /** Share of maxConnections, in [0, 1), that unauthenticated sockets cannot take. */
  readonly reservedShare: number;
  /** Most unauthenticated sockets per address key; 0: no per-address limit. */
  readonly maxUnauthenticatedPerAddress: number;
  /** How long a socket must have been unauthenticated before a newcomer may displace it, ms. */
  readonly displaceAfterMs: number;
  /** How long an address whose socket stalled may not displace others, ms. */
  readonly stallPenaltyMs: number;
}

/** Where a socket stands: admitted but not upgraded to WebSocket, upgraded but not past its hello, or past it. */
export type AdmissionStage = 'pre-upgrade' | 'unauthenticated' | 'authenticated';
export const ADMISSION_STAGES: readonly AdmissionStage[] = ['pre-upgrade', 'unauthenticated', 'authenticated'];

/** Why an unauthenticated socket went away: only a timeout or a close may bar its address (see the header). */
export type ReleaseReason = 'closed' | 'timeout';

/** One admitted socket's place. `onDisplaced` closes it (with the error given) when a newcomer takes its place. */
export class AdmissionSlot {
  stage: AdmissionStage = 'pre-upgrade';
  released = false;

  constructor(
    /** The address key it counts under; a trusted proxy's socket changes it once at upgrade. */
    public key: string,
    readonly openedAt: number,
    public onDisplaced: (err: FedwardenError) => void,
    /** A trusted proxy's socket not yet re-keyed: no per-address quota, never barred. */
    public viaProxy = false,
  ) {}

  get authenticated(): boolean {
    return this.stage === 'authenticated';
  }
}

export type AdmissionDecision =
  | { readonly admitted: true; readonly slot: AdmissionSlot }
  | { readonly admitted: false; readonly error: FedwardenError };

export class Admission {
  /** Unauthenticated slots in the order they opened (a Set iterates in insertion order): the first is the oldest. */
  private readonly unauthenticated = new Set<AdmissionSlot>();
  private readonly byKey = new Map<string, Set<AdmissionSlot>>();
  private readonly stageCounts: Record<AdmissionStage, number> = { 'pre-upgrade': 0, unauthenticated: 0, authenticated: 0 };
  /**
   * Addresses barred from displacing, and until when. Re-inserted on each stall, so that the map is in order of
   * expiry (the clock is monotonic) and expired entries are pruned from its front.
   */
  private readonly barredUntil = new Map<string, number>();
  /** maxConnections less the reserved share, at least 1. */
  readonly maxUnauthenticated: number;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly clock: Clock = () => performance.now(),
  ) {
    const { maxConnections, reservedShare, maxUnauthenticatedPerAddress, displaceAfterMs, stallPenaltyMs } = limits;
    if (!(Number.isSafeInteger(maxConnections) && maxConnections >= 1)) throw new FedwardenError('BAD_CONFIG', `Admission: maxConnections ${maxConnections}`);
    if (!(reservedShare >= 0 && reservedShare < 1)) throw new FedwardenError('BAD_CONFIG', `Admission: reservedShare ${reservedShare} not in [0, 1)`);
    if (!(Number.isSafeInteger(maxUnauthenticatedPerAddress) && maxUnauthenticatedPerAddress >= 0)) {
      throw new FedwardenError('BAD_CONFIG', `Admission: maxUnauthenticatedPerAddress ${maxUnauthenticatedPerAddress}`);
    }
    if (!(displaceAfterMs >= 0)) throw new FedwardenError('BAD_CONFIG', `Admission: displaceAfterMs ${displaceAfterMs}`);
    if (!(stallPenaltyMs >= 0)) throw new FedwardenError('BAD_CONFIG', `Admission: stallPenaltyMs ${stallPenaltyMs}`);
    this.maxUnauthenticated = Math.max(1, maxConnections - Math.floor(maxConnections * reservedShare));
  }

  get unauthenticatedCount(): number {
    return this.unauthenticated.size;
  }

  get authenticatedCount(): number {
    return this.stageCounts.authenticated;
  }

  get total(): number {
    return this.unauthenticated.size + this.stageCounts.authenticated;
  }

  /** Open sockets by stage (pre-upgrade and unauthenticated together are unauthenticatedCount). */
  stages(): Readonly<Record<AdmissionStage, number>> {
    return { ...this.stageCounts };
  }

  /**
   * A new socket from `key`: its slot (after displacing a stalled socket if need be), or why it is refused.
   * `viaProxy`: the socket comes from a trusted proxy and counts under the proxy's key, without a per-address
   * quota, until `rekey` names its client.
   */
  open(key: string, onDisplaced: (err: FedwardenError) => void, viaProxy = false): AdmissionDecision {
    const now = this.clock();
    const { maxConnections, maxUnauthenticatedPerAddress: perAddress } = this.limits;
    const mayDisplace = viaProxy || !this.barred(key, now);
    if (!viaProxy && perAddress > 0 && this.countOf(key) >= perAddress && !(mayDisplace && this.displaceOwn(key, now))) {
      return refuse('RATE_LIMITED', `more than ${perAddress} connections from one address are still handshaking`);
    }
    const full = this.total >= maxConnections;
    if ((full || this.unauthenticated.size >= this.maxUnauthenticated) && !(mayDisplace && this.displaceFromLargest(key, now))) {
      return refuse(
        'FULL',
        full ? `at most ${maxConnections} connections` : `at most ${this.maxUnauthenticated} connections may be handshaking (the rest are kept for participants)`,
      );
    }
    const slot = new AdmissionSlot(key, now, onDisplaced, viaProxy);
    this.unauthenticated.add(slot);
    this.group(key).add(slot);
    this.stageCounts['pre-upgrade']++;
    return { admitted: true, slot };
  }

  /**
   * A trusted proxy's socket named its client at upgrade: from now on it counts under `key`, with that
   * address's quota (displacing that address's own stalled socket if it must). The error when the quota is full.
   */
  rekey(slot: AdmissionSlot, key: string): FedwardenError | undefined {
    if (slot.released || slot.authenticated || !slot.viaProxy) return undefined;
    this.ungroup(slot);
    slot.viaProxy = false;
    const perAddress = this.limits.maxUnauthenticatedPerAddress;
    const now = this.clock();
    if (perAddress > 0 && this.countOf(key) >= perAddress && !(!this.barred(key, now) && this.displaceOwn(key, now))) {
      slot.key = key;
      this.drop(slot); // refused, not stalled: no penalty
      return new FedwardenError('RATE_LIMITED', `more than ${perAddress} connections from one address are still handshaking`);
    }
    slot.key = key;
    this.group(key).add(slot);
    return undefined;
  }

  /** The slot's WebSocket upgrade completed. */
  upgraded(slot: AdmissionSlot): void {
    if (slot.released || slot.stage !== 'pre-upgrade') return;
    this.setStage(slot, 'unauthenticated');
  }

  /** The slot's hello was accepted: it leaves the unauthenticated room and its address's quota. */
  authenticate(slot: AdmissionSlot): void {
    if (slot.released || slot.authenticated) return;
    this.forget(slot);
    this.setStage(slot, 'authenticated');
  }

  /**
   * The socket closed, or timed out (idempotent; a displaced slot is already released). An unauthenticated socket
   * that timed out, or closed after displaceAfterMs, bars its address from displacing for stallPenaltyMs.
   */
  release(slot: AdmissionSlot, why: ReleaseReason = 'closed'): void {
    if (slot.released) return;
    const now = this.clock();
    const stalled = !slot.authenticated && (why === 'timeout' || Math.max(0, now - slot.openedAt) >= this.limits.displaceAfterMs);
    this.drop(slot);
    if (stalled) this.penalize(slot, now);
  }

  /** Whether `key` stalled a socket within stallPenaltyMs (and so may not displace). */
  barred(key: string, now: number = this.clock()): boolean {
    for (const [k, until] of this.barredUntil) {
      if (until > now) break;
      this.barredUntil.delete(k);
    }
    return (this.barredUntil.get(key) ?? 0) > now;
  }

  private group(key: string): Set<AdmissionSlot> {
    let group = this.byKey.get(key);
    if (!group) this.byKey.set(key, (group = new Set()));
    return group;
  }

  private countOf(key: string): number {
    return this.byKey.get(key)?.size ?? 0;
  }

  private setStage(slot: AdmissionSlot, stage: AdmissionStage): void {
    this.stageCounts[slot.stage]--;
    slot.stage = stage;
    this.stageCounts[stage]++;
  }

  private drop(slot: AdmissionSlot): void {
    slot.released = true;
    this.stageCounts[slot.stage]--;
    this.forget(slot);
  }

  private penalize(slot: AdmissionSlot, now: number): void {
    if (slot.viaProxy || this.limits.stallPenaltyMs <= 0) return;
    this.barredUntil.delete(slot.key);
    this.barredUntil.set(slot.key, now + this.limits.stallPenaltyMs);
  }

  private ungroup(slot: AdmissionSlot): void {
    const group = this.byKey.get(slot.key);
    group?.delete(slot);
    if (group?.size === 0) this.byKey.delete(slot.key);
  }

  private forget(slot: AdmissionSlot): void {
    this.unauthenticated.delete(slot);
    this.ungroup(slot);
  }

  /** `key` is at its quota: replace its own oldest socket if that has stalled. The address gave up on it: a stall. */
  private displaceOwn(key: string, now: number): boolean {
    const oldest = oldestOf(this.byKey.get(key));
    if (!oldest || !this.oldEnough(oldest, now)) return false;
    this.displace(oldest, now, 'a newer connection from the same address');
    this.penalize(oldest, now);
    return true;
  }

  /**
   * The room is full: displace the oldest stalled socket of the address holding the most unauthenticated
   * sockets (ties: the older socket), if that address holds more than the newcomer's. Not a stall of the victim's.
   */
  private displaceFromLargest(newcomer: string, now: number): boolean {
    const own = this.countOf(newcomer);
    let victim: AdmissionSlot | undefined;
    let victimCount = own;
    for (const [key, group] of this.byKey) {
      if (key === newcomer || group.size <= own || group.size < victimCount) continue;
      const oldest = oldestOf(group);
      if (!oldest || !this.oldEnough(oldest, now)) continue;
      if (!victim || group.size > victimCount || oldest.openedAt < victim.openedAt) {
        victim = oldest;
        victimCount = group.size;
      }
    }
    if (!victim) return false;
    this.displace(victim, now, 'a newer connection');
    return true;
  }

  private oldEnough(slot: AdmissionSlot, now: number): boolean {
    return Math.max(0, now - slot.openedAt) >= this.limits.displaceAfterMs;
  }

  private displace(slot: AdmissionSlot, now: number, by: string): void {
    this.drop(slot);
    slot.onDisplaced(new FedwardenError('FULL', `displaced by ${by}: not authenticated after ${Math.round(now - slot.openedAt)} ms`));
  }
}

/** The longest-open slot of a group (re-keyed slots join a group late, so insertion order is not enough). */
function oldestOf(group: ReadonlySet<AdmissionSlot> | undefined): AdmissionSlot | undefined {
  let oldest: AdmissionSlot | undefined;
  for (const slot of group ?? []) if (!oldest || slot.openedAt < oldest.openedAt) oldest = slot;
  return oldest;
}

function refuse(code: 'FULL' | 'RATE_LIMITED', message: string): AdmissionDecision {
  return { admitted: false, error: new FedwardenError(code, message) };
}
