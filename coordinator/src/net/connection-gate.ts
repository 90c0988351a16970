/**
 * The participants' port's door: every TCP socket is admitted (admission.ts) the moment it is accepted, before
 * its HTTP request is read, and must finish its WebSocket upgrade within `upgradeTimeoutMs`. A socket refused
 * at accept, displaced by a newcomer, or too slow to upgrade gets a one-line HTTP answer with its stable code
 * (503 FULL, 429 RATE_LIMITED, 408 TIMEOUT, and the code in an X-Fedwarden-Error header) and is closed; once
 * upgraded, a displaced connection is closed with its WebSocket close code instead. Every refusal is counted
 * by the NetObserver under its code.
 *
 * A socket from a trusted proxy (`trustedProxies`) counts under the proxy's address without a per-address
 * quota until its upgrade request arrives; it is then re-keyed to the client its X-Forwarded-For names
 * (trusted-proxies.ts). No other peer's X-Forwarded-For is read.
 *
 * Node's own limits on unfinished requests (headersTimeout, requestTimeout) are checked only every 30 s
 * (connectionsCheckingInterval), so a per-socket timer does the work; they are set to the same value as a backstop.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { FedwardenError, REFUSAL_HEADER, REFUSAL_STATUS, closeReason, isRefusalCode } from '@fedwarden/shared';
import { addressKey } from './address-key.ts';
import { Admission, type AdmissionLimits, type AdmissionSlot } from './admission.ts';
import type { NetObserver } from './net-observer.ts';
import type { ParticipantConnection } from './participant-connection.ts';
import { TrustedProxies } from './trusted-proxies.ts';

export interface GateLimits extends AdmissionLimits {
  /** Time from TCP accept to a completed WebSocket upgrade, ms. */
  readonly upgradeTimeoutMs: number;
  /** Reverse proxies (addresses, CIDR ranges) whose X-Forwarded-For names the client. Default: none. */
  readonly trustedProxies?: readonly string[];
}

/** A refused socket is given this long to read its answer before it is destroyed, ms. */
const REFUSED_LINGER_MS = 1_000;
/** Past this many refused sockets lingering at once (a connection flood), new ones are destroyed without an answer. */
const MAX_LINGERING = 1_000;

interface Pending {
  readonly slot: AdmissionSlot;
  timer: NodeJS.Timeout | undefined;
  immediate: NodeJS.Immediate | undefined;
  /** It carried a plain HTTP request: a refusal must not write into that exchange, only close. */
  servedHttp: boolean;
}

export class ConnectionGate {
  readonly admission: Admission;
  /** Admitted sockets that have not completed their upgrade yet. */
  private readonly pending = new Map<Socket, Pending>();
  private readonly upgradedSlots = new WeakMap<ParticipantConnection, AdmissionSlot>();
  private readonly proxies: TrustedProxies;
  private lingering = 0;

  constructor(
    private readonly limits: GateLimits,
    private readonly observer: NetObserver,
  ) {
    if (!(Number.isFinite(limits.upgradeTimeoutMs) && limits.upgradeTimeoutMs > 0)) {
      throw new FedwardenError('BAD_CONFIG', `ConnectionGate: upgradeTimeoutMs ${limits.upgradeTimeoutMs}`);
    }
    this.proxies = new TrustedProxies(limits.trustedProxies ?? []);
    this.admission = new Admission(limits);
    observer.admissionStages(() => this.admission.stages());
  }

  /** Admit every socket `http` accepts (its 'connection' listener runs before any byte is parsed). */
  attach(http: Server): void {
    http.headersTimeout = this.limits.upgradeTimeoutMs;
    http.requestTimeout = this.limits.upgradeTimeoutMs;
    http.on('connection', (socket: Socket) => this.accept(socket));
    // A plain HTTP request (a load balancer's /healthz) is not a stalled upgrade: Node's request timeouts and its
    // keep-alive timeout end such a socket, which still counts as unauthenticated until it closes.
    http.on('request', (req: IncomingMessage) => {
      const entry = this.pending.get(req.socket);
      if (!entry) return;
      stopTimer(entry);
      entry.servedHttp = true;
    });
  }

  /**
   * ws completed the upgrade of `socket` (request `req`): from now on `conn` owns it (displacing it fails `conn`).
   * A trusted proxy's socket is re-keyed to its client here; over that client's quota, `conn` is failed.
   */
  upgraded(socket: Socket, conn: ParticipantConnection, req: IncomingMessage): void {
    const entry = this.pending.get(socket);
    if (!entry) return;
    this.settle(socket, entry);
    const { slot } = entry;
    slot.onDisplaced = (err) => conn.fail(err);
    this.upgradedSlots.set(conn, slot);
    this.admission.upgraded(slot);
    if (slot.viaProxy) {
      const client = this.proxies.clientOf(req.headers['x-forwarded-for']);
      // No usable client address: the socket counts under its proxy's address, with the ordinary quota.
      const refused = this.admission.rekey(slot, client === undefined ? slot.key : addressKey(client));
      if (refused) conn.fail(refused);
    }
  }

  /** `conn`'s hello was accepted: it no longer counts as unauthenticated. */
  authenticated(conn: ParticipantConnection): void {
    const slot = this.upgradedSlots.get(conn);
    if (slot) this.admission.authenticate(slot);
  }

  private accept(socket: Socket): void {
    const viaProxy = this.proxies.has(socket.remoteAddress);
    const key = addressKey(socket.remoteAddress);
    const decision = this.admission.open(viaProxy ? `proxy ${key}` : key, (err) => {
      // Displaced before its upgrade by a newcomer.
      const entry = this.pending.get(socket);
      if (entry) this.settle(socket, entry);
      if (entry?.servedHttp) {
        this.observer.rejected(err.code);
        socket.destroy();
      } else this.refuse(socket, err);
    }, viaProxy);
    if (!decision.admitted) {
      this.refuse(socket, decision.error);
      return;
    }
    const { slot } = decision;
    const entry: Pending = { slot, timer: undefined, immediate: undefined, servedHttp: false };
    entry.timer = setTimeout(() => {
      // The event loop may have been busy: let reads that queued meanwhile (the upgrade itself) run first.
      entry.immediate = setImmediate(() => {
        if (this.pending.get(socket) !== entry) return;
        this.settle(socket, entry);
        this.admission.release(slot, 'timeout');
        this.refuse(socket, new FedwardenError('TIMEOUT', `no WebSocket upgrade within ${this.limits.upgradeTimeoutMs} ms`));
      });
    }, this.limits.upgradeTimeoutMs).unref();
    this.pending.set(socket, entry);
    socket.once('close', () => {
      const current = this.pending.get(socket);
      if (current) this.settle(socket, current);
      this.admission.release(slot);
    });
  }

  private settle(socket: Socket, entry: Pending): void {
    stopTimer(entry);
    this.pending.delete(socket);
  }

  /** Answer a socket that never upgraded with its code, and close it. */
  private refuse(socket: Socket, err: FedwardenError): void {
    this.observer.rejected(err.code);
    if (socket.destroyed) return;
    if (!socket.writable || this.lingering >= MAX_LINGERING) {
      socket.destroy();
      return;
    }
    const body = `${closeReason(err)}\n`;
    socket.end(
      `HTTP/1.1 ${isRefusalCode(err.code) ? REFUSAL_STATUS[err.code] : REFUSAL_STATUS.FULL}\r\n` +
        `connection: close\r\ncontent-type: text/plain; charset=utf-8\r\n${REFUSAL_HEADER}: ${err.code}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    // The HTTP parser still reads what the peer sends (ws destroys an upgrade on a socket it cannot write to);
    // a peer that sends nothing more is cut off shortly.
    this.lingering++;
    const timer = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
    socket.once('close', () => {
      clearTimeout(timer);
      this.lingering--;
    });
  }
}

function stopTimer(entry: Pending): void {
  clearTimeout(entry.timer);
  if (entry.immediate) clearImmediate(entry.immediate);
  entry.timer = undefined;
  entry.immediate = undefined;
}
