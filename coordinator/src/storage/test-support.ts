/** Helpers for the storage tests: a temporary data dir and a store that has run a few rounds. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestHash, type AdapterManifest } from '@fedwarden/shared';
import { parseConfig, type CoordinatorConfig } from '../config.ts';
import { DB_FILE_NAME } from './database.ts';
import { SqliteStore, type StoredRoundRecord } from './store.ts';
import { afterEach } from 'vitest';

export const PARTICIPANTS = ['p0', 'p1', 'p2'].map((id, i) => ({ id, tokenSha256: String(i).repeat(64) }));
export const MANIFEST: AdapterManifest = { entries: [{ name: 'w', shape: [4], init: { kind: 'zeros' } }] };
export const CONFIG: CoordinatorConfig = parseConfig({ participants: PARTICIPANTS, logLevel: 'silent' });

export function tempDbPath(): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'fedwarden-store-'));
  return { path: join(dir, DB_FILE_NAME), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Call once at the top of a test file: returns a function handing out fresh temporary database paths, whose
 * directories an afterEach it registers removes after each test.
 */
export function tempDbPaths(): () => string {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  return () => {
    const t = tempDbPath();
    cleanups.push(t.cleanup);
    return t.path;
  };
}

export function record(round: number, outcome: 'completed' | 'aborted' = 'completed'): StoredRoundRecord & { extra: number } {
  return { round, outcome, reason: outcome === 'completed' ? '3 of 3 contributed' : 'quorum not met', reported: ['p0', 'p1', 'p2'], extra: round * 10 };
}

/** The global adapter after `round` rounds in these tests: every value equals the round number. */
export function globalAfter(round: number): Float32Array {
  return new Float32Array(4).fill(round);
}

/** A store at `path` with the manifest adopted and rounds 1..rounds finished (completed), closed unless asked. */
export function storeWithRounds(path: string, rounds: number): SqliteStore {
  let clock = 1_000;
  const store = SqliteStore.open(path, { now: () => clock++ });
  store.resume(PARTICIPANTS);
  store.adoptManifest(MANIFEST, manifestHash(MANIFEST), globalAfter(0));
  for (let r = 1; r <= rounds; r++) {
    const attempt = store.beginRound(r, CONFIG, ['p0', 'p1', 'p2']);
    store.reputation.set('p0', { alpha: r, beta: 0, lastRound: r, excludedThrough: 0, exclusions: 0, participations: 0, rejections: 0, recent: 0 });
    store.finishRound(attempt, record(r), globalAfter(r));
  }
  return store;
}
