import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { adapterSha256 } from './checkpoints.ts';
import { SCHEMA_VERSION } from './migrations.ts';
import { SqliteStore } from './store.ts';
import { CONFIG, storeWithRounds, tempDbPaths } from './test-support.ts';

const freshDbPath = tempDbPaths();

/** A closed database with three finished rounds; returns its path. */
function threeRounds(): string {
  const dbPath = freshDbPath();
  storeWithRounds(dbPath, 3).close();
  return dbPath;
}

function verify(path: string) {
  const store = SqliteStore.open(path, { readonly: true });
  try {
    return store.verify();
  } finally {
    store.close();
  }
}

function raw(path: string, sql: string, ...params: unknown[]): void {
  const db = new Database(path);
  db.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;');
  db.prepare(sql).run(...params);
  db.close();
}

describe('verify', () => {
  it('passes an intact database and summarises it', () => {
    const path = threeRounds();
    const report = verify(path);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.summary).toMatchObject({ schemaVersion: SCHEMA_VERSION, finishedRounds: 3, lastRound: 3, checkpoints: 4, interruptedAttempts: 0 });
    // resume, manifest, checkpoint 0, 3 × (round-started, checkpoint, round-finished), 3 enrolments, stop
    expect(report.summary.auditEntries).toBe(1 + 3 + 1 + 1 + 9 + 1);
    expect(report.summary.headHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('notes a round left open by a killed coordinator without calling it a problem', () => {
    const dbPath = freshDbPath();
    const store = storeWithRounds(dbPath, 1);
    store.beginRound(2, CONFIG, []);
    store.close();
    const report = verify(dbPath);
    expect(report.ok).toBe(true);
    expect(report.notes).toEqual(['round 2 attempt 1 was left open (coordinator killed); the next start reruns it']);
  });

  it('detects an audit entry changed through a raw connection with the triggers dropped', () => {
    const path = threeRounds();
    raw(path, "UPDATE audit_log SET body = replace(body, '\"outcome\":\"completed\"', '\"outcome\":\"aborted\"') WHERE seq = (SELECT max(seq) FROM audit_log WHERE kind = 'round-finished')");
    const report = verify(path);
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual(expect.stringMatching(/^audit entry \d+: hash does not match its content/));
  });

  it('detects a checkpoint replaced together with its stored hash (the audit log still has the old one)', () => {
    const path = threeRounds();
    const forged = new Float32Array([9, 9, 9, 9]);
    raw(path, 'UPDATE checkpoints SET adapter = ?, sha256 = ? WHERE round = 2', Buffer.from(forged.buffer), adapterSha256(forged));
    expect(verify(path).problems).toEqual(['checkpoint 2: hash differs from the audited one (replaced)']);
  });

  it('detects a checkpoint whose bytes changed', () => {
    const path = threeRounds();
    raw(path, 'UPDATE checkpoints SET adapter = ? WHERE round = 1', Buffer.from(new Float32Array([1, 1, 1, 2]).buffer));
    expect(verify(path).problems).toEqual([expect.stringMatching(/^checkpoint 1: content hash .* differs from the stored/)]);
  });

  it('detects a deleted checkpoint', () => {
    const path = threeRounds();
    raw(path, 'DELETE FROM checkpoints WHERE round = 3');
    expect(verify(path).problems).toEqual(['checkpoint 3: audited but missing', 'round 3: completed without a checkpoint']);
  });

  it('detects a finished round removed from the middle', () => {
    const path = threeRounds();
    raw(path, 'DELETE FROM rounds WHERE round = 2');
    expect(verify(path).problems).toEqual([
      'round 2: missing (finished rounds must be 1..n, each once)',
      'round 2: audited as finished but missing from the rounds table',
    ]);
  });

  it('detects a round finished twice', () => {
    const path = threeRounds();
    raw(path, 'DROP INDEX rounds_one_finished');
    raw(path, "INSERT INTO rounds SELECT round, attempt + 1, status, started_at, ended_at, config, outcome, reason, record FROM rounds WHERE round = 2");
    expect(verify(path).problems).toContainEqual('round 2: finished more than once');
  });

  it('detects an altered round record', () => {
    const path = threeRounds();
    raw(path, `UPDATE rounds SET record = replace(record, '"extra":20', '"extra":21') WHERE round = 2`);
    expect(verify(path).problems).toEqual(['round 2: record differs from the audited one (altered)']);
  });

  it('detects a replaced manifest', () => {
    const path = threeRounds();
    raw(path, "UPDATE meta SET value = ? WHERE key = 'manifest_sha256'", 'f'.repeat(64));
    expect(verify(path).problems).toEqual(['manifest: stored hash differs from the audited adoption (replaced)']);
  });
});
