import { describe, expect, it } from 'vitest';
import { MEMORY, openDatabase } from './database.ts';
import { ParticipantsTable } from './participants.ts';

const hash = (c: string) => c.repeat(64);

describe('participants table', () => {
  it('follows the configured enrolment and reports what changed', () => {
    const db = openDatabase(MEMORY);
    const table = new ParticipantsTable(db);
    expect(table.sync([{ id: 'a', tokenSha256: hash('1') }, { id: 'b', tokenSha256: hash('2') }], 100)).toEqual({
      enrolled: ['a', 'b'],
      tokenChanged: [],
      unenrolled: [],
    });
    // Same config again: nothing changes.
    expect(table.sync([{ id: 'a', tokenSha256: hash('1') }, { id: 'b', tokenSha256: hash('2') }], 200)).toEqual({
      enrolled: [],
      tokenChanged: [],
      unenrolled: [],
    });
    // a's token rotated, b removed, c added.
    expect(table.sync([{ id: 'a', tokenSha256: hash('3') }, { id: 'c', tokenSha256: hash('4') }], 300)).toEqual({
      enrolled: ['c'],
      tokenChanged: ['a'],
      unenrolled: ['b'],
    });
    expect(table.list().map((p) => [p.id, p.tokenSha256[0], p.enrolled, p.enrolledAt])).toEqual([
      ['a', '3', true, 100],
      ['b', '2', false, 100],
      ['c', '4', true, 300],
    ]);
    // b comes back.
    expect(table.sync([{ id: 'a', tokenSha256: hash('3') }, { id: 'b', tokenSha256: hash('2') }, { id: 'c', tokenSha256: hash('4') }], 400)).toEqual({
      enrolled: ['b'],
      tokenChanged: [],
      unenrolled: [],
    });
    db.close();
  });

  it('keeps the first and the last time a participant was seen', () => {
    const db = openDatabase(MEMORY);
    const table = new ParticipantsTable(db);
    table.sync([{ id: 'a', tokenSha256: hash('1') }], 1);
    expect(table.get('a')).toMatchObject({ firstSeen: null, lastSeen: null });
    table.seen('a', 10);
    table.seen('a', 25);
    expect(table.get('a')).toMatchObject({ firstSeen: 10, lastSeen: 25 });
    table.seen('nobody', 30); // unknown ids are ignored, not inserted
    expect(table.list()).toHaveLength(1);
    db.close();
  });

  it('registers an identity key only where none is, and clears it', () => {
    const db = openDatabase(MEMORY);
    const table = new ParticipantsTable(db);
    table.sync([{ id: 'a', tokenSha256: hash('1') }], 1);
    const key = new Uint8Array(1952).fill(3);
    expect(table.identity('a')).toBeUndefined();
    expect(table.registerIdentity('a', key, hash('f'), 5)).toBe(true);
    expect(table.registerIdentity('a', new Uint8Array(1952), hash('e'), 6)).toBe(false);
    expect(table.registerIdentity('nobody', key, hash('f'), 6)).toBe(false);
    const registered = table.identity('a')!;
    expect([...registered.publicKey]).toEqual([...key]);
    expect(registered).toMatchObject({ fingerprint: hash('f'), registeredAt: 5 });
    expect(table.get('a')?.identitySha256).toBe(hash('f'));
    expect(table.clearIdentity('a')).toBe(hash('f'));
    expect(table.clearIdentity('a')).toBeUndefined();
    expect(table.get('a')?.identitySha256).toBeNull();
    db.close();
  });
});
