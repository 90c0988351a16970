/**
 * Admission control for the participants' port, counted from TCP accept: which sockets may be open, so that
 * stalled handshakes cannot lock enrolled participants out. A socket is unauthenticated from accept (before and
 * after its WebSocket upgrade) until its hello is accepted, then authenticated.
 *
 * - At most `maxConnections` sockets in all.
 * - Unauthenticated sockets cannot take the reserved share (`reservedShare` of maxConnections): that room is
 *   kept for authenticated participants.
 * - At most `maxUnauthenticatedPerAddress` unauthenticated sockets per address key (address-key.ts: IPv4
 *   address, IPv6 /64), so that one host cannot hold the unauthenticated room by itself.
 * - When a newcomer finds its address's quota or the unauthenticated room full, it displaces the oldest socket
 *   there that has been unauthenticated for `displaceAfterMs` (an honest handshake takes milliseconds), rather
 *   than being refused. Only when nothing there is that old is the newcomer refused (RATE_LIMITED for its
 *   address's quota, FULL otherwise).
 * - A stall is remembered against its address (in the spirit of OpenSSH's PerSourcePenalties): a socket that
 *   was unauthenticated for displaceAfterMs and then went away without authenticating (displaced, timed out,
 *   closed) bars its address from displacing anyone for `stallPenaltyMs`. Without it, an attacker that reopens
 *   each refused socket at once would displace its own sockets as soon as they are old enough and keep the room
 *   young, so that an honest newcomer rarely found one to displace; with it, the attacker's addresses soon
 *   stop displacing, its sockets age, and honest newcomers displace them. A barred address may still take free
 *   room (an honest host behind the same NAT is not shut out of a coordinator that has space).
 *
 * Pure bookkeeping over an injected clock; the caller closes sockets (a displaced slot's `onDisplaced`).
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

/** One admitted socket's place. `onDisplaced` closes it (with the error given) when a newcomer takes its place. */
export class AdmissionSlot {
  authenticated = false;
  released = false;

  constructor(
    readonly key: string,
    readonly openedAt: number,
    public onDisplaced: (err: FedwardenError) => void,
  ) {}
}

export type AdmissionDecision =
  | { readonly admitted: true; readonly slot: AdmissionSlot }
  | { readonly admitted: false; readonly error: FedwardenError };

export class Admission {
  /** Unauthenticated slots in the order they opened (a Set iterates in insertion order): the first is the oldest. */
  private readonly unauthenticated = new Set<AdmissionSlot>();
  private readonly byKey = new Map<string, Set<AdmissionSlot>>();
  private authenticatedSlots = 0;
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
    return this.authenticatedSlots;
  }

  get total(): number {
    return this.unauthenticated.size + this.authenticatedSlots;
  }

  /** A new socket from `key`: its slot (after displacing a stalled socket if need be), or why it is refused. */
  open(key: string, onDisplaced: (err: FedwardenError) => void): AdmissionDecision {
    const now = this.clock();
    const { maxConnections, maxUnauthenticatedPerAddress: perAddress } = this.limits;
    const mayDisplace = !this.barred(key, now);
    const mine = this.byKey.get(key);
    if (perAddress > 0 && mine && mine.size >= perAddress && !(mayDisplace && this.displaceOldest(mine, now, 'a newer connection from the same address'))) {
      return refuse('RATE_LIMITED', `more than ${perAddress} connections from one address are still handshaking`);
    }
    const full = this.total >= maxConnections;
    if ((full || this.unauthenticated.size >= this.maxUnauthenticated) && !(mayDisplace && this.displaceOldest(this.unauthenticated, now, 'a newer connection'))) {
      return refuse(
        'FULL',
        full ? `at most ${maxConnections} connections` : `at most ${this.maxUnauthenticated} connections may be handshaking (the rest are kept for participants)`,
      );
    }
    const slot = new AdmissionSlot(key, now, onDisplaced);
    this.unauthenticated.add(slot);
    if (mine) mine.add(slot);
    else this.byKey.set(key, new Set([slot]));
    return { admitted: true, slot };
  }

  /** The slot's hello was accepted: it leaves the unauthenticated room and its address's quota. */
  authenticate(slot: AdmissionSlot): void {
    if (slot.released || slot.authenticated) return;
    this.forget(slot);
    slot.authenticated = true;
    this.authenticatedSlots++;
  }

  /** The socket closed (idempotent; a displaced slot is already released). */
  release(slot: AdmissionSlot): void {
    if (slot.released) return;
    slot.released = true;
    if (slot.authenticated) {
      this.authenticatedSlots--;
      return;
    }
    this.forget(slot);
    const now = this.clock();
    if (now - slot.openedAt >= this.limits.displaceAfterMs && this.limits.stallPenaltyMs > 0) {
      this.barredUntil.delete(slot.key);
      this.barredUntil.set(slot.key, now + this.limits.stallPenaltyMs);
    }
  }

  /** Whether `key` stalled a socket within stallPenaltyMs (and so may not displace). */
  barred(key: string, now: number = this.clock()): boolean {
    for (const [k, until] of this.barredUntil) {
      if (until > now) break;
      this.barredUntil.delete(k);
    }
    return (this.barredUntil.get(key) ?? 0) > now;
  }

  private forget(slot: AdmissionSlot): void {
    this.unauthenticated.delete(slot);
    const group = this.byKey.get(slot.key);
    group?.delete(slot);
    if (group?.size === 0) this.byKey.delete(slot.key);
  }

  /** Release the oldest slot of `group` if it has been unauthenticated for displaceAfterMs, and tell its socket. */
  private displaceOldest(group: ReadonlySet<AdmissionSlot>, now: number, by: string): boolean {
    const oldest = group.values().next().value;
    if (oldest === undefined || now - oldest.openedAt < this.limits.displaceAfterMs) return false;
    this.release(oldest);
    oldest.onDisplaced(new FedwardenError('FULL', `displaced by ${by}: not authenticated after ${Math.round(now - oldest.openedAt)} ms`));
    return true;
  }
}

function refuse(code: 'FULL' | 'RATE_LIMITED', message: string): AdmissionDecision {
  return { admitted: false, error: new FedwardenError(code, message) };
}
