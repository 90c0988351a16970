/**
 * `fedwarden coordinator verify`: checks a coordinator database without changing it.
 *
 *   1. SQLite's own integrity and foreign-key checks.
 *   2. The audit log's hash chain (audit-log.ts).
 *   3. The manifest's hash equal to the audited adoption; every checkpoint re-hashed, and its hash equal to the one the audit log recorded for it.
 *   4. Finished rounds numbered 1..n, each exactly once, each matching the audit log's record hash, each
 *      completed round with its checkpoint.
 *   5. The coordinator key fingerprint the database is bound to equal to the last audited one.
 *
 * Problems mean tampering or corruption. Notes are normal states worth knowing (an attempt left open by a
 * coordinator that was killed: the next start records it as interrupted and runs the round again).
 */
import { createHash } from 'node:crypto';
import { AuditLog, type AuditEntry } from './audit-log.ts';
import { CheckpointsTable } from './checkpoints.ts';
import type { Db } from './database.ts';
import { SCHEMA_VERSION, schemaVersion } from './migrations.ts';
import { RoundsTable } from './rounds.ts';
import { ServerOptimizerTable } from './server-optimizer-table.ts';

export interface VerifyReport {
  readonly ok: boolean;
  readonly problems: string[];
  readonly notes: string[];
  readonly summary: {
    readonly schemaVersion: number;
    readonly auditEntries: number;
    readonly headHash: string;
    readonly finishedRounds: number;
    readonly lastRound: number;
    readonly checkpoints: number;
    readonly interruptedAttempts: number;
  };
}

export function textSha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function verifyDatabase(db: Db): VerifyReport {
  const problems: string[] = [];
  const notes: string[] = [];
  const version = schemaVersion(db);
  if (version !== SCHEMA_VERSION) {
    problems.push(`schema v${version}, this coordinator verifies v${SCHEMA_VERSION} (start the coordinator once to migrate)`);
  }

  const integrity = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  for (const r of integrity) if (r.integrity_check !== 'ok') problems.push(`sqlite integrity: ${r.integrity_check}`);
  for (const r of db.pragma('foreign_key_check') as Array<{ table: string; rowid: number; parent: string }>) {
    problems.push(`sqlite foreign key: ${r.table} row ${r.rowid} refers to a missing ${r.parent} row`);
  }

  const audit = new AuditLog(db);
  for (const p of audit.verify()) problems.push(`audit entry ${p.seq}: ${p.problem}`);
  const audited = (kind: 'checkpoint' | 'round-finished') => {
    const byRound = new Map<number, AuditEntry[]>();
    for (const e of audit.entries(kind)) {
      const round = e.body['round'];
      if (typeof round !== 'number') {
        problems.push(`audit entry ${e.seq}: ${kind} without a round`);
        continue;
      }
      byRound.set(round, [...(byRound.get(round) ?? []), e]);
    }
    return byRound;
  };

  const digest = (db.prepare("SELECT value FROM meta WHERE key = 'manifest_sha256'").get() as { value: string } | undefined)?.value;
  const adoptions = [...audit.entries('manifest-adopted')];
  if (digest === undefined ? adoptions.length > 0 : adoptions.length !== 1 || adoptions[0]!.body['sha256'] !== digest) {
    problems.push('manifest: stored hash differs from the audited adoption (replaced)');
  }

  // The coordinator key the database is bound to (data-dir.ts): the last audited record of it, if any.
  const keySha256 = (db.prepare("SELECT value FROM meta WHERE key = 'coordinator_key_sha256'").get() as { value: string } | undefined)?.value;
  const keyRecords = [...audit.entries('coordinator-key')];
  if (keySha256 === undefined ? keyRecords.length > 0 : keyRecords.at(-1)?.body['fingerprint'] !== keySha256) {
    problems.push('coordinator key: recorded fingerprint differs from the audited one (replaced)');
  }

  const checkpoints = new CheckpointsTable(db);
  for (const p of checkpoints.verifyAll()) problems.push(`checkpoint ${p.round}: ${p.problem}`);
  try {
    new ServerOptimizerTable(db).load();
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }
  const stored = checkpoints.list();
  const auditedCheckpoints = audited('checkpoint');
  for (const c of stored) {
    const entries = auditedCheckpoints.get(c.round) ?? [];
    if (entries.length !== 1) problems.push(`checkpoint ${c.round}: ${entries.length} audit entries record it, expected 1`);
    else if (entries[0]!.body['sha256'] !== c.sha256) problems.push(`checkpoint ${c.round}: hash differs from the audited one (replaced)`);
  }
  const storedRounds = new Set(stored.map((c) => c.round));
  for (const round of auditedCheckpoints.keys()) {
    if (!storedRounds.has(round)) problems.push(`checkpoint ${round}: audited but missing`);
  }

  const rounds = new RoundsTable(db);
  const finished = rounds.finished();
  const seen = new Set<number>();
  let previous = 0;
  for (const r of finished) {
    if (r.round === previous) problems.push(`round ${r.round}: finished more than once`);
    else if (r.round !== previous + 1) {
      const gap = r.round - 1 === previous + 1 ? `round ${previous + 1}` : `rounds ${previous + 1}..${r.round - 1}`;
      problems.push(`${gap}: missing (finished rounds must be 1..n, each once)`);
    }
    previous = r.round;
    seen.add(r.round);
  }
  const auditedRounds = audited('round-finished');
  for (const r of finished) {
    const entries = auditedRounds.get(r.round) ?? [];
    if (entries.length !== 1) {
      problems.push(`round ${r.round}: ${entries.length} audit entries record it finished, expected 1`);
    } else if (r.record === null || entries[0]!.body['recordSha256'] !== textSha256(r.record)) {
      problems.push(`round ${r.round}: record differs from the audited one (altered)`);
    } else if (entries[0]!.body['attempt'] !== r.attempt || entries[0]!.body['outcome'] !== r.outcome) {
      problems.push(`round ${r.round}: attempt or outcome differs from the audited one (altered)`);
    }
    if (r.outcome === 'completed' && !storedRounds.has(r.round)) problems.push(`round ${r.round}: completed without a checkpoint`);
  }
  for (const round of auditedRounds.keys()) {
    if (!seen.has(round)) problems.push(`round ${round}: audited as finished but missing from the rounds table`);
  }

  const all = rounds.all();
  for (const r of all) {
    if (r.status === 'started') notes.push(`round ${r.round} attempt ${r.attempt} was left open (coordinator killed); the next start reruns it`);
  }
  const head = audit.head();
  return {
    ok: problems.length === 0,
    problems,
    notes,
    summary: {
      schemaVersion: version,
      auditEntries: audit.size,
      headHash: head.hash,
      finishedRounds: finished.length,
      lastRound: finished.at(-1)?.round ?? 0,
      checkpoints: stored.length,
      interruptedAttempts: all.filter((r) => r.status === 'interrupted').length,
    },
  };
}

/** The report as `verify` prints it: a summary line, notes, then OK or every problem. */
export function formatVerifyReport(report: VerifyReport, location: string): string {
  const s = report.summary;
  const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;
  const lines = [
    `verify ${location}`,
    `  schema v${s.schemaVersion}; ${plural(s.auditEntries, 'audit entry', 'audit entries')}; ` +
      `${plural(s.finishedRounds, 'finished round')} (last ${s.lastRound}); ${plural(s.checkpoints, 'checkpoint')}; ` +
      `${plural(s.interruptedAttempts, 'interrupted attempt')}`,
    `  audit head ${s.headHash}`,
    ...report.notes.map((n) => `  note: ${n}`),
  ];
  if (report.ok) lines.push('  OK: audit chain, checkpoints and rounds are intact');
  else lines.push(`  FAILED: ${plural(report.problems.length, 'problem')}`, ...report.problems.map((p) => `  - ${p}`));
  return lines.join('\n');
}
