import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, GENESIS_HASH, entryHash } from './audit-log.ts';
import { MEMORY, openDatabase } from './database.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function fileLog(): { path: string; db: Database.Database; log: AuditLog } {
  dir = mkdtempSync(join(tmpdir(), 'fedwarden-audit-'));
  const path = join(dir, 'fedwarden.db');
  const db = openDatabase(path);
  const log = new AuditLog(db);
  log.append('coordinator-started', { lastFinishedRound: 0, interrupted: [] }, 1000);
  log.append('round-started', { round: 1, attempt: 1, selected: 3 }, 2000);
  log.append('round-finished', { round: 1, attempt: 1, outcome: 'completed', reported: 3, recordSha256: 'ab'.repeat(32) }, 3000);
  return { path, db, log };
}

/** A second connection that drops the append-only triggers first, as someone with the file could. */
function tamper(path: string, sql: string): void {
  const raw = new Database(path);
  raw.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
  raw.exec(sql);
  raw.close();
}

describe('audit log', () => {
  it('chains each entry to the previous one by hash', () => {
    const db = openDatabase(MEMORY);
    const log = new AuditLog(db);
    expect(log.head()).toEqual({ seq: 0, hash: GENESIS_HASH });
    const a = log.append('manifest-adopted', { sha256: 'cd'.repeat(32), params: 10 }, 5);
    const b = log.append('checkpoint', { round: 0, sha256: 'ef'.repeat(32), params: 10 }, 6);
    expect(a.prevHash).toBe(GENESIS_HASH);
    expect(b.prevHash).toBe(a.hash);
    // Recomputed independently of the log: SHA-256(prev ‖ canonical {seq, at, kind, body}).
    expect(b.hash).toBe(entryHash(a.hash, { seq: 2, at: 6, kind: 'checkpoint', body: { params: 10, round: 0, sha256: 'ef'.repeat(32) } }));
    expect(b.hash).not.toBe(entryHash(a.hash, { seq: 2, at: 6, kind: 'checkpoint', body: { params: 11, round: 0, sha256: 'ef'.repeat(32) } }));
    expect(log.head()).toEqual({ seq: 2, hash: b.hash });
    expect([...log.entries()].map((e) => e.kind)).toEqual(['manifest-adopted', 'checkpoint']);
    expect(log.verify()).toEqual([]);
    db.close();
  });

  it('refuses UPDATE and DELETE through SQL', () => {
    const { db, log } = fileLog();
    expect(() => db.prepare("UPDATE audit_log SET body = '{}' WHERE seq = 2").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 3').run()).toThrow(/append-only/);
    expect(log.size).toBe(3);
    expect(log.verify()).toEqual([]);
    db.close();
  });

  it('detects an entry whose body was changed behind the triggers', () => {
    const { path, db, log } = fileLog();
    tamper(path, `UPDATE audit_log SET body = '{"attempt":1,"round":1,"selected":2}' WHERE seq = 2`);
    expect(log.verify()).toEqual([{ seq: 2, problem: 'hash does not match its content (entry altered)' }]);
    db.close();
  });

  it('detects an entry rewritten with a fresh hash: the next link breaks', () => {
    const { path, db, log } = fileLog();
    const body = { round: 1, attempt: 1, selected: 2 };
    const first = [...log.entries()][0]!;
    const forged = entryHash(first.hash, { seq: 2, at: 2000, kind: 'round-started', body });
    tamper(path, `UPDATE audit_log SET body = '{"attempt":1,"round":1,"selected":2}', hash = '${forged}' WHERE seq = 2`);
    expect(log.verify()).toEqual([{ seq: 3, problem: 'does not link to the previous entry' }]);
    db.close();
  });

  it('detects a deleted entry in the middle', () => {
    const { path, db, log } = fileLog();
    tamper(path, 'DELETE FROM audit_log WHERE seq = 2');
    const problems = log.verify();
    expect(problems.map((p) => p.seq)).toEqual([3, 3]);
    expect(problems.map((p) => p.problem).join('; ')).toMatch(/entries are missing.*does not link/);
    db.close();
  });

  it('detects a body that is not canonical JSON even when it parses to the same value', () => {
    const { path, db, log } = fileLog();
    tamper(path, `UPDATE audit_log SET body = '{"round":1,"attempt":1,"selected":3}' WHERE seq = 2`);
    expect(log.verify()).toEqual([{ seq: 2, problem: 'hash does not match its content (entry altered)' }]);
    db.close();
  });
});
