import { describe, expect, it } from 'vitest';
import { FedwardenError, silentLogger, type Message, type MessageOf } from '@fedwarden/shared';
import { parseConfig } from '../config.ts';
import type { RoundContext } from './round-context.ts';
import { TrustedCollector } from './trusted-collector.ts';
import { UpdateCollector } from './update-collector.ts';

const DIM = 3;

function update(round: number, value: number, numSamples = 10): MessageOf<'update'> {
  return { kind: 'update', round, numSamples, meanLoss: 1, trainMs: 5, delta: new Float32Array(DIM).fill(value) };
}

/** A round context whose sends are recorded; `connected` decides whether a send succeeds. */
function context(deadlineMs: number) {
  const sent: Array<{ to: string; msg: Message }> = [];
  const connected = new Set(['a', 'b']);
  const ctx: RoundContext = {
    round: 4,
    global: new Float32Array(DIM),
    config: parseConfig({ rounds: { deadlineMs } }),
    log: silentLogger,
    send: async (to, msg) => {
      if (!connected.has(to)) return false;
      sent.push({ to, msg });
      return true;
    },
    reputationWeight: () => 1,
    identityKey: () => undefined,
  };
  return { ctx, sent, connected };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('UpdateCollector', () => {
  it('counts a retried upload once and acknowledges it as a duplicate', () => {
    const c = new UpdateCollector(4, new Set(['a', 'b']), DIM);
    expect(c.offer('a', update(4, 1), 100)).toBe('accepted');
    expect(c.offer('a', update(4, 1), 100)).toBe('duplicate');
    expect(c.accepted.map((u) => u.participantId)).toEqual(['a']);
    expect(c.missing).toEqual(['b']);
  });

  it('refuses a second, different update with UPDATE_REFUSED; the first one stands', () => {
    const c = new UpdateCollector(4, new Set(['a', 'b']), DIM);
    expect(c.offer('a', update(4, 1), 100)).toBe('accepted');
    for (const other of [update(4, 2), update(4, 1, 11), { ...update(4, 1), meanLoss: 0.5 }, { ...update(4, 1), delta: Float32Array.of(1, 1, 1 + 2 ** -23) }]) {
      let thrown: unknown;
      try {
        c.offer('a', other, 100);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(FedwardenError);
      expect((thrown as FedwardenError).code).toBe('UPDATE_REFUSED');
    }
    expect(c.offer('a', update(4, 1), 100)).toBe('duplicate'); // the original, re-sent, is still acknowledged
    expect(c.accepted).toHaveLength(1);
    expect(Array.from(c.accepted[0]!.delta)).toEqual([1, 1, 1]);
    expect(c.offer('b', update(3, 5), 100)).toBe('stale');
    expect(c.missing).toEqual(['b']); // a stale update answers nothing
  });

  it('takes back a dropped participant until the round settles, and no later', () => {
    const c = new UpdateCollector(4, new Set(['a', 'b', 'c']), DIM);
    c.offer('a', update(4, 1), 100);
    c.drop('b');
    expect(c.rejoin('a')).toBe('accepted');
    expect(c.rejoin('b')).toBe('rejoined');
    expect(c.rejoin('x')).toBe('closed'); // never selected
    c.drop('c');
    // b is waited for again, so dropping c does not settle the round; b's update does.
    expect(c.offer('b', update(4, 2), 100)).toBe('accepted');
    expect(c.accepted.map((u) => u.participantId).sort()).toEqual(['a', 'b']);
    expect(c.rejoin('c')).toBe('closed'); // everyone answered or left: settled
  });
});

describe('TrustedCollector refusals', () => {
  it('answers an update for an earlier round with UPDATE_REFUSED and no acknowledgement, and waits on', async () => {
    const { ctx, sent } = context(5_000);
    const collector = new TrustedCollector(ctx);
    const done = collector.collect(['a', 'b']);
    await tick();
    collector.onMessage('a', update(3, 1), 100);
    await tick();
    const replies = sent.filter((s) => s.to === 'a' && s.msg.kind !== 'roundStart').map((s) => s.msg);
    expect(replies).toEqual([{ kind: 'error', code: 'UPDATE_REFUSED', message: expect.stringMatching(/^round 3: too late/) }]);
    collector.onMessage('a', update(4, 1), 100);
    collector.onMessage('b', update(4, 2), 100);
    expect((await done).contributors.sort()).toEqual(['a', 'b']);
  });

  it('answers an update that comes after the round stopped collecting with UPDATE_REFUSED', async () => {
    const { ctx, sent } = context(5_000);
    const collector = new TrustedCollector(ctx);
    const done = collector.collect(['a', 'b']);
    await tick();
    collector.onMessage('a', update(4, 1), 100);
    collector.onLeave('b');
    const round = await done;
    collector.onMessage('b', update(4, 2), 100);
    await tick();
    expect(round.contributors).toEqual(['a']);
    expect(sent.filter((s) => s.to === 'b').map((s) => s.msg)).toEqual([
      expect.objectContaining({ kind: 'roundStart' }),
      { kind: 'error', code: 'UPDATE_REFUSED', message: expect.stringMatching(/^round 4: round 4 no longer collects/) },
    ]);
  });
});

describe('TrustedCollector.onRejoin', () => {
  it('re-sends the round start to a participant that rejoins before its update is in, and counts it once', async () => {
    const { ctx, sent } = context(5_000);
    const collector = new TrustedCollector(ctx);
    const done = collector.collect(['a', 'b']);
    await tick();
    expect(sent.filter((s) => s.msg.kind === 'roundStart').map((s) => s.to)).toEqual(['a', 'b']);

    collector.onLeave('b');
    collector.onRejoin('b');
    collector.onMessage('a', update(4, 1), 100); // would settle the round, had b not come back
    await tick();
    const restarts = sent.filter((s) => s.to === 'b' && s.msg.kind === 'roundStart');
    expect(restarts).toHaveLength(2);
    expect(restarts[1]!.msg).toBe(restarts[0]!.msg); // the same round, the same global

    collector.onMessage('b', update(4, 3), 100);
    collector.onMessage('b', update(4, 3), 100); // the retried upload arrives twice
    const round = await done;
    expect(round.contributors.sort()).toEqual(['a', 'b']);
    expect(round.units).toHaveLength(2);
    expect(round.samples).toBe(20);
    expect(sent.filter((s) => s.to === 'b' && s.msg.kind === 'updateAck')).toHaveLength(2);
  });

  it('acknowledges again a participant whose update was already accepted, without restarting its round', async () => {
    const { ctx, sent } = context(5_000);
    const collector = new TrustedCollector(ctx);
    const done = collector.collect(['a', 'b']);
    await tick();
    collector.onMessage('a', update(4, 1), 100);
    collector.onRejoin('a');
    await tick();
    expect(sent.filter((s) => s.to === 'a').map((s) => s.msg.kind)).toEqual(['roundStart', 'updateAck', 'updateAck']);
    collector.onMessage('b', update(4, 2), 100);
    expect((await done).contributors).toHaveLength(2);
  });

  it('leaves a participant that rejoins after its round settled to the next round', async () => {
    const { ctx, sent } = context(5_000);
    const collector = new TrustedCollector(ctx);
    const done = collector.collect(['a', 'b']);
    await tick();
    collector.onMessage('a', update(4, 1), 100);
    collector.onLeave('b');
    const round = await done;
    collector.onRejoin('b');
    await tick();
    expect(round.contributors).toEqual(['a']);
    expect(sent.filter((s) => s.to === 'b').map((s) => s.msg.kind)).toEqual(['roundStart']);
  });

  it('drops a rejoining participant again when the re-sent start cannot be delivered', async () => {
    const { ctx, connected } = context(60_000);
    const collector = new TrustedCollector(ctx);
    let settled = false;
    const done = collector.collect(['a', 'b']).finally(() => (settled = true));
    await tick();
    collector.onLeave('b');
    connected.delete('b');
    collector.onRejoin('b');
    await tick();
    collector.onMessage('a', update(4, 1), 100);
    await tick();
    // Settled at once, not at the deadline: b is gone again.
    expect(settled).toBe(true);
    expect((await done).contributors).toEqual(['a']);
  });
});
