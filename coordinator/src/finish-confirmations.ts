/**
 * Who has heard that the federation is finished. After the last round the coordinator sends `finished` (with
 * the final adapter) to every connected participant, and to each one that connects later. A participant has
 * heard it once a connection that carried `finished` closes normally (1000, RFC 6455 §7.4.1): the SDK closes
 * that way as soon as it has the message. A link that breaks near the end proves nothing — the frame may have
 * been lost with it — and that participant reconnects to be told again, so the coordinator must still be
 * there: the CLI waits here (up to rounds.finishGraceMs) before it exits, instead of leaving participants that
 * lost their link in the last round retrying against a closed port forever.
 *
 * Pure bookkeeping over connection objects and ids; the only timer is the caller's bound in wait().
 */

/** WebSocket close code of a normal closure (RFC 6455 §7.4.1). */
const NORMAL_CLOSURE = 1000;

export class FinishConfirmations<Conn extends object> {
  /** Participants that connected to this process: each may be waiting to hear the end. */
  private readonly expected = new Set<string>();
  private readonly confirmed = new Set<string>();
  private readonly carried = new WeakSet<Conn>();
  private waiters: Array<() => void> = [];

  /** A participant connected (its welcome went out). */
  joined(id: string): void {
    this.expected.add(id);
  }

  /** `finished` is being sent on `conn`. */
  sending(conn: Conn): void {
    this.carried.add(conn);
  }

  /** A participant's connection closed with `code`; it confirms the end if it carried `finished` and closed normally. */
  closed(conn: Conn, id: string, code: number): void {
    if (code !== NORMAL_CLOSURE || !this.carried.has(conn) || this.confirmed.has(id)) return;
    this.confirmed.add(id);
    for (const w of [...this.waiters]) w();
  }

  /** Participants that connected but have not confirmed the end, sorted. */
  get unconfirmed(): string[] {
    return [...this.expected].filter((id) => !this.confirmed.has(id)).sort();
  }

  /** Resolves once every participant that connected has confirmed, or after `ms`, with those that have not. */
  wait(ms: number): Promise<string[]> {
    if (this.unconfirmed.length === 0 || ms <= 0) return Promise.resolve(this.unconfirmed);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve(this.unconfirmed);
      };
      const check = () => {
        if (this.unconfirmed.length === 0) done();
      };
      const timer = setTimeout(done, ms);
      this.waiters.push(check);
    });
  }
}
