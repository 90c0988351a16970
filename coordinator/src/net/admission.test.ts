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

  it('bars an address whose socket stalled from displacing for stallPenaltyMs; it may still take free room', () => {
    const { admission, open, refusal, displaced, advance } = setup({ maxConnections: 6, maxUnauthenticatedPerAddress: 0 }); // room 3
    const quick = open('honest');
    advance(10);
    admission.release(quick); // closed quickly without authenticating (a wrong token, say): no stall
    open('x', 'x1');
    open('y', 'y1');
    open('z', 'z1');
    advance(1_000);
    open('y', 'y2'); // displaces x1, which had stalled 1 s: x is barred
    expect(displaced.map(([name]) => name)).toEqual(['x1']);
    expect(admission.barred('x')).toBe(true);
    expect(admission.barred('honest')).toBe(false);
    expect(refusal('x')?.code).toBe('FULL'); // y1 and z1 are old enough, but x may not displace them
    open('honest', 'h1'); // displaces y1: y is barred too
    expect(displaced.map(([name]) => name)).toEqual(['x1', 'y1']);
    expect(refusal('y')?.code).toBe('FULL');
    // Closing a stalled socket bars its address as well; a barred address still takes free room.
    expect(admission.barred('z')).toBe(false);
    expect(admission.unauthenticatedCount).toBe(3); // z1, y2, h1
    open('z', 'z-extra'); // room full and z1 is old: z may still displace, as it has not stalled yet
    expect(displaced.map(([name]) => name)).toEqual(['x1', 'y1', 'z1']);
    expect(admission.barred('z')).toBe(true); // its own z1 stalled
    // The bar ends after stallPenaltyMs.
    advance(10_000);
    expect(admission.barred('x')).toBe(false);
    open('x', 'x2'); // displaces y2, now the oldest
    expect(displaced.map(([name]) => name)).toEqual(['x1', 'y1', 'z1', 'y2']);
    // A stalled socket that the coordinator (a timeout) or the peer closes bars its address too.
    const timedOut = setup();
    const slot = timedOut.open('w');
    timedOut.advance(1_000);
    timedOut.admission.release(slot);
    expect(timedOut.admission.barred('w')).toBe(true);
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
