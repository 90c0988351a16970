/**
 * A coordinator given a store that already holds a federation continues it: manifest, global adapter,
 * reputation and round number come from storage, and a pinned manifest that differs is refused.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '@fedwarden/shared';
import { parseConfig } from './config.ts';
import { Coordinator } from './coordinator.ts';
import { ephemeralIdentity } from './identity.ts';
import { SqliteStore } from './storage/store.ts';
import { MANIFEST, PARTICIPANTS, globalAfter, storeWithRounds } from './storage/test-support.ts';

const config = (overrides: Record<string, unknown> = {}) =>
  parseConfig({ port: 0, logLevel: 'silent', participants: PARTICIPANTS, rounds: { count: 5, minParticipants: 3 }, ...overrides });

describe('Coordinator over a store', () => {
  it('resumes manifest, global adapter, reputation and the next round', async () => {
    const store = storeWithRounds(':memory:', 2);
    const coordinator = new Coordinator(config(), ephemeralIdentity(), silentLogger, { store });
    expect(coordinator.resumed).toEqual({ lastFinishedRound: 2, interrupted: [] });
    expect(coordinator.adapterManifest).toEqual(MANIFEST);
    expect([...coordinator.globalAdapter()!]).toEqual([...globalAfter(2)]);
    // storeWithRounds gave p0 α = 2, β = 0 after round 2: score (2 + 1)/(2 + 0 + 2).
    expect(coordinator.reputationOf('p0')).toBeCloseTo(0.75, 12);
    expect(coordinator.reputationOf('p1')).toBe(0.5);
    await coordinator.stop();
  });

  it('refuses a stored federation whose manifest the config does not pin', () => {
    const store = storeWithRounds(':memory:', 1);
    expect(() => new Coordinator(config({ model: { manifestSha256: 'e'.repeat(64) } }), ephemeralIdentity(), silentLogger, { store })).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringMatching(/data dir's federation uses adapter manifest/) }),
    );
    store.close();
  });

  it('stop() while waiting for participants ends run() without touching the rounds, and closes the store', async () => {
    const store = SqliteStore.open();
    const coordinator = new Coordinator(config(), ephemeralIdentity(), silentLogger, { store });
    await coordinator.listen();
    const run = coordinator.run();
    await coordinator.stop();
    expect(await run).toEqual([]);
    expect(() => store.rounds()).toThrow(/not open/);
  });
});
