import { describe, expect, it } from 'vitest';
import type { FedwardenError } from '@fedwarden/shared';
import { Admission, type AdmissionLimits, type AdmissionSlot } from './admission.ts';

function setup(limits: Partial<AdmissionLimits> = {}) {
  let t = 0;
  const admission = new Admission({ maxConnections: 10, reservedShare: 0.5, maxUnauthenticatedPerAddress: 3, displaceAfterMs: 1_000, stallPenaltyMs: 10_000, ...limits }, () => t);
  const displaced: Array<[string, FedwardenError]> = [];
  const open = (key: string, name = key): AdmissionSlot => {
    const d = admission.open(key, (err) => displaced.push([name, err]));
    if (!d.admitted) throw d.error;
    return d.slot;
  };
  const refusal = (key: string) => {
    const d = admission.open(key, () => undefined);
    return d.admitted ? undefined : d.error;
  };
  return { admission, displaced, open, refusal, advance: (ms: number) => (t += ms) };
}

describe('Admission', () => {
  it('keeps the reserved share for authenticated participants: unauthenticated sockets stop at maxConnections less it', () => {
    const { admission, open, refusal } = setup({ maxUnauthenticatedPerAddress: 0 });
    expect(admission.maxUnauthenticated).toBe(5);
    const slots = Array.from({ length: 5 }, (_, i) => open(`10.0.0.${i}`));
    expect(refusal('10.0.0.9')).toMatchObject({ code: 'FULL', message: expect.stringMatching(/at most 5 connections may be handshaking/) });
    // Authenticated, they leave the unauthenticated room; the total still counts them.
    for (const s of slots) admission.authenticate(s);
    expect([admission.unauthenticatedCount, admission.authenticatedCount, admission.total]).toEqual([0, 5, 5]);
    for (let i = 0; i < 5; i++) open(`10.0.1.${i}`);
    expect([admission.unauthenticatedCount, admission.total]).toEqual([5, 10]);
    expect(refusal('10.0.2.1')).toMatchObject({ code: 'FULL', message: 'at most 10 connections' });
  });

  it('limits unauthenticated sockets per address with RATE_LIMITED; other addresses and authenticated sockets are not affected', () => {
    const { admission, open, refusal } = setup();
    const mine = [open('a'), open('a'), open('a')];
    expect(refusal('a')).toMatchObject({ code: 'RATE_LIMITED' });
    open('b');
    admission.authenticate(mine[0]!); // a participant behind the same address got in
    open('a');
    expect(refusal('a')?.code).toBe('RATE_LIMITED');
    admission.release(mine[1]!);
    open('a');
  });

  it('lets a newcomer displace the oldest socket unauthenticated for displaceAfterMs, in its address or in the room', () => {
    const { admission, open, refusal, displaced, advance } = setup({ maxUnauthenticatedPerAddress: 3 });
    open('a', 'a1');
    advance(100);
    open('a', 'a2');
    open('a', 'a3');
    expect(refusal('a')?.code).toBe('RATE_LIMITED'); // none is old enough yet
    advance(900); // a1 is 1 s old
    open('a', 'a4');
    expect(displaced.map(([name, err]) => [name, err.code])).toEqual([['a1', 'FULL']]);
    expect(displaced[0]![1].message).toMatch(/^displaced by a newer connection from the same address: not authenticated after 1000 ms/);
    expect(admission.unauthenticatedCount).toBe(3);

    open('b', 'b1');
    open('c', 'c1'); // the room (5) is full: a2, a3, a4, b1, c1
    expect(refusal('d')?.code).toBe('FULL'); // a2 is 900 ms old
    advance(100);
    open('d', 'd1'); // displaces a2, the oldest
    expect(displaced.map(([name]) => name)).toEqual(['a1', 'a2']);
    expect(admission.unauthenticatedCount).toBe(5);
  });

  it('displaces from the address holding the most unauthenticated sockets, and only for a newcomer that holds fewer', () => {
    const { open, refusal, displaced, advance } = setup({ maxConnections: 8, maxUnauthenticatedPerAddress: 0 }); // room 4
    open('h', 'h1'); // the oldest socket, from an address holding one
    advance(10);
    open('x', 'x1');
    open('x', 'x2');
    open('y', 'y1');
    advance(1_000);
    open('n', 'n1'); // holds none
    expect(displaced.map(([name]) => name)).toEqual(['x1']); // x's oldest, though h1 is older
    // Now h, x, y and n hold one each: none may take from another.
    advance(1_000);
    expect(refusal('y')?.code).toBe('FULL');
    expect(displaced).toHaveLength(1);
  });

  it('lets addresses holding equal shares of the room not displace one another (the room ages for honest newcomers)', () => {
    const { open, refusal, displaced, advance } = setup({ maxConnections: 8, maxUnauthenticatedPerAddress: 0 }); // room 4
    open('x', 'x1');
    open('x', 'x2');
    open('y', 'y1');
    open('y', 'y2');
    advance(60_000);
    expect(refusal('x')?.code).toBe('FULL');
    expect(refusal('y')?.code).toBe('FULL');
    expect(displaced).toEqual([]);
    open('honest', 'h1'); // holds none: takes x1, the oldest of the largest holders
    expect(displaced.map(([name]) => name)).toEqual(['x1']);
  });

  it('lets an honest socket displaced by another address retry at once and get in (no penalty for being displaced)', () => {
    const { admission, open, displaced, advance } = setup({ maxConnections: 6, maxUnauthenticatedPerAddress: 0 }); // room 3
    open('honest', 'h1'); // a handshake slower than displaceAfterMs
    open('a', 'a1');
    open('b', 'b1');
    advance(1_500);
    open('n', 'n1'); // the room is full: h1, the oldest, is displaced
    expect(displaced.map(([name]) => name)).toEqual(['h1']);
    expect(admission.barred('honest')).toBe(false);
    open('honest', 'h2'); // at once: it holds none and may displace a1
    expect(displaced.map(([name]) => name)).toEqual(['h1', 'a1']);
    expect(admission.barred('a')).toBe(false);
  });

  it('bars an address whose socket stalled (timed out, closed late, or replaced by its own newer socket); it may still take free room', () => {
    const { admission, open, refusal, displaced, advance } = setup({ maxConnections: 6, maxUnauthenticatedPerAddress: 2 }); // room 3
    const quick = open('honest');
    advance(10);
    admission.release(quick); // closed quickly without authenticating (a wrong token, say): no stall
    expect(admission.barred('honest')).toBe(false);
    // Timed out: barred whatever its age.
    const timedOut = open('t');
    admission.release(timedOut, 'timeout');
    expect(admission.barred('t')).toBe(true);
    // Closed after displaceAfterMs without authenticating: barred.
    const late = open('c');
    advance(1_000);
    admission.release(late);
    expect(admission.barred('c')).toBe(true);
    // Replaced by a newer socket of its own address at the quota: barred, and a barred address may not do it again.
    open('x', 'x1');
    open('x', 'x2');
    advance(1_000);
    open('x', 'x3');
    expect(displaced.map(([name]) => name)).toEqual(['x1']);
    expect(admission.barred('x')).toBe(true);
    expect(refusal('x')?.code).toBe('RATE_LIMITED');
    // A barred address still takes free room; it may not displace.
    open('c', 'c1'); // room: x2, x3, c1
    advance(1_000);
    expect(refusal('c')?.code).toBe('FULL');
    // The bar ends after stallPenaltyMs.
    advance(10_000);
    expect(admission.barred('x')).toBe(false);
    open('x', 'x4'); // displaces x2, its own oldest: barred again
    expect(displaced.map(([name]) => name)).toEqual(['x1', 'x2']);
    expect(admission.barred('x')).toBe(true);
  });

  it('re-keys a trusted proxy\'s socket to its client: exempt from the quota before, under its client\'s quota after', () => {
    const { admission, displaced, advance } = setup({ maxConnections: 20, maxUnauthenticatedPerAddress: 2 });
    const viaProxy = () => {
      const d = admission.open('proxy 10.0.0.1', () => undefined, true);
      if (!d.admitted) throw d.error;
      return d.slot;
    };
    const slots = Array.from({ length: 5 }, viaProxy); // more than the quota of 2: the proxy is exempt
    expect(admission.rekey(slots[0]!, '192.0.2.1')).toBeUndefined();
    expect(admission.rekey(slots[1]!, '192.0.2.1')).toBeUndefined();
    expect(admission.rekey(slots[2]!, '192.0.2.1')).toMatchObject({ code: 'RATE_LIMITED' }); // none is old enough
    expect(slots[2]!.released).toBe(true);
    expect(admission.barred('192.0.2.1')).toBe(false); // refused, not stalled
    advance(1_000);
    expect(admission.rekey(slots[3]!, '192.0.2.1')).toBeUndefined(); // displaces slots[0], its client's own oldest
    expect(slots[0]!.released).toBe(true);
    expect(admission.rekey(slots[4]!, '192.0.2.2')).toBeUndefined();
    expect(admission.unauthenticatedCount).toBe(3);
    expect(displaced).toEqual([]);
    // A proxy socket that stalls does not bar the proxy.
    admission.release(viaProxy(), 'timeout');
    expect(admission.barred('proxy 10.0.0.1')).toBe(false);
  });

  it('counts sockets by stage, back to 0 when all are gone', () => {
    const { admission, open, advance } = setup({ maxUnauthenticatedPerAddress: 1 });
    const a = open('a');
    const b = open('b');
    const c = open('c');
    admission.upgraded(b);
    admission.upgraded(c);
    admission.authenticate(c);
    expect(admission.stages()).toEqual({ 'pre-upgrade': 1, unauthenticated: 1, authenticated: 1 });
    advance(1_000);
    open('a'); // displaces a
    expect(admission.stages()).toEqual({ 'pre-upgrade': 1, unauthenticated: 1, authenticated: 1 });
    for (const slot of [a, b, c]) admission.release(slot);
    expect(admission.stages()).toEqual({ 'pre-upgrade': 1, unauthenticated: 0, authenticated: 0 });
  });

  it('never displaces an authenticated participant', () => {
    const { admission, open, refusal, advance, displaced } = setup({ maxConnections: 4, reservedShare: 0, maxUnauthenticatedPerAddress: 0 });
    const slots = [open('p1'), open('p2'), open('p3'), open('p4')];
    for (const s of slots) admission.authenticate(s);
    advance(60_000);
    expect(refusal('x')).toMatchObject({ code: 'FULL', message: 'at most 4 connections' });
    expect(displaced).toEqual([]);
  });

  it('is idempotent: release after displacement, double authenticate, authenticate after release', () => {
    const { admission, open, advance } = setup({ maxUnauthenticatedPerAddress: 1 });
    const first = open('a');
    advance(1_000);
    open('a'); // displaces first
    admission.release(first);
    admission.authenticate(first);
    expect([admission.unauthenticatedCount, admission.authenticatedCount]).toEqual([1, 0]);
    const b = open('b');
    admission.authenticate(b);
    admission.authenticate(b);
    admission.release(b);
    admission.release(b);
    expect([admission.unauthenticatedCount, admission.authenticatedCount, admission.total]).toEqual([1, 0, 1]);
  });

  it('refuses bad limits with BAD_CONFIG', () => {
    for (const limits of [{ maxConnections: 0 }, { reservedShare: 1 }, { reservedShare: -0.1 }, { maxUnauthenticatedPerAddress: -1 }, { maxUnauthenticatedPerAddress: 1.5 }, { displaceAfterMs: -1 }]) {
      expect(() => setup(limits), JSON.stringify(limits)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    }
    expect(setup({ maxConnections: 1, reservedShare: 0.9 }).admission.maxUnauthenticated).toBe(1);
  });
});
