/**
 * The coordinator's persistent state behind one interface, CoordinatorStore, and its SQLite implementation.
 *
 * What the coordinator needs from storage, and the unit of atomicity of each call:
 *   resume()        audit chain checked, enrolment synced, attempts left open by a killed coordinator recorded as interrupted, and
 *                   the state to continue from: manifest, latest verified checkpoint, finished round records.
 *   adoptManifest   manifest + initial adapter (checkpoint 0) + audit entry, one transaction.
 *   beginRound      the attempt's row + audit entry, one transaction.
 *   finishRound     round record + reputation + checkpoint + the isolation forest's new rows + the server
 *                   optimizer's state + audit entries, ONE transaction: a crash leaves the whole finished round or none of it, and the round then
 *                   runs again.
 *   interruptRound  the attempt marked interrupted (shutdown mid-round) + audit entry.
 *   registerIdentity a participant's identity key, if it has none yet, + audit entry (its fingerprint, never more).
 *   resetIdentity   the registered key forgotten (`fedwarden token <id> --reset-identity`) + audit entry.
 *
 * Every transaction takes the write lock when it begins (BEGIN IMMEDIATE): `fedwarden token --reset-identity`
 * writes to the database of a running coordinator, and a transaction that read first and then found another
 * process's commit in its way would fail (SQLITE_BUSY) instead of waiting its turn.
 *
 * Without a data dir (simulations, tests) the same class runs on ':memory:' SQLite: one implementation, so
 * the code the simulations exercise is the code a real coordinator persists with, at the cost of a few
 * small in-memory writes per round.
 *
 * Every method is a storage boundary: what SQLite throws leaves it as a STORAGE_* error naming the database file
 * and what was being done (storage-errors.ts).
 */
import { FedwardenError, manifestHash, manifestSize, type AdapterManifest, type RoundOutcome } from '@fedwarden/shared';
import type { CoordinatorConfig } from '../config.ts';
import type { ReputationStore } from '../reputation/reputation-store.ts';
import { AuditLog, type AuditEntry, type AuditKind } from './audit-log.ts';
import { CheckpointsTable, type Checkpoint } from './checkpoints.ts';
import { MEMORY, openDatabase, type Db } from './database.ts';
import { ParticipantsTable, type EnrolledParticipant, type ParticipantRow, type RegisteredIdentity } from './participants.ts';
import type { FeatureRow } from '../anomaly/isolation-forest-detector.ts';
import { IsolationHistoryTable } from './isolation-history.ts';
import { SqliteReputationStore } from './reputation.ts';
import type { ServerOptimizerState } from '../aggregation/server-optimizer.ts';
import { ServerOptimizerTable, type StoredServerOptimizer } from './server-optimizer-table.ts';
import { AlertsTable } from './alerts.ts';
import type { AlertStateStore } from '../alerting/alert-state-store.ts';
import { RoundsTable, type RoundRow } from './rounds.ts';
import { guardStorage, storageError } from './storage-errors.ts';
import { textSha256, verifyDatabase, type VerifyReport } from './verify.ts';

/** What storage keeps of a round record: these fields are audited; the rest is stored as given. */
export interface StoredRoundRecord {
  readonly round: number;
  readonly outcome: RoundOutcome;
  readonly reason: string;
  readonly reported: readonly string[];
}

export interface ResumeState {
  /** The federation's adapter manifest and the global adapter of the latest checkpoint, once adopted. */
  readonly manifest?: { readonly manifest: AdapterManifest; readonly digest: string; readonly global: Float32Array };
  readonly checkpointRound: number;
  readonly lastFinishedRound: number;
  /** Finished rounds' records (parsed JSON, as stored), in round order. */
  readonly records: readonly unknown[];
  /** Rounds found open (coordinator killed mid-round), now recorded as interrupted; they run again. */
  readonly interrupted: readonly number[];
  /** The isolation forest's history as the last finished rounds left it: each round's new rows, oldest first. */
  readonly isolationHistory: ReadonlyArray<readonly FeatureRow[]>;
  /** The server optimizer's state after the latest round that stored one (none: it starts fresh). */
  readonly serverOptimizer?: StoredServerOptimizer;
}

/** What a finished round stores beside its record and checkpoint. */
export interface RoundExtras {
  /** The rows the round added to the isolation forest's history, when it was reviewed. */
  readonly isolationRows?: readonly FeatureRow[];
  /** The server optimizer's state after the round, when it changed the global adapter with one that keeps state. */
  readonly serverOptimizer?: ServerOptimizerState;
}

export interface CoordinatorStore {
  /** Where the data lives (a file path, or ':memory:'). */
  readonly location: string;
  /** The reputation book's records; written with finishRound(). */
  readonly reputation: ReputationStore;
  /** The alert lifecycle's state (alerting/); without it, alerting keeps its state in memory only. */
  readonly alerts?: AlertStateStore;
  resume(participants: readonly EnrolledParticipant[]): ResumeState;
  participantSeen(id: string): void;
  /** The identity key registered for a participant, if any. */
  identity(participantId: string): RegisteredIdentity | undefined;
  /**
   * Register `publicKey` (SHA-256 `fingerprint`) as the participant's identity key unless one is registered
   * already, atomically with an 'identity-registered' audit entry. Returns the key registered after the call
   * (this one, or the one that was there before: the caller compares) and whether this call registered it.
   */
  registerIdentity(participantId: string, publicKey: Uint8Array, fingerprint: string): { identity: RegisteredIdentity; created: boolean };
  /**
   * Forget the participant's identity key, so that its next hello registers anew ('identity-reset' audit entry
   * with the old fingerprint). Returns that fingerprint, or undefined when no key was registered (nothing is
   * written then). Throws BAD_CONFIG for a participant the database does not know.
   */
  resetIdentity(participantId: string): string | undefined;
  adoptManifest(manifest: AdapterManifest, digest: string, initial: Float32Array): void;
  /** Open an attempt at `round`; returns the attempt number. */
  beginRound(round: number, config: CoordinatorConfig, selected: readonly string[]): number;
  /**
   * The round's end, atomically; `global` is the new global adapter when the round changed it; `extras` what else
   * the round left (of the isolation forest's history, the last config.anomaly.windowRounds rounds' are kept).
   */
  finishRound(attempt: number, record: StoredRoundRecord, global: Float32Array | undefined, extras?: RoundExtras): void;
  interruptRound(attempt: number, record: StoredRoundRecord): void;
  /** A round's checkpoint (default: the latest), verified against its hash; undefined when there is none. */
  checkpoint(round?: number): Checkpoint | undefined;
  verify(): VerifyReport;
  /** The audit log's last entry: its sequence number and hash (0 and the genesis hash when empty). */
  auditHead(): { seq: number; hash: string };
  close(): void;
}

export interface SqliteStoreOptions {
  readonly readonly?: boolean;
  /** Clock for stored timestamps, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
}

const META_MANIFEST = 'manifest';
const META_MANIFEST_SHA256 = 'manifest_sha256';
/** The SHA-256 fingerprint of the coordinator key this database belongs to (data-dir.ts). */
export const META_KEY_SHA256 = 'coordinator_key_sha256';

/** Why a key fingerprint is recorded: a new data dir, a database older than the record, a key replaced with --init. */
export type KeyRecordEvent = 'created' | 'recorded' | 'replaced';

export class SqliteStore implements CoordinatorStore {
  readonly reputation: SqliteReputationStore;
  readonly alerts: AlertsTable;
  private readonly audit: AuditLog;
  private readonly participantsTable: ParticipantsTable;
  private readonly roundsTable: RoundsTable;
  private readonly checkpoints: CheckpointsTable;
  private readonly isolationHistory: IsolationHistoryTable;
  private readonly serverOptimizer: ServerOptimizerTable;
  /** Rounds of isolation-forest history to keep: config.anomaly.windowRounds of the round begun last. */
  private isolationRounds = 10;
  private readonly now: () => number;
  private params = 0;
  private resumed = false;
  private closed = false;
  /** backupTo() copies in progress on this connection. */
  private copies = 0;

  private constructor(
    private readonly db: Db,
    readonly location: string,
    options: SqliteStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.audit = new AuditLog(db);
    this.participantsTable = new ParticipantsTable(db);
    this.roundsTable = new RoundsTable(db);
    this.checkpoints = new CheckpointsTable(db);
    this.isolationHistory = new IsolationHistoryTable(db);
    this.serverOptimizer = new ServerOptimizerTable(db);
    this.reputation = new SqliteReputationStore(db);
    this.alerts = new AlertsTable(db);
  }

  /** Open (creating and migrating) the database at `path`, or ':memory:'. */
  static open(path: string = MEMORY, options: SqliteStoreOptions = {}): SqliteStore {
    const db = openDatabase(path, { readonly: options.readonly ?? false });
    try {
      return guardStorage(`database ${path}`, 'read it', () => new SqliteStore(db, path, options));
    } catch (err) {
      db.close();
      throw err;
    }
  }

  resume(participants: readonly EnrolledParticipant[]): ResumeState {
    return this.guard('resume from it', () => this.resumeState(participants));
  }

  private resumeState(participants: readonly EnrolledParticipant[]): ResumeState {
    const broken = this.audit.verify();
    if (broken.length > 0) {
      const first = broken[0]!;
      throw new FedwardenError('STORAGE_CORRUPT', `audit log entry ${first.seq}: ${first.problem}; run verify for the full report`);
    }
    const at = this.now();
    const state = this.db.transaction((): ResumeState => {
      const changes = this.participantsTable.sync(participants, at);
      for (const id of changes.enrolled) this.audit.append('participant-enrolled', { participant: id }, at);
      for (const id of changes.tokenChanged) this.audit.append('participant-token-changed', { participant: id }, at);
      for (const id of changes.unenrolled) this.audit.append('participant-unenrolled', { participant: id }, at);
      const interrupted: number[] = [];
      for (const open of this.roundsTable.unfinished()) {
        const reason = 'coordinator restarted';
        this.roundsTable.interrupt(open.round, open.attempt, reason, null, at);
        this.audit.append('round-interrupted', { round: open.round, attempt: open.attempt, reason }, at);
        interrupted.push(open.round);
      }
      const manifest = this.storedManifest();
      const checkpoint = manifest ? this.latestCheckpoint(manifest.params) : undefined;
      const finished = this.roundsTable.finished();
      const lastFinishedRound = finished.at(-1)?.round ?? 0;
      if (checkpoint && checkpoint.round > lastFinishedRound) {
        throw new FedwardenError('STORAGE_CORRUPT', `checkpoint of round ${checkpoint.round} is newer than the last finished round ${lastFinishedRound}`);
      }
      this.audit.append('coordinator-started', { lastFinishedRound, interrupted }, at);
      const serverOptimizer = this.serverOptimizer.load();
      return {
        ...(manifest && checkpoint ? { manifest: { manifest: manifest.manifest, digest: manifest.digest, global: checkpoint.adapter } } : {}),
        checkpointRound: checkpoint?.round ?? 0,
        lastFinishedRound,
        records: finished.map((r) => parseRecord(r)),
        interrupted,
        isolationHistory: this.isolationHistory.all(),
        ...(serverOptimizer ? { serverOptimizer } : {}),
      };
    }).immediate();
    this.params = state.manifest?.global.length ?? 0;
    this.resumed = true;
    return state;
  }

  participantSeen(id: string): void {
    this.guard(`record ${id} as seen`, () => this.participantsTable.seen(id, this.now()));
  }

  identity(participantId: string): RegisteredIdentity | undefined {
    return this.guard(`read the identity key of ${participantId}`, () => this.participantsTable.identity(participantId));
  }

  registerIdentity(participantId: string, publicKey: Uint8Array, fingerprint: string): { identity: RegisteredIdentity; created: boolean } {
    const at = this.now();
    return this.guard(`register the identity key of ${participantId}`, () => this.db
      .transaction(() => {
        const existing = this.participantsTable.identity(participantId);
        if (existing) return { identity: existing, created: false };
        if (!this.participantsTable.registerIdentity(participantId, publicKey, fingerprint, at)) {
          throw new FedwardenError('INTERNAL', `registerIdentity: participant ${participantId} is not in the participants table`);
        }
        this.audit.append('identity-registered', { participant: participantId, fingerprint }, at);
        return { identity: { publicKey: publicKey.slice(), fingerprint, registeredAt: at }, created: true };
      })
      .immediate());
  }

  resetIdentity(participantId: string): string | undefined {
    const at = this.now();
    return this.guard(`reset the identity key of ${participantId}`, () => this.db
      .transaction((): string | undefined => {
        if (!this.participantsTable.get(participantId)) {
          throw new FedwardenError('BAD_CONFIG', `participant ${participantId} is not in the database at ${this.location}`);
        }
        const fingerprint = this.participantsTable.clearIdentity(participantId);
        if (fingerprint !== undefined) this.audit.append('identity-reset', { participant: participantId, fingerprint }, at);
        return fingerprint;
      })
      .immediate());
  }

  /** The fingerprint of the coordinator key this database was bound to (data-dir.ts), if one was recorded. */
  keyFingerprint(): string | undefined {
    return this.guard('read the coordinator key fingerprint', () => this.metaValue(META_KEY_SHA256));
  }

  /** Bind the database to the coordinator key `fingerprint`: the meta row and a 'coordinator-key' audit entry, one transaction. */
  recordKeyFingerprint(fingerprint: string, event: KeyRecordEvent): void {
    const at = this.now();
    this.guard('record the coordinator key fingerprint', () =>
      this.db
        .transaction(() => {
          const previous = this.metaValue(META_KEY_SHA256);
          this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(META_KEY_SHA256, fingerprint);
          this.audit.append('coordinator-key', { event, fingerprint, ...(previous !== undefined && previous !== fingerprint ? { previous } : {}) }, at);
        })
        .immediate(),
    );
  }

  /**
   * Copy the database into the new file `destination` with SQLite's online backup API on this connection,
   * `pagesPerStep` pages per event-loop turn, so that rounds go on meanwhile; commits made through this
   * connection while it copies reach the copy too (https://sqlite.org/backup.html). close() during the copy
   * records the stop at once and closes the connection when the copy settles.
   */
  async backupTo(destination: string, pagesPerStep = 256): Promise<void> {
    // GOING_AWAY: the coordinator stopped before this copy began (backup-schedule.ts logs it as not taken, not as a failure).
    if (this.closed) throw new FedwardenError('GOING_AWAY', `database ${this.location}: cannot copy it to ${destination}: the store is closed`);
    this.copies++;
    try {
      await this.db.backup(destination, { progress: () => pagesPerStep });
    } catch (err) {
      throw storageError(err, `database ${this.location}`, `copy it to ${destination}`);
    } finally {
      this.copies--;
      if (this.closed && this.copies === 0) this.db.close();
    }
  }

  adoptManifest(manifest: AdapterManifest, digest: string, initial: Float32Array): void {
    const params = manifestSize(manifest);
    const at = this.now();
    this.guard('adopt the adapter manifest', () => this.db.transaction(() => {
      if (this.storedManifest()) throw new FedwardenError('INTERNAL', 'adoptManifest: the federation already has a manifest');
      const insert = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      insert.run(META_MANIFEST, JSON.stringify(manifest));
      insert.run(META_MANIFEST_SHA256, digest);
      this.audit.append('manifest-adopted', { sha256: digest, params }, at);
      const c = this.checkpoints.save(0, initial, params, at);
      this.audit.append('checkpoint', { round: 0, sha256: c.sha256, params }, at);
    }).immediate());
    this.params = params;
  }

  beginRound(round: number, config: CoordinatorConfig, selected: readonly string[]): number {
    const at = this.now();
    // The config as the round ran it; enrolment lives in the participants table.
    const snapshot = JSON.stringify({ ...config, participants: config.participants.length });
    this.isolationRounds = config.anomaly.windowRounds;
    return this.guard(`start round ${round}`, () => this.db.transaction(() => {
      const attempt = this.roundsTable.begin(round, snapshot, at);
      this.audit.append('round-started', { round, attempt, selected: selected.length }, at);
      return attempt;
    }).immediate());
  }

  finishRound(attempt: number, record: StoredRoundRecord, global: Float32Array | undefined, extras: RoundExtras = {}): void {
    const { isolationRows, serverOptimizer } = extras;
    const at = this.now();
    const text = JSON.stringify(record);
    this.guard(`finish round ${record.round}`, () => this.db.transaction(() => {
      this.roundsTable.finish(record.round, attempt, record.outcome, record.reason, text, at);
      this.reputation.flush();
      if (isolationRows !== undefined) this.isolationHistory.save(record.round, isolationRows, this.isolationRounds);
      if (global !== undefined) {
        const c = this.checkpoints.save(record.round, global, this.params, at);
        this.audit.append('checkpoint', { round: record.round, sha256: c.sha256, params: c.params }, at);
        if (serverOptimizer !== undefined) this.serverOptimizer.save(record.round, serverOptimizer, this.params);
      }
      this.audit.append(
        'round-finished',
        { round: record.round, attempt, outcome: record.outcome, reported: record.reported.length, recordSha256: textSha256(text) },
        at,
      );
    }).immediate());
    this.reputation.committed();
  }

  interruptRound(attempt: number, record: StoredRoundRecord): void {
    const at = this.now();
    this.guard(`record round ${record.round} as interrupted`, () => this.db.transaction(() => {
      this.roundsTable.interrupt(record.round, attempt, record.reason, JSON.stringify(record), at);
      this.audit.append('round-interrupted', { round: record.round, attempt, reason: record.reason }, at);
    }).immediate());
  }

  verify(): VerifyReport {
    return this.guard('verify it', () => verifyDatabase(this.db));
  }

  /** Every attempt at every round, in order (inspection, tests). */
  rounds(): RoundRow[] {
    return this.guard('read the rounds', () => this.roundsTable.all());
  }

  /** A round's checkpoint (default: the latest), verified against its hash. */
  checkpoint(round?: number): Checkpoint | undefined {
    return this.guard('read a checkpoint', () => (round === undefined ? this.checkpoints.latest() : this.checkpoints.load(round)));
  }

  participants(): ParticipantRow[] {
    return this.guard('read the participants', () => this.participantsTable.list());
  }

  auditHead(): { seq: number; hash: string } {
    return this.guard('read the audit head', () => this.audit.head());
  }

  /** The audit log's entries, of one kind or all, in order (inspection, tests). */
  auditEntries(kind?: AuditKind): AuditEntry[] {
    return this.guard('read the audit log', () => [...this.audit.entries(kind)]);
  }

  /**
   * Record the stop in the audit log (when this store resumed a coordinator) and close the database; while a
   * backupTo() copy runs, the connection closes when it settles.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.resumed) this.guard('record the stop', () => this.audit.append('coordinator-stopped', { lastFinishedRound: this.roundsTable.lastFinished() }, this.now()));
    } finally {
      if (this.copies === 0) this.db.close();
    }
  }

  private guard<T>(doing: string, fn: () => T): T {
    return guardStorage(`database ${this.location}`, doing, fn);
  }

  private metaValue(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  private storedManifest(): { manifest: AdapterManifest; digest: string; params: number } | undefined {
    const get = this.db.prepare('SELECT value FROM meta WHERE key = ?');
    const text = (get.get(META_MANIFEST) as { value: string } | undefined)?.value;
    const digest = (get.get(META_MANIFEST_SHA256) as { value: string } | undefined)?.value;
    if (text === undefined && digest === undefined) return undefined;
    let manifest: AdapterManifest;
    try {
      manifest = JSON.parse(text ?? '') as AdapterManifest;
    } catch (err) {
      throw new FedwardenError('STORAGE_CORRUPT', 'stored manifest is not valid JSON', { cause: err });
    }
    if (digest === undefined || !Array.isArray(manifest.entries) || manifestHash(manifest) !== digest) {
      throw new FedwardenError('STORAGE_CORRUPT', 'stored manifest does not match its hash');
    }
    return { manifest, digest, params: manifestSize(manifest) };
  }

  private latestCheckpoint(params: number): Checkpoint {
    const c = this.checkpoints.latest();
    if (c === undefined) throw new FedwardenError('STORAGE_CORRUPT', 'a manifest is stored but no checkpoint');
    if (c.adapter.length !== params) {
      throw new FedwardenError('STORAGE_CORRUPT', `checkpoint of round ${c.round} has ${c.adapter.length} values, the manifest ${params}`);
    }
    return c;
  }
}

function parseRecord(row: RoundRow): unknown {
  try {
    return JSON.parse(row.record ?? '');
  } catch (err) {
    throw new FedwardenError('STORAGE_CORRUPT', `record of round ${row.round} is not valid JSON`, { cause: err });
  }
}
