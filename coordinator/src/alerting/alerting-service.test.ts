import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@fedwarden/shared';
import { parseConfig, type CoordinatorConfigInput } from '../config.ts';
import { SqliteStore } from '../storage/store.ts';
import { Alerting, type AlertingOptions, type Membership } from './alerting-service.ts';
import { MemoryAlertStateStore } from './alert-state-store.ts';
import { lineSink, roundRecord, startReceiver, unitAlert, type TestReceiver } from './test-support.ts';
import { readWebhookSecret } from './webhook-secret.ts';

const FINGERPRINT = 'cd'.repeat(32);
const NOBODY_OUT: Membership = { excluded: new Set(), enrolled: () => true };

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function receiver(): Promise<TestReceiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}

function alertingConfig(input: CoordinatorConfigInput['alerting']) {
  return parseConfig({ alerting: input }).alerting;
}

const FAST_WEBHOOK = { timeoutMs: 10_000, backoffBaseMs: 10, backoffMaxMs: 50 };

function alerting(options: Partial<AlertingOptions> & Pick<AlertingOptions, 'config'>) {
  const log = lineSink();
  let clock = Date.UTC(2025, 5, 1);
  const a = new Alerting({ log: createLogger('debug', {}, log.sink), fingerprint: FINGERPRINT, now: () => (clock += 1000), ...options });
  cleanups.push(() => a.close());
  return { a, log };
}

const ids = (r: TestReceiver) => r.received.map((x) => [x.json['event'], x.json['status'], x.json['id'], x.json['round']]);

describe('Alerting', () => {
  it('notifies the webhook when an alert opens, not when it repeats, and again when it resolves after clean rounds', async () => {
    const r = await receiver();
    const { a, log } = alerting({ config: alertingConfig({ resolveAfterCleanRounds: 2, webhook: { url: r.url, ...FAST_WEBHOOK } }) });
    a.observe(roundRecord(1, [unitAlert(1, 'p3')]), NOBODY_OUT);
    a.observe(roundRecord(2, [unitAlert(2, 'p3', 'warning', 'cosineToAggregate')]), NOBODY_OUT);
    a.observe(roundRecord(3), NOBODY_OUT);
    expect(a.open().map((x) => [x.key, x.occurrences, x.cleanRounds])).toEqual([['isolation-forest/participant/p3', 2, 1]]);
    a.observe(roundRecord(4), NOBODY_OUT);
    expect(a.open()).toEqual([]);
    await r.waitFor(2);
    await a.close();
    expect(ids(r)).toEqual([
      ['opened', 'firing', 'isolation-forest/participant/p3@1', 1],
      ['resolved', 'resolved', 'isolation-forest/participant/p3@1', 4],
    ]);
    expect(r.received[1]?.json).toMatchObject({ resolution: 'clean-rounds', feature: 'cosineToAggregate', lastRound: 2, occurrences: 2, participants: ['p3'] });
    // The injected clock ticks one second per observed round.
    expect(r.received[1]?.json).toMatchObject({ startsAt: '2025-06-01T00:00:01.000Z', updatedAt: '2025-06-01T00:00:04.000Z', endsAt: '2025-06-01T00:00:04.000Z' });
    // The log channel: firing at warn, the repeat at debug, the resolution at info.
    const lines = log.parsed().filter((l) => l['subsystem'] === 'alerting' && l['channel'] === undefined && String(l['msg']).startsWith('alert'));
    expect(lines.map((l) => [l['level'], (l['msg'] as string).split(':')[0]])).toEqual([
      ['warn', 'alert firing'],
      ['debug', 'alert repeated'],
      ['info', 'alert resolved (clean-rounds)'],
    ]);
  });

  it('resolves when reputation excludes the participant, and tells listeners of every transition', async () => {
    const r = await receiver();
    const events: string[] = [];
    const { a } = alerting({ config: alertingConfig({ webhook: { url: r.url, ...FAST_WEBHOOK } }), onTransition: (t) => events.push(`${t.event}:${t.alert.key}`) });
    a.observe(roundRecord(1, [unitAlert(1, 'p1'), unitAlert(1, 'p2')]), NOBODY_OUT);
    a.observe(roundRecord(2, [unitAlert(2, 'p1')], { excluded: ['p1'] }), { excluded: new Set(['p1']), enrolled: () => true });
    // p2 left the federation (unenrolled at a restart): its alert resolves as removed.
    a.observe(roundRecord(3), { excluded: new Set(['p1']), enrolled: (id) => id !== 'p2' });
    await r.waitFor(4);
    expect(r.received.map((x) => [x.json['event'], x.json['unit'], x.json['resolution']])).toEqual([
      ['opened', 'p1', null],
      ['opened', 'p2', null],
      ['resolved', 'p1', 'excluded'],
      ['resolved', 'p2', 'removed'],
    ]);
    expect(events).toEqual([
      'opened:isolation-forest/participant/p1',
      'opened:isolation-forest/participant/p2',
      'updated:isolation-forest/participant/p1',
      'resolved:isolation-forest/participant/p1',
      'resolved:isolation-forest/participant/p2',
    ]);
  });

  it("sends a webhook only what reaches its minSeverity: an escalation to critical, then that alert's resolution", async () => {
    const r = await receiver();
    const { a } = alerting({
      config: alertingConfig({ escalateAfterRepeats: 2, resolveAfterCleanRounds: 1, webhook: { url: r.url, minSeverity: 'critical', ...FAST_WEBHOOK } }),
    });
    a.observe(roundRecord(1, [unitAlert(1, 'p1'), unitAlert(1, 'p4', 'info')]), NOBODY_OUT);
    a.observe(roundRecord(2, [unitAlert(2, 'p1')]), NOBODY_OUT);
    a.observe(roundRecord(3, [unitAlert(3, 'p1')]), NOBODY_OUT);
    a.observe(roundRecord(4), NOBODY_OUT);
    await a.close();
    expect(r.received.map((x) => [x.json['event'], x.json['severity'], x.json['previousSeverity'], x.json['escalation'], x.json['round']])).toEqual([
      ['escalated', 'critical', 'warning', 'repeats', 3],
      ['resolved', 'critical', null, null, 4],
    ]);
  });

  it('survives a restart: open alerts stay open and are not notified again; the resolution comes from the new process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedwarden-alerting-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'fedwarden.db');
    const r = await receiver();
    const config = alertingConfig({ resolveAfterCleanRounds: 2, webhook: { url: r.url, ...FAST_WEBHOOK } });
    const records = [roundRecord(1, [unitAlert(1, 'p3'), unitAlert(1, 'p4')])];

    const first = SqliteStore.open(path);
    const before = alerting({ config, store: first.alerts });
    expect(before.a.resume([], NOBODY_OUT)).toEqual([]);
    before.a.observe(records[0]!, NOBODY_OUT);
    await before.a.close();
    first.close();
    expect(r.received).toHaveLength(2);

    // The coordinator finished round 2 (p4 alerted again) but died before alerting saw it.
    records.push(roundRecord(2, [unitAlert(2, 'p4')]));
    const second = SqliteStore.open(path);
    cleanups.push(() => second.close());
    const after = alerting({ config, store: second.alerts });
    expect(after.a.open().map((x) => x.id)).toEqual(['isolation-forest/participant/p3@1', 'isolation-forest/participant/p4@1']);
    // Round 1 is not observed again; round 2 is caught up on: p4's repeat (no notification), p3's first clean round.
    expect(after.a.resume(records, NOBODY_OUT).map((t) => `${t.event}:${t.alert.key}`)).toEqual(['updated:isolation-forest/participant/p4']);
    after.a.observe(roundRecord(3), NOBODY_OUT);
    after.a.observe(roundRecord(4), NOBODY_OUT);
    await after.a.close();
    expect(ids(r)).toEqual([
      ['opened', 'firing', 'isolation-forest/participant/p3@1', 1],
      ['opened', 'firing', 'isolation-forest/participant/p4@1', 1],
      ['resolved', 'resolved', 'isolation-forest/participant/p3@1', 3],
      ['resolved', 'resolved', 'isolation-forest/participant/p4@1', 4],
    ]);
    expect(after.a.recent(10).map((x) => [x.id, x.status])).toEqual([
      ['isolation-forest/participant/p4@1', 'resolved'],
      ['isolation-forest/participant/p3@1', 'resolved'],
    ]);
  });

  it('on a store that never ran alerting, starts after the finished rounds instead of replaying them', () => {
    const { a, log } = alerting({ config: alertingConfig({}), store: new MemoryAlertStateStore() });
    const history = [1, 2, 3].map((round) => roundRecord(round, [unitAlert(round, 'p1')]));
    expect(a.resume(history, NOBODY_OUT)).toEqual([]);
    expect(a.observe(history[2]!, NOBODY_OUT)).toEqual([]);
    expect(a.observe(roundRecord(4, [unitAlert(4, 'p1')]), NOBODY_OUT).map((t) => t.event)).toEqual(['opened']);
    expect(log.parsed().some((l) => l['msg'] === 'alerting starts with the next round; earlier rounds are not replayed')).toBe(true);
  });

  it('does not count a round the isolation forest skipped as clean for its alerts', () => {
    const { a } = alerting({ config: alertingConfig({ resolveAfterCleanRounds: 1 }) });
    a.observe(roundRecord(1, [unitAlert(1, 'p1')]), NOBODY_OUT);
    expect(a.observe(roundRecord(2, [], { outcome: 'aborted', isolationSkipped: 'not reviewed: quorum not met' }), NOBODY_OUT)).toEqual([]);
    expect(a.observe(roundRecord(3), NOBODY_OUT).map((t) => t.alert.resolution)).toEqual(['clean-rounds']);
  });

  it('counts a clean round only for a participant in a unit the forest scored', () => {
    const { a } = alerting({ config: alertingConfig({ resolveAfterCleanRounds: 1 }) });
    a.observe(roundRecord(1, [unitAlert(1, 'p1')]), NOBODY_OUT);
    // Not selected: in no unit.
    const others = ['p0', 'p2', 'p3', 'p4'];
    expect(a.observe(roundRecord(2, [], { selected: others, reported: others, unitMembers: Object.fromEntries(others.map((id) => [id, [id]])) }), NOBODY_OUT)).toEqual([]);
    // In a secure group refused before review: its sum was never scored.
    const groups = [
      { id: 'group-0', members: ['p0', 'p1', 'p2'], contributors: ['p0', 'p1', 'p2'], status: 'refused' as const, reason: 'sum out of range' },
      { id: 'group-1', members: ['p3', 'p4'], contributors: ['p3', 'p4'], status: 'summed' as const, reason: 'summed' },
    ];
    const secagg = { privacy: 'secagg' as const, units: 2, unitMembers: { 'group-0': ['p0', 'p1', 'p2'], 'group-1': ['p3', 'p4'] }, groups };
    expect(a.observe(roundRecord(3, [], secagg), NOBODY_OUT)).toEqual([]);
    // In a group that was summed and scored, without a finding: clean.
    const scored = { ...secagg, groups: groups.map((g) => ({ ...g, status: 'summed' as const })) };
    expect(a.observe(roundRecord(4, [], scored), NOBODY_OUT).map((t) => [t.alert.key, t.alert.resolution])).toEqual([['isolation-forest/participant/p1', 'clean-rounds']]);
  });

  it("notifies a secure group's finding once per member, naming the group", () => {
    const { a } = alerting({ config: alertingConfig({}) });
    const secagg = { privacy: 'secagg' as const, units: 2, unitMembers: { 'group-0': ['p2', 'p0'], 'group-1': ['p1', 'p3', 'p4'] } };
    const t = a.observe(roundRecord(1, [unitAlert(1, 'group-0')], secagg), NOBODY_OUT);
    expect(t.map((x) => [x.event, x.alert.key, x.alert.unit, x.alert.participants, x.alert.message])).toEqual([
      ['opened', 'isolation-forest/participant/p0', 'group-0', ['p0'], 'secure group group-0 (p0, p2): unit group-0: isolation score 0.720; norm stands out'],
      ['opened', 'isolation-forest/participant/p2', 'group-0', ['p2'], 'secure group group-0 (p0, p2): unit group-0: isolation score 0.720; norm stands out'],
    ]);
  });

  it('keeps alerting when the state cannot be saved, and says so', () => {
    const store = new MemoryAlertStateStore();
    store.save = () => {
      throw new Error('disk I/O error');
    };
    const { a, log } = alerting({ config: alertingConfig({}), store });
    expect(a.observe(roundRecord(1, [unitAlert(1, 'p1')]), NOBODY_OUT).map((t) => t.event)).toEqual(['opened']);
    expect(log.parsed().find((l) => l['msg'] === 'could not save the alert state')).toMatchObject({ level: 'error', err: 'disk I/O error', round: 1 });
  });

  it('counts open alerts and webhook deliveries on the coordinator registry', async () => {
    const r = await receiver();
    const registry = new Registry();
    const { a } = alerting({ config: alertingConfig({ webhook: { url: r.url, ...FAST_WEBHOOK } }), registry });
    a.observe(roundRecord(1, [unitAlert(1, 'p1'), unitAlert(1, 'p2', 'critical')]), NOBODY_OUT);
    await a.close();
    const text = await registry.metrics();
    expect(text).toContain('fedwarden_alerting_open_alerts{severity="warning"} 1');
    expect(text).toContain('fedwarden_alerting_open_alerts{severity="critical"} 1');
    expect(text).toContain('fedwarden_alerting_webhook_notifications_total{outcome="delivered"} 2');
    expect(text).toContain('fedwarden_alerting_webhook_notifications_total{outcome="dropped"} 0');
  });
});

describe('alerting config', () => {
  it('has documented defaults, and no webhook unless configured', () => {
    expect(alertingConfig(undefined)).toEqual({ minSeverity: 'warning', resolveAfterCleanRounds: 3, resolveOnExclusion: true, escalateAfterRepeats: 3 });
    expect(alertingConfig({ webhook: { url: 'https://alerts.example.org/hook' } }).webhook).toEqual({
      url: 'https://alerts.example.org/hook',
      minSeverity: 'warning',
      timeoutMs: 5000,
      maxAttempts: 8,
      backoffBaseMs: 500,
      backoffMaxMs: 60_000,
      queueSize: 1000,
      drainMs: 5000,
    });
  });

  it('refuses a webhook that is not http(s), two secret sources, and unknown keys', () => {
    expect(() => alertingConfig({ webhook: { url: 'file:///etc/passwd' } })).toThrow(/alerting.webhook.url/);
    expect(() => alertingConfig({ webhook: { url: 'http://x/', secretFile: 'a', secretEnv: 'B' } })).toThrow(/not both/);
    expect(() => alertingConfig({ webhook: { url: 'http://x/', secret: 'inline' } as never })).toThrow(/secret/);
    expect(() => alertingConfig({ resolveAfterCleanRounds: 0 })).toThrow(/resolveAfterCleanRounds/);
  });
});

describe('readWebhookSecret', () => {
  it('reads a file only its owner can read, or an environment variable, and names them (never the value) when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedwarden-secret-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'webhook-secret');
    writeFileSync(file, 'hunter2-but-longer\n', { mode: 0o600 });
    expect(readWebhookSecret({ secretFile: file })).toBe('hunter2-but-longer');
    expect(readWebhookSecret({ secretEnv: 'HOOK_SECRET' }, { HOOK_SECRET: ' from-env ' })).toBe('from-env');
    expect(readWebhookSecret({})).toBeUndefined();
    expect(() => readWebhookSecret({ secretEnv: 'HOOK_SECRET' }, {})).toThrow(/\$HOOK_SECRET \(alerting.webhook.secretEnv\) is not set/);
    expect(() => readWebhookSecret({ secretEnv: 'HOOK_SECRET' }, { HOOK_SECRET: '  ' })).toThrow(/is empty/);
    expect(() => readWebhookSecret({ secretFile: join(dir, 'missing') })).toThrow(/cannot read alerting.webhook.secretFile/);
    if (process.platform !== 'win32') {
      chmodSync(file, 0o644);
      let message = '';
      try {
        readWebhookSecret({ secretFile: file });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/readable by other users/);
      expect(message).not.toContain('hunter2');
    }
  });

  it('is read when alerting starts: a missing secret stops the coordinator from starting', () => {
    expect(
      () => new Alerting({ config: alertingConfig({ webhook: { url: 'http://127.0.0.1:9/', secretEnv: 'FEDWARDEN_TEST_UNSET_SECRET' } }), log: createLogger('silent'), fingerprint: FINGERPRINT, env: {} }),
    ).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });
});
