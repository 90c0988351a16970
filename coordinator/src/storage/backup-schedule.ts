/**
 * Scheduled backups taken by the running coordinator (config `backups`): after every `everyRounds` finished
 * rounds and/or every `intervalMs`, a backup (backup.ts) into a new directory under `dir`, then all but the
 * newest `keep` removed. The copy runs on the coordinator's own connection a few hundred pages per event-loop
 * turn, so rounds go on meanwhile. One backup at a time: a trigger while one runs queues one more, taken when
 * it ends (so the latest finished round is always backed up). A failed backup is logged with its STORAGE_* code
 * and leaves no directory behind; the federation goes on. Partial directories left in `dir` by a process killed
 * mid-backup are removed (and logged) before each backup. stop() drops the queued backup and waits for the one in
 * progress; the store may close meanwhile (SqliteStore closes its connection once the copy settles).
 */
import { join, resolve } from 'node:path';
import { toFedwardenError, type Logger } from '@fedwarden/shared';
import { backupName, pruneBackups, sweepPartialBackups, writeBackup, type BackupManifest, type BackupSource } from './backup.ts';
import { DB_FILE_NAME } from './database.ts';

export interface BackupScheduleOptions {
  readonly dir: string;
  /** Back up after every n-th finished round (0: not by rounds). */
  readonly everyRounds: number;
  /** Back up every this many ms (0: not by time). */
  readonly intervalMs: number;
  /** How many complete backups to keep in `dir`. */
  readonly keep: number;
}

export interface BackupTaken {
  readonly path: string;
  readonly manifest: BackupManifest;
  readonly removed: readonly string[];
}

export class BackupSchedule {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<BackupTaken | undefined> | undefined;
  /** Why a backup was asked for while another ran: it runs next. */
  private pending: string | undefined;
  private stopped = false;

  constructor(
    private readonly source: BackupSource,
    private readonly options: BackupScheduleOptions,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
    /** Called after each backup, taken or failed (tests, metrics). */
    private readonly onDone: (result: BackupTaken | Error) => void = () => undefined,
  ) {}

  start(): void {
    if (this.options.intervalMs > 0 && !this.timer && !this.stopped) {
      this.timer = setInterval(() => void this.take(`every ${this.options.intervalMs} ms`), this.options.intervalMs);
      this.timer.unref();
    }
  }

  /** A round finished (the coordinator's 'round' event). */
  roundFinished(round: number): void {
    const every = this.options.everyRounds;
    if (every > 0 && round % every === 0) void this.take(`round ${round} finished`);
  }

  /**
   * Take a backup now; resolves with it (undefined if it failed). While one runs, this one is queued behind it
   * and undefined is returned at once; after stop(), nothing is taken.
   */
  take(why: string): Promise<BackupTaken | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    if (this.inFlight) {
      this.log.debug('backup queued behind the one in progress', { why });
      this.pending = why;
      return Promise.resolve(undefined);
    }
    return this.run(why);
  }

  /** Resolves once no backup is running or queued. */
  async settled(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  /** No new backups, and the queued one dropped; resolves once the one in progress (if any) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending = undefined;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.settled();
  }

  private run(why: string): Promise<BackupTaken | undefined> {
    const running = this.backup(why).finally(() => {
      this.inFlight = undefined;
      const next = this.pending;
      this.pending = undefined;
      if (next !== undefined && !this.stopped) void this.run(next);
    });
    this.inFlight = running;
    return running;
  }

  private async backup(why: string): Promise<BackupTaken | undefined> {
    const dir = resolve(this.options.dir);
    const path = join(dir, backupName(this.now()));
    const started = Date.now();
    try {
      const swept = await sweepPartialBackups(dir);
      if (swept.length > 0) this.log.warn('removed partial backups left by a process that died mid-backup', { paths: swept });
      const manifest = await writeBackup(this.source, path, { verify: false, now: this.now });
      const removed = await pruneBackups(dir, this.options.keep);
      this.log.info('backup taken', { path, why, lastFinishedRound: manifest.database.lastFinishedRound, bytes: manifest.files[DB_FILE_NAME]?.bytes, removed: removed.length, durationMs: Date.now() - started });
      const taken = { path, manifest, removed };
      this.onDone(taken);
      return taken;
    } catch (err) {
      const e = toFedwardenError(err);
      if (e.code === 'GOING_AWAY') this.log.info('scheduled backup not taken: the coordinator stopped before its copy began', { path, why });
      else this.log.error('scheduled backup failed; the federation goes on', { path, why, code: e.code, err: e.message });
      this.onDone(e);
      return undefined;
    }
  }
}
