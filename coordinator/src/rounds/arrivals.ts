/**
 * Waits for a known set of participants to answer a stage: settles once each has answered or dropped, or at
 * the deadline, whichever comes first. Used by every stage that collects one message per participant.
 */
export class Arrivals<K> {
  private readonly answered = new Set<K>();
  private readonly gone = new Set<K>();
  private settle: (() => void) | undefined;
  private done = false;
  private readonly settled: Promise<void>;

  constructor(readonly expected: ReadonlySet<K>) {
    this.settled = new Promise((resolve) => (this.settle = resolve));
    this.check();
  }

  /** Record an answer; false if the key was not expected or already answered. */
  answer(key: K): boolean {
    if (!this.expected.has(key) || this.answered.has(key)) return false;
    this.gone.delete(key);
    this.answered.add(key);
    this.check();
    return true;
  }

  has(key: K): boolean {
    return this.answered.has(key);
  }

  /** The participant left before answering. */
  drop(key: K): void {
    if (!this.expected.has(key) || this.answered.has(key)) return;
    this.gone.add(key);
    this.check();
  }

  /** A participant that dropped came back before the stage settled: wait for its answer again. */
  rejoin(key: K): boolean {
    if (this.done || !this.expected.has(key) || this.answered.has(key)) return false;
    this.gone.delete(key);
    return true;
  }

  get missing(): K[] {
    return [...this.expected].filter((k) => !this.answered.has(k));
  }

  /** Resolves when everyone answered or dropped, or after `deadlineMs`. */
  async wait(deadlineMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.settled, new Promise<void>((r) => (timer = setTimeout(r, deadlineMs)))]);
    clearTimeout(timer);
  }

  private check(): void {
    if (this.answered.size + this.gone.size >= this.expected.size) {
      this.done = true;
      this.settle?.();
    }
  }
}
