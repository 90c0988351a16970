import { describe, expect, it } from 'vitest';
import { MEMORY, openDatabase } from './database.ts';
import { RoundsTable } from './rounds.ts';

describe('rounds table', () => {
  it('numbers attempts and finishes each round once, in order', () => {
    const db = openDatabase(MEMORY);
    const rounds = new RoundsTable(db);
    expect(rounds.lastFinished()).toBe(0);
    expect(rounds.begin(1, '{}', 10)).toBe(1);
    rounds.finish(1, 1, 'completed', 'ok', '{"round":1}', 11);
    expect(rounds.lastFinished()).toBe(1);

    expect(rounds.begin(2, '{}', 12)).toBe(1);
    rounds.interrupt(2, 1, 'coordinator stopping', null, 13);
    expect(rounds.begin(2, '{}', 14)).toBe(2);
    rounds.finish(2, 2, 'aborted', 'quorum not met', '{"round":2}', 15);

    expect(rounds.all().map((r) => [r.round, r.attempt, r.status, r.outcome, r.reason])).toEqual([
      [1, 1, 'finished', 'completed', 'ok'],
      [2, 1, 'interrupted', 'aborted', 'coordinator stopping'],
      [2, 2, 'finished', 'aborted', 'quorum not met'],
    ]);
    expect(rounds.finished().map((r) => r.round)).toEqual([1, 2]);
    db.close();
  });

  it('refuses to skip, repeat or overlap rounds', () => {
    const db = openDatabase(MEMORY);
    const rounds = new RoundsTable(db);
    expect(() => rounds.begin(2, '{}', 1)).toThrow(/cannot start round 2; the next round is 1/);
    rounds.begin(1, '{}', 1);
    expect(() => rounds.begin(1, '{}', 1)).toThrow(/still open/);
    rounds.finish(1, 1, 'completed', 'ok', '{}', 2);
    expect(() => rounds.finish(1, 1, 'completed', 'ok', '{}', 3)).toThrow(/not open/);
    expect(() => rounds.begin(1, '{}', 1)).toThrow(/the next round is 2/);
    db.close();
  });

  it('lists attempts a killed coordinator left open', () => {
    const db = openDatabase(MEMORY);
    const rounds = new RoundsTable(db);
    rounds.begin(1, '{"seed":1}', 5);
    expect(rounds.unfinished()).toEqual([
      { round: 1, attempt: 1, status: 'started', startedAt: 5, endedAt: null, outcome: null, reason: null, record: null, config: '{"seed":1}' },
    ]);
    db.close();
  });

  it('the schema itself forbids a second finished attempt of a round', () => {
    const db = openDatabase(MEMORY);
    const rounds = new RoundsTable(db);
    rounds.begin(1, '{}', 1);
    rounds.finish(1, 1, 'completed', 'ok', '{}', 2);
    expect(() =>
      db.prepare("INSERT INTO rounds (round, attempt, status, started_at, config) VALUES (1, 2, 'finished', 3, '{}')").run(),
    ).toThrow(/UNIQUE/);
    db.close();
  });
});
