import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ML_DSA65_PUBLIC_KEY_BYTES, identityFingerprint, manifestHash } from '@fedwarden/shared';
import { SqliteStore } from './store.ts';
import { CONFIG, MANIFEST, PARTICIPANTS, globalAfter, record, storeWithRounds, tempDbPaths } from './test-support.ts';

const freshDbPath = tempDbPaths();

const path = freshDbPath;

function count(p: string, sql: string): number {
  const raw = new Database(p, { readonly: true });
  try {
    return (raw.prepare(sql).get() as { n: number }).n;
  } finally {
    raw.close();
  }
}

describe('SqliteStore', () => {
  it('a fresh store has nothing to resume', () => {
    const store = SqliteStore.open();
    const state = store.resume(PARTICIPANTS);
    expect(state).toEqual({ checkpointRound: 0, lastFinishedRound: 0, records: [], interrupted: [], isolationHistory: [] });
    expect(store.participants().map((p) => p.id)).toEqual(['p0', 'p1', 'p2']);
    expect(store.verify().ok).toBe(true);
    store.close();
  });

  it('resumes the manifest, the latest checkpoint, reputation and the finished records after a restart', () => {
    const p = path();
    storeWithRounds(p, 2).close();

    const store = SqliteStore.open(p);
    const state = store.resume(PARTICIPANTS);
    expect(state.lastFinishedRound).toBe(2);
    expect(state.checkpointRound).toBe(2);
    expect(state.interrupted).toEqual([]);
    expect(state.manifest?.digest).toBe(manifestHash(MANIFEST));
    expect(state.manifest?.manifest).toEqual(MANIFEST);
    expect([...state.manifest!.global]).toEqual([...globalAfter(2)]);
    expect(state.records).toEqual([record(1), record(2)]);
    expect(store.reputation.get('p0')).toEqual({ alpha: 2, beta: 0, lastRound: 2, excludedThrough: 0, exclusions: 0, participations: 0, rejections: 0, recent: 0 });
    expect(store.beginRound(3, CONFIG, [])).toBe(1);
    store.close();
  });

  it('records a round a killed coordinator left open as interrupted, and runs it again as the next attempt', () => {
    const p = path();
    const first = storeWithRounds(p, 1);
    first.beginRound(2, CONFIG, ['p0']);
    first.reputation.set('p1', { alpha: 9, beta: 0, lastRound: 2, excludedThrough: 0, exclusions: 0, participations: 0, rejections: 0, recent: 0 }); // evidence never committed
    first.close(); // as far as the rounds table is concerned, the same as a kill: round 2 is still open

    const store = SqliteStore.open(p);
    const state = store.resume(PARTICIPANTS);
    expect(state.interrupted).toEqual([2]);
    expect(state.lastFinishedRound).toBe(1);
    expect([...state.manifest!.global]).toEqual([...globalAfter(1)]);
    expect(store.reputation.get('p1')).toBeUndefined();
    expect(store.beginRound(2, CONFIG, ['p0'])).toBe(2);
    store.finishRound(2, record(2), globalAfter(2));
    expect(store.rounds().map((r) => [r.round, r.attempt, r.status, r.reason])).toEqual([
      [1, 1, 'finished', '3 of 3 contributed'],
      [2, 1, 'interrupted', 'coordinator restarted'],
      [2, 2, 'finished', '3 of 3 contributed'],
    ]);
    expect(store.verify()).toMatchObject({ ok: true, problems: [], summary: { finishedRounds: 2, lastRound: 2, interruptedAttempts: 1 } });
    store.close();
  });

  it('writes a round end in one transaction: a failure half way leaves none of it', () => {
    const p = path();
    const store = storeWithRounds(p, 1);
    const attempt = store.beginRound(2, CONFIG, ['p0']);
    store.reputation.set('p2', { alpha: 1, beta: 0, lastRound: 2, excludedThrough: 0, exclusions: 0, participations: 0, rejections: 0, recent: 0 });
    const before = {
      audit: count(p, 'SELECT count(*) AS n FROM audit_log'),
      checkpoints: count(p, 'SELECT count(*) AS n FROM checkpoints'),
    };
    // The round row is updated and reputation flushed before the checkpoint refuses the wrong-sized adapter.
    expect(() => store.finishRound(attempt, record(2), new Float32Array(3))).toThrow(/has 3 values, the manifest 4/);
    expect(count(p, "SELECT count(*) AS n FROM rounds WHERE round = 2 AND status = 'started'")).toBe(1);
    expect(count(p, 'SELECT count(*) AS n FROM reputation WHERE participant_id = \'p2\'')).toBe(0);
    expect(count(p, 'SELECT count(*) AS n FROM audit_log')).toBe(before.audit);
    expect(count(p, 'SELECT count(*) AS n FROM checkpoints')).toBe(before.checkpoints);

    // The same round can still finish properly.
    store.finishRound(attempt, record(2), globalAfter(2));
    expect(count(p, "SELECT count(*) AS n FROM rounds WHERE round = 2 AND status = 'finished'")).toBe(1);
    expect(count(p, 'SELECT count(*) AS n FROM reputation WHERE participant_id = \'p2\'')).toBe(1);
    expect(store.verify().ok).toBe(true);
    store.close();
  });

  it('an aborted round is finished without a checkpoint, and the global stays at the last one', () => {
    const p = path();
    const first = storeWithRounds(p, 1);
    first.finishRound(first.beginRound(2, CONFIG, []), record(2, 'aborted'), undefined);
    first.close();
    const store = SqliteStore.open(p);
    const state = store.resume(PARTICIPANTS);
    expect(state.lastFinishedRound).toBe(2);
    expect(state.checkpointRound).toBe(1);
    expect([...state.manifest!.global]).toEqual([...globalAfter(1)]);
    store.close();
  });

  it('refuses to resume from a corrupt checkpoint', () => {
    const p = path();
    storeWithRounds(p, 2).close();
    const raw = new Database(p);
    raw.prepare('UPDATE checkpoints SET adapter = ? WHERE round = 2').run(Buffer.from(new Float32Array([2, 2, 2, 3]).buffer));
    raw.close();
    const store = SqliteStore.open(p);
    expect(() => store.resume(PARTICIPANTS)).toThrow(expect.objectContaining({ code: 'STORAGE_CORRUPT', message: expect.stringMatching(/checkpoint of round 2/) }));
    store.close();
  });

  it('refuses to resume from a tampered audit log', () => {
    const p = path();
    storeWithRounds(p, 1).close();
    const raw = new Database(p);
    raw.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET at = at + 1 WHERE seq = 3;");
    raw.close();
    const store = SqliteStore.open(p);
    expect(() => store.resume(PARTICIPANTS)).toThrow(expect.objectContaining({ code: 'STORAGE_CORRUPT', message: expect.stringMatching(/audit log entry 3/) }));
    store.close();
  });

  it('refuses a second manifest', () => {
    const store = SqliteStore.open();
    store.resume(PARTICIPANTS);
    store.adoptManifest(MANIFEST, manifestHash(MANIFEST), globalAfter(0));
    expect(() => store.adoptManifest(MANIFEST, manifestHash(MANIFEST), globalAfter(0))).toThrow(/already has a manifest/);
    store.close();
  });

  it('keeps the round config without the enrolment', () => {
    const store = storeWithRounds(':memory:', 1);
    const config = JSON.parse(store.rounds()[0]!.config) as Record<string, unknown>;
    expect(config['participants']).toBe(3);
    expect(JSON.stringify(config)).not.toContain(PARTICIPANTS[0]!.tokenSha256);
    expect(config['rounds']).toEqual(CONFIG.rounds);
    store.close();
  });

  it('registers a participant\'s first identity key once, audit-logging only its fingerprint, and forgets it on reset', () => {
    const key = (b: number) => new Uint8Array(ML_DSA65_PUBLIC_KEY_BYTES).fill(b);
    const store = SqliteStore.open();
    store.resume(PARTICIPANTS);
    expect(store.identity('p0')).toBeUndefined();
    const first = store.registerIdentity('p0', key(1), identityFingerprint(key(1)));
    expect(first.created).toBe(true);
    expect(first.identity.fingerprint).toBe(identityFingerprint(key(1)));
    // Another key later: nothing changes, and the caller learns which key is registered.
    const second = store.registerIdentity('p0', key(2), identityFingerprint(key(2)));
    expect(second.created).toBe(false);
    expect([...second.identity.publicKey]).toEqual([...key(1)]);
    expect(store.participants().map((p) => [p.id, p.identitySha256])).toEqual([
      ['p0', identityFingerprint(key(1))],
      ['p1', null],
      ['p2', null],
    ]);

    expect(store.resetIdentity('p0')).toBe(identityFingerprint(key(1)));
    expect(store.identity('p0')).toBeUndefined();
    expect(store.resetIdentity('p0')).toBeUndefined(); // nothing registered: nothing written
    expect(store.registerIdentity('p0', key(2), identityFingerprint(key(2))).created).toBe(true);
    expect(() => store.resetIdentity('nobody')).toThrow(expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringMatching(/participant nobody is not in the database/) }));

    const entries = store.auditEntries().filter((e) => e.kind.startsWith('identity-'));
    expect(entries.map((e) => [e.kind, e.body])).toEqual([
      ['identity-registered', { participant: 'p0', fingerprint: identityFingerprint(key(1)) }],
      ['identity-reset', { participant: 'p0', fingerprint: identityFingerprint(key(1)) }],
      ['identity-registered', { participant: 'p0', fingerprint: identityFingerprint(key(2)) }],
    ]);
    expect(store.verify().ok).toBe(true);
    store.close();
  });

  it('takes a reset made through another connection (the operator\'s command) while it is open, and keeps the audit chain whole', () => {
    const p = path();
    const key = new Uint8Array(ML_DSA65_PUBLIC_KEY_BYTES).fill(7);
    const running = SqliteStore.open(p);
    running.resume(PARTICIPANTS);
    running.registerIdentity('p1', key, identityFingerprint(key));
    const operator = SqliteStore.open(p);
    expect(operator.resetIdentity('p1')).toBe(identityFingerprint(key));
    operator.close();
    expect(running.identity('p1')).toBeUndefined();
    running.beginRound(1, CONFIG, ['p0']); // the running store writes on after the other process's commit
    expect(running.verify().ok).toBe(true);
    running.close();
  });
});
