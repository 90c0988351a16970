/** The dashboard feed over a hand-driven coordinator: what it publishes, when, and how it survives its source. */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@fedwarden/shared';
import { DashboardFeed } from './dashboard-feed.ts';
import { applyEvent, type DashboardEvent } from './dashboard-model.ts';
import { FakeCoordinator, alert, roundRecord, standing, trackedAlert } from './test-support.ts';

const quiet = createLogger('silent');
const feeds: DashboardFeed[] = [];

function feedOf(source: FakeCoordinator, statusDelayMs = 0): { feed: DashboardFeed; events: DashboardEvent[] } {
  const feed = new DashboardFeed(source, { statusDelayMs, log: quiet, now: () => 5_000 });
  feeds.push(feed);
  const events: DashboardEvent[] = [];
  feed.subscribe((e) => events.push(e));
  return { feed, events };
}

afterEach(() => {
  for (const f of feeds.splice(0)) f.close();
});

describe('DashboardFeed', () => {
  it('describes the federation and where the round loop stands', () => {
    const source = new FakeCoordinator();
    source.connected.add('a');
    source.stage = { round: 2, stage: 'training', at: 1_000, deadline: 121_000 };
    const { feed } = feedOf(source);
    expect(feed.federation).toEqual({ privacy: 'trusted', rounds: 5, strategy: 'fedwarden', evaluator: true });
    expect(feed.status()).toEqual({ round: 2, stage: 'training', since: 1_000, deadline: 121_000, connected: 1, now: 5_000 });
  });

  it('publishes stages and arrivals as status, and a finished round with its reputation, alerts and audit head', () => {
    const source = new FakeCoordinator();
    const { events } = feedOf(source);
    source.join('a');
    source.join('b');
    source.moveTo(1, 'selecting');
    source.moveTo(1, 'training', 99_000);
    source.standings = [standing('a', { score: 0.8, participations: 1 }), standing('c', { score: 0.3, flagged: true, participations: 1, rejections: 1 })];
    source.finishRound(roundRecord(1, { alerts: [alert(1, 'c')] }));

    expect(events.map((e) => e.type)).toEqual(['status', 'status', 'status', 'status', 'round']);
    const training = events[3];
    expect(training?.type === 'status' && training.status).toMatchObject({ round: 1, stage: 'training', deadline: 99_000, connected: 2 });
    const round = events[4];
    if (round?.type !== 'round') throw new Error('expected a round event');
    // Connected when the round began (at 'selecting'), for the per-round chart.
    expect(round.round).toMatchObject({ round: 1, connected: 2, selected: 4, contributed: 3, dropped: 1 });
    expect(round.alerts).toEqual([alert(1, 'c')]);
    expect(round.reputation.map((r) => [r.id, r.flagged, r.connected])).toEqual([
      ['a', false, true],
      ['c', true, false],
    ]);
    expect(round.audit).toEqual({ seq: 6, hash: 'ab'.repeat(32) });
  });

  it('coalesces a wave of status changes into one event', async () => {
    const source = new FakeCoordinator();
    const { feed, events } = feedOf(source, 20);
    for (const id of ['a', 'b', 'c', 'd']) source.join(id);
    source.moveTo(1, 'selecting');
    await until(() => events.length > 0);
    await new Promise((r) => setTimeout(r, 60));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'status', status: { stage: 'selecting', connected: 4 } });
    expect(events[0]?.type === 'status' && events[0].presence.map((p) => p.id)).toEqual(['a', 'b', 'c', 'd']);
    // flush() sends what the delay still holds back, at once; so does a finished round, before itself.
    source.moveTo(1, 'training');
    feed.flush();
    source.moveTo(1, 'completed');
    source.finishRound(roundRecord(1));
    expect(events.map((e) => (e.type === 'status' ? e.status.stage : e.type))).toEqual(['selecting', 'training', 'completed', 'round']);
  });

  it('says who came and went, and a snapshot made after storage closed still knows who is connected', () => {
    const source = new FakeCoordinator();
    const { feed, events } = feedOf(source);
    feed.snapshot();
    source.join('a');
    source.join('b');
    source.leave('a');
    expect(events.map((e) => e.type === 'status' && e.presence)).toEqual([[{ id: 'a', online: true }], [{ id: 'b', online: true }], [{ id: 'a', online: false }]]);
    source.storageClosed = true;
    source.leave('b');
    expect(feed.snapshot().reputation.filter((r) => r.connected)).toEqual([]);
  });

  it('never throws into the coordinator: a failing subscriber is dropped, a failing source skips the event', () => {
    const source = new FakeCoordinator();
    const { feed, events } = feedOf(source);
    feed.subscribe(() => {
      throw new Error('broken page');
    });
    expect(feed.subscriberCount).toBe(2);
    expect(() => source.moveTo(1, 'selecting')).not.toThrow();
    expect(feed.subscriberCount).toBe(1);
    source.storageClosed = true;
    expect(() => source.finishRound(roundRecord(1))).not.toThrow();
    expect(events.map((e) => e.type)).toEqual(['status']);
  });

  it('after storage closes, serves the last snapshot brought up to date with the events since', () => {
    const source = new FakeCoordinator();
    const { feed } = feedOf(source);
    expect(() => feed.snapshot()).not.toThrow();
    source.finishRound(roundRecord(1));
    source.finishRound(roundRecord(2));
    source.storageClosed = true;
    source.moveTo(2, 'finished');
    const snap = feed.snapshot();
    expect(snap.rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(snap.status.stage).toBe('finished');
    expect(snap.audit?.seq).toBe(9);
  });

  it("publishes the alerting subsystem's transitions, and a fresh snapshot holds the same tracked alerts", () => {
    const source = new FakeCoordinator();
    const { feed, events } = feedOf(source);
    const before = feed.snapshot();
    const firing = trackedAlert('c');
    source.transition('opened', firing);
    const resolved = { ...firing, status: 'resolved' as const, resolution: 'clean-rounds' as const, resolvedRound: 4, lastRound: 4 };
    source.transition('resolved', resolved);
    expect(events).toEqual([
      { type: 'alert', transition: { event: 'opened', alert: firing, round: 1 } },
      { type: 'alert', transition: { event: 'resolved', alert: resolved, round: 4 } },
    ]);
    const folded = events.reduce((snap, e) => applyEvent(snap, e), before);
    expect(folded.tracked).toEqual([resolved]);
    expect(feed.snapshot().tracked).toEqual(folded.tracked);
  });

  it('stops listening when closed', () => {
    const source = new FakeCoordinator();
    const { feed, events } = feedOf(source);
    feed.close();
    source.moveTo(1, 'selecting');
    source.finishRound(roundRecord(1));
    expect(events).toEqual([]);
    expect(source.listenerCount('round') + source.listenerCount('stage') + source.listenerCount('alert')).toBe(0);
  });
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error('condition not met');
}
