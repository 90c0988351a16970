/**
 * Where the alert lifecycle's state lives between rounds and across restarts: the open alerts, the last round
 * observed, and recent resolved alerts as history. The coordinator's SQLite store implements it
 * (storage/alerts.ts); MemoryAlertStateStore serves tests and stores without one.
 */
import type { AlertBookState, TrackedAlert } from './tracked-alert.ts';

export interface AlertStateStore {
  /** The saved state; undefined when alerting never ran on this store (a new or upgraded database). */
  load(): AlertBookState | undefined;
  /** Save the state after a round, with the alerts that round resolved (kept as history), atomically. */
  save(state: AlertBookState, resolved: readonly TrackedAlert[]): void;
  /** The most recently changed alerts, open and resolved, newest first. */
  recent(limit: number): TrackedAlert[];
}

/** Resolved alerts kept as history; older ones are forgotten. */
export const RESOLVED_HISTORY = 1000;

export class MemoryAlertStateStore implements AlertStateStore {
  private state: AlertBookState | undefined;
  private history: TrackedAlert[] = [];

  load(): AlertBookState | undefined {
    return this.state && structuredClone(this.state);
  }

  save(state: AlertBookState, resolved: readonly TrackedAlert[]): void {
    this.state = structuredClone(state);
    this.history = [...structuredClone(resolved), ...this.history].slice(0, RESOLVED_HISTORY);
  }

  recent(limit: number): TrackedAlert[] {
    const all = [...(this.state?.open ?? []), ...this.history].sort((a, b) => b.updatedAt - a.updatedAt);
    return structuredClone(all.slice(0, limit));
  }
}
