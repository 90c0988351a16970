import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBetaReputation } from '../reputation/beta-reputation.ts';
import { MemoryReputationStore } from '../reputation/reputation-store.ts';
import { openDatabase, type Db } from './database.ts';
import { ParticipantsTable } from './participants.ts';
import { SqliteReputationStore } from './reputation.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function freshFile(): string {
  dir = mkdtempSync(join(tmpdir(), 'fedwarden-reputation-'));
  return join(dir, 'fedwarden.db');
}

function enrol(db: Db, ids: string[]): void {
  new ParticipantsTable(db).sync(ids.map((id, i) => ({ id, tokenSha256: String(i).repeat(64) })), 1);
}

describe('SqliteReputationStore', () => {
  it('round-trips records through the database', () => {
    const path = freshFile();
    const db = openDatabase(path);
    enrol(db, ['a', 'b']);
    const store = new SqliteReputationStore(db);
    store.set('a', { alpha: 1.9, beta: 0.1, lastRound: 2, excludedThrough: 0, exclusions: 0, participations: 0, rejections: 0, recent: 0 });
    store.set('b', { alpha: 0, beta: 2.71, lastRound: 2, excludedThrough: 7, exclusions: 1, participations: 4, rejections: 3, recent: 0b1011 });
    db.transaction(() => store.flush())();
    store.committed();
    db.close();

    const reopened = openDatabase(path);
    const loaded = new SqliteReputationStore(reopened);
    expect(loaded.get('a')).toEqual({ alpha: 1.9, beta: 0.1, lastRound: 2, excludedThrough: 0, exclusions: 0, participations: 0, rejections: 0, recent: 0 });
    expect(loaded.get('b')).toEqual({ alpha: 0, beta: 2.71, lastRound: 2, excludedThrough: 7, exclusions: 1, participations: 4, rejections: 3, recent: 0b1011 });
    expect(loaded.get('c')).toBeUndefined();
    expect([...loaded.entries()].map(([id]) => id)).toEqual(['a', 'b']);
    reopened.close();
  });

  it('writes nothing until flushed, so evidence of an uncommitted round never reaches the disk', () => {
    const path = freshFile();
    const db = openDatabase(path);
    enrol(db, ['a']);
    const store = new SqliteReputationStore(db);
    store.set('a', { alpha: 1, beta: 0, lastRound: 1, excludedThrough: 0, exclusions: 0, participations: 0, rejections: 0, recent: 0 });
    expect(store.get('a')?.alpha).toBe(1);
    expect(store.pending).toBe(1);
    expect(db.prepare('SELECT count(*) AS n FROM reputation').get()).toEqual({ n: 0 });
    // A flush inside a transaction that rolls back leaves nothing either, and the record stays pending.
    expect(() =>
      db.transaction(() => {
        store.flush();
        throw new Error('round end failed');
      })(),
    ).toThrow('round end failed');
    expect(db.prepare('SELECT count(*) AS n FROM reputation').get()).toEqual({ n: 0 });
    expect(store.pending).toBe(1);
    db.close();
  });

  it('carries a beta reputation book across a restart with the same scores as one that never stopped', () => {
    const path = freshFile();
    const evidence = [
      [{ unitId: 'a', members: ['a'], outcome: 'kept' as const }, { unitId: 'b', members: ['b'], outcome: 'rejected' as const }],
      [{ unitId: 'a', members: ['a'], outcome: 'clipped' as const }, { unitId: 'b', members: ['b'], outcome: 'rejected' as const }],
      [{ unitId: 'a', members: ['a'], outcome: 'kept' as const }, { unitId: 'b', members: ['b'], outcome: 'rejected' as const }],
    ];
    const reference = createBetaReputation({ store: new MemoryReputationStore() });
    evidence.forEach((e, i) => reference.recordRound(i + 1, e));

    let db = openDatabase(path);
    enrol(db, ['a', 'b']);
    let store = new SqliteReputationStore(db);
    let book = createBetaReputation({ store });
    for (const [i, e] of evidence.slice(0, 2).entries()) {
      book.recordRound(i + 1, e);
      db.transaction(() => store.flush())();
      store.committed();
    }
    db.close();

    db = openDatabase(path);
    store = new SqliteReputationStore(db);
    book = createBetaReputation({ store });
    expect(book.lastRound).toBe(2);
    book.recordRound(3, evidence[2]!);
    for (const id of ['a', 'b']) {
      expect(book.score(id)).toBeCloseTo(reference.score(id), 12);
      expect(book.isExcluded(id)).toBe(reference.isExcluded(id));
    }
    expect(book.isExcluded('b')).toBe(true);
    expect(book.flagged()).toEqual(reference.flagged());
    db.close();
  });

  it('refuses reputation for a participant that is not enrolled (foreign key)', () => {
    const db = openDatabase(freshFile());
    const store = new SqliteReputationStore(db);
    store.set('ghost', { alpha: 1, beta: 0, lastRound: 1, excludedThrough: 0, exclusions: 0, participations: 0, rejections: 0, recent: 0 });
    expect(() => db.transaction(() => store.flush())()).toThrow(/FOREIGN KEY/);
    db.close();
  });
});
