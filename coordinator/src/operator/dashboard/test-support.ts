/** Round records and a fake coordinator for the dashboard's tests (not part of the package). */
import { EventEmitter } from 'node:events';
import type { Alert } from '../../anomaly/alert.ts';
import type { CoordinatorEvents } from '../../coordinator.ts';
import type { ReputationStanding } from '../../reputation/standing.ts';
import type { RoundRecord } from '../../rounds/round-record.ts';
import type { StageChange } from '../../rounds/round-stage.ts';
import type { DashboardSource } from './dashboard-feed.ts';

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
