import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { FedwardenError } from '@fedwarden/shared';
import { MEMORY, openDatabase } from './database.ts';
import { MIGRATIONS, SCHEMA_VERSION, migrate, schemaVersion } from './migrations.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function tables(db: Database.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
}

function columns(db: Database.Database, table: string): string[] {
  return (db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((c) => c.name);
}

describe('schema migrations', () => {
  it('the migration list is numbered 1..n', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('creates the current schema on an empty database', () => {
    const db = new Database(MEMORY);
    expect(schemaVersion(db)).toBe(0);
    expect(migrate(db)).toEqual({ from: 0, to: SCHEMA_VERSION });
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(tables(db)).toEqual(['alerts', 'audit_log', 'checkpoints', 'isolation_history', 'meta', 'participants', 'reputation', 'rounds', 'server_optimizer']);
    expect(columns(db, 'participants')).toEqual([
      'id',
      'token_sha256',
      'enrolled',
      'enrolled_at',
      'first_seen',
      'last_seen',
      'identity_key',
      'identity_sha256',
      'identity_registered_at',
    ]);
    // Running it again changes nothing.
    expect(migrate(db)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    db.close();
  });

  it('upgrades a v1 database and keeps its rows', () => {
    const db = new Database(MEMORY);
    migrate(db, MIGRATIONS.slice(0, 1));
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).not.toContain('reputation');
    db.prepare("INSERT INTO participants (id, token_sha256, enrolled_at) VALUES ('alice', ?, 5)").run('a'.repeat(64));
    db.prepare("INSERT INTO rounds (round, attempt, status, started_at, config) VALUES (1, 1, 'started', 6, '{}')").run();

    expect(migrate(db)).toEqual({ from: 1, to: SCHEMA_VERSION });
    expect(db.prepare('SELECT * FROM participants').all()).toEqual([
      {
        id: 'alice',
        token_sha256: 'a'.repeat(64),
        enrolled: 1,
        enrolled_at: 5,
        first_seen: null,
        last_seen: null,
        identity_key: null,
        identity_sha256: null,
        identity_registered_at: null,
      },
    ]);
    expect(db.prepare('SELECT round, status FROM rounds').all()).toEqual([{ round: 1, status: 'started' }]);
    db.prepare("INSERT INTO reputation VALUES ('alice', 1, 0, 1, 0, 0, 3, 1, 0)").run();
    db.close();
  });

  it('gives v2 reputation rows zero lifetime counts when upgrading to v3', () => {
    const db = new Database(MEMORY);
    migrate(db, MIGRATIONS.slice(0, 2));
    db.prepare("INSERT INTO participants (id, token_sha256, enrolled_at) VALUES ('alice', ?, 5)").run('a'.repeat(64));
    db.prepare("INSERT INTO reputation VALUES ('alice', 2.5, 0.5, 4, 0, 1)").run();
    expect(migrate(db)).toEqual({ from: 2, to: SCHEMA_VERSION });
    expect(db.prepare('SELECT alpha, exclusions, participations, rejections FROM reputation').all()).toEqual([
      { alpha: 2.5, exclusions: 1, participations: 0, rejections: 0 },
    ]);
    db.close();
  });

  it('gives v3 participants no identity key when upgrading to v4, and accepts only well-sized keys afterwards', () => {
    const db = new Database(MEMORY);
    migrate(db, MIGRATIONS.slice(0, 3));
    db.prepare("INSERT INTO participants (id, token_sha256, enrolled_at, first_seen) VALUES ('alice', ?, 5, 7)").run('a'.repeat(64));
    expect(migrate(db)).toEqual({ from: 3, to: SCHEMA_VERSION });
    expect(db.prepare('SELECT first_seen, identity_key, identity_sha256, identity_registered_at FROM participants').all()).toEqual([
      { first_seen: 7, identity_key: null, identity_sha256: null, identity_registered_at: null },
    ]);
    const setKey = db.prepare("UPDATE participants SET identity_key = ?, identity_sha256 = ? WHERE id = 'alice'");
    expect(() => setKey.run(Buffer.alloc(1951), 'b'.repeat(64))).toThrow(/CHECK constraint failed/);
    expect(() => setKey.run(Buffer.alloc(1952), 'b'.repeat(63))).toThrow(/CHECK constraint failed/);
    setKey.run(Buffer.alloc(1952), 'b'.repeat(64));
    db.close();
  });

  it('adds the alerts table to a v4 database, with at most one firing alert per key', () => {
    const db = new Database(MEMORY);
    migrate(db, MIGRATIONS.slice(0, 4));
    expect(tables(db)).not.toContain('alerts');
    expect(migrate(db)).toEqual({ from: 4, to: SCHEMA_VERSION });
    const insert = db.prepare("INSERT INTO alerts VALUES (?, 'k', ?, 'warning', 1, 1, 5, '{}')");
    insert.run('k@1', 'resolved');
    insert.run('k@2', 'firing');
    expect(() => insert.run('k@3', 'firing')).toThrow(/UNIQUE constraint failed/);
    expect(() => insert.run('k@4', 'open')).toThrow(/CHECK constraint failed/);
    db.close();
  });

  it('gives v5 reputation rows an empty recent record when upgrading to v6, keeps it to 30 bits, and adds the isolation history', () => {
    const db = new Database(MEMORY);
    migrate(db, MIGRATIONS.slice(0, 5));
    expect(columns(db, 'reputation')).not.toContain('recent');
    expect(tables(db)).not.toContain('isolation_history');
    db.prepare("INSERT INTO participants (id, token_sha256, enrolled_at) VALUES ('alice', ?, 5)").run('a'.repeat(64));
    db.prepare("INSERT INTO reputation VALUES ('alice', 2.5, 0.5, 4, 0, 1, 9, 2)").run();
    expect(migrate(db)).toEqual({ from: 5, to: SCHEMA_VERSION });
    expect(db.prepare('SELECT alpha, participations, rejections, recent FROM reputation').all()).toEqual([
      { alpha: 2.5, participations: 9, rejections: 2, recent: 0 },
    ]);
    const setRecent = db.prepare("UPDATE reputation SET recent = ? WHERE participant_id = 'alice'");
    setRecent.run(2 ** 30 - 1);
    expect(() => setRecent.run(2 ** 30)).toThrow(/CHECK constraint failed/);
    expect(() => setRecent.run(-1)).toThrow(/CHECK constraint failed/);
    expect(db.prepare('SELECT count(*) AS n FROM isolation_history').get()).toEqual({ n: 0 });
    expect(() => db.prepare("INSERT INTO isolation_history VALUES (0, '[]')").run()).toThrow(/CHECK constraint failed/);
    db.close();
  });

  it('adds an empty server optimizer table to a v6 database, one row at most', () => {
    const db = new Database(MEMORY);
    migrate(db, MIGRATIONS.slice(0, 6));
    expect(tables(db)).not.toContain('server_optimizer');
    expect(migrate(db)).toEqual({ from: 6, to: SCHEMA_VERSION });
    expect(db.prepare('SELECT count(*) AS n FROM server_optimizer').get()).toEqual({ n: 0 });
    const insert = db.prepare("INSERT INTO server_optimizer VALUES (?, 1, 'fedadam', 1, 0, NULL, NULL, 'x')");
    insert.run(1);
    expect(() => insert.run(2)).toThrow(/CHECK constraint failed/);
    db.close();
  });

  it('rolls a failing migration back whole, leaving the previous version', () => {
    const db = new Database(MEMORY);
    const broken = [...MIGRATIONS.slice(0, 1), { version: 2, description: 'broken', sql: 'CREATE TABLE half (x INTEGER); SELECT * FROM nowhere;' }];
    expect(() => migrate(db, broken)).toThrow(/no such table: nowhere/);
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).not.toContain('half');
    db.close();
  });

  it('refuses a database written by a newer coordinator, on open and read-only', () => {
    dir = mkdtempSync(join(tmpdir(), 'fedwarden-migrations-'));
    const path = join(dir, 'fedwarden.db');
    openDatabase(path).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    for (const readonly of [false, true]) {
      let error: unknown;
      try {
        openDatabase(path, { readonly }).close();
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(FedwardenError);
      expect((error as FedwardenError).code).toBe('STORAGE_VERSION');
      expect((error as FedwardenError).message).toMatch(new RegExp(`v${SCHEMA_VERSION + 1} is newer than this coordinator's v${SCHEMA_VERSION}`));
    }
  });

  it('opens file databases in WAL mode with foreign keys on and full sync', () => {
    dir = mkdtempSync(join(tmpdir(), 'fedwarden-migrations-'));
    const db = openDatabase(join(dir, 'fedwarden.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    db.close();
  });

  it('reports a file that is not a database as STORAGE_CORRUPT', () => {
    dir = mkdtempSync(join(tmpdir(), 'fedwarden-migrations-'));
    const path = join(dir, 'fedwarden.db');
    writeFileSync(path, 'this is not a database, just text long enough to fill a header ............................');
    expect(() => openDatabase(path)).toThrow(expect.objectContaining({ code: 'STORAGE_CORRUPT' }));
  });
});
