/**
 * Round records, a fake coordinator and an event-stream reader for the dashboard's tests, here and in test/
 * (not part of the package).
 */
import { EventEmitter } from 'node:events';
import type { AlertTransition, TrackedAlert } from '../../alerting/tracked-alert.ts';
import type { Alert } from '../../anomaly/alert.ts';
import type { CoordinatorEvents } from '../../coordinator.ts';
import type { ReputationStanding } from '../../reputation/standing.ts';
import type { RoundRecord } from '../../rounds/round-record.ts';
import type { StageChange } from '../../rounds/round-stage.ts';
import type { DashboardSource } from './dashboard-feed.ts';
import type { DashboardEvent } from './dashboard-model.ts';

export function roundRecord(round: number, overrides: Partial<RoundRecord> = {}): RoundRecord {
  return {
    round,
    outcome: 'completed',
    reason: `3 of 4 contributed in 3 units, 1 rejected by fedwarden`,
    privacy: 'trusted',
    selected: ['a', 'b', 'c', 'd'],
    reported: ['a', 'b', 'c'],
    dropped: ['d'],
    units: 3,
    unitMembers: { a: ['a'], b: ['b'], c: ['c'] },
    rejected: [{ id: 'c', reason: 'DBSCAN outlier' }],
    adjusted: [],
    doubted: [],
    alerts: [],
    excluded: [],
    accuracy: 0.5 + round / 100,
    evaluationLoss: 1 / round,
    meanLoss: 2 / round,
    samples: 300,
    uploadBytes: 1000,
    adapterParams: 100,
    protocolMs: 0,
    durationMs: 1500,
    ...overrides,
  };
}

export function alert(round: number, unit: string, overrides: Partial<Alert> = {}): Alert {
  return { detector: 'isolation-forest', severity: 'warning', round, unit, feature: 'norm', score: 0.71, message: `unit ${unit} stands out by norm`, ...overrides };
}

export function trackedAlert(participant: string, overrides: Partial<TrackedAlert> = {}): TrackedAlert {
  const key = `isolation-forest/participant/${participant}`;
  return {
    id: `${key}@1`,
    key,
    detector: 'isolation-forest',
    status: 'firing',
    severity: 'warning',
    participants: [participant],
    feature: 'norm',
    score: 0.71,
    message: `${participant} stands out by norm`,
    firstRound: 1,
    lastRound: 1,
    occurrences: 1,
    repeatsAtSeverity: 1,
    cleanRounds: 0,
    openedAt: 1_000,
    updatedAt: 1_000,
    ...overrides,
  };
}

export function standing(id: string, overrides: Partial<ReputationStanding> = {}): ReputationStanding {
  return { id, score: 0.5, excluded: false, flagged: false, participations: 0, rejections: 0, exclusions: 0, lastRound: 0, ...overrides };
}

/** A coordinator as the dashboard feed sees it, driven by hand. */
export class FakeCoordinator extends EventEmitter<CoordinatorEvents> implements DashboardSource {
  readonly config = { privacy: 'trusted' as const, rounds: { count: 5 } as DashboardSource['config']['rounds'] };
  readonly strategyName = 'fedwarden';
  readonly hasEvaluator = true;
  stage: StageChange = { round: 1, stage: 'waiting', at: 1_000 };
  records: RoundRecord[] = [];
  standings: ReputationStanding[] = [standing('a'), standing('b'), standing('c'), standing('d')];
  connected = new Set<string>();
  auditSeq = 3;
  storageClosed = false;
  /** Newest first, as the alerting store gives them. */
  tracked: TrackedAlert[] = [];

  roundRecords(): readonly RoundRecord[] {
    return [...this.records];
  }

  reputations(): ReputationStanding[] {
    if (this.storageClosed) throw new Error('The database connection is not open');
    return this.standings;
  }

  connectedParticipantIds(): string[] {
    return [...this.connected];
  }

  auditHead(): { seq: number; hash: string } {
    if (this.storageClosed) throw new Error('The database connection is not open');
    return { seq: this.auditSeq, hash: 'ab'.repeat(32) };
  }

  recentAlerts(limit: number): TrackedAlert[] {
    if (this.storageClosed) throw new Error('The database connection is not open');
    return this.tracked.slice(0, limit);
  }

  /** A tracked alert changed, as the alerting service reports it. */
  transition(event: AlertTransition['event'], alert: TrackedAlert, round = alert.lastRound): void {
    this.tracked = [alert, ...this.tracked.filter((a) => a.id !== alert.id)];
    this.emit('alert', { event, alert, round });
  }

  moveTo(round: number, stage: StageChange['stage'], deadline?: number): void {
    this.stage = { round, stage, at: 2_000 + round, ...(deadline !== undefined ? { deadline } : {}) };
    this.emit('stage', this.stage);
  }

  join(id: string): void {
    this.connected.add(id);
    this.emit('participantJoined', id);
  }

  leave(id: string): void {
    this.connected.delete(id);
    this.emit('participantLeft', id);
  }

  finishRound(record: RoundRecord): void {
    this.records.push(record);
    this.auditSeq += 3;
    this.emit('round', record);
  }
}

/**
 * Server-sent events (the WHATWG HTML "event stream" format) from a fetch response: each call resolves to the next
 * block's `data:` lines joined and parsed as JSON, skipping comments and blocks without data; undefined at the end.
 * The page (static/dashboard/app.js) has its own copy, since it loads no modules.
 */
export function eventReader(body: ReadableStream<Uint8Array>): () => Promise<DashboardEvent | undefined> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  return async () => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).replace(/^ /, ''))
          .join('\n');
        buffer = buffer.slice(end + 2);
        if (data !== '') return JSON.parse(data) as DashboardEvent;
        continue;
      }
      const { value, done } = await reader.read();
      if (done) return undefined;
      buffer += value.replace(/\r\n/g, '\n');
    }
  };
}
