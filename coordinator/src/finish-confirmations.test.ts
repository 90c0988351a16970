/** Who has heard the end of the federation: only a normal close of a connection that carried `finished` counts. */
import { describe, expect, it } from 'vitest';
import { FinishConfirmations } from './finish-confirmations.ts';

const conn = () => ({});

describe('FinishConfirmations', () => {
  it('counts a normal close of a connection that carried finished, and nothing else', () => {
    const f = new FinishConfirmations<object>();
    const [a1, a2, b1, c1] = [conn(), conn(), conn(), conn()];
    ['a', 'b', 'c'].forEach((id) => f.joined(id));
    f.closed(a1, 'a', 1000); // closed before anything was sent: proves nothing
    f.sending(b1);
    f.closed(b1, 'b', 1006); // the link broke: the frame may be lost
    f.sending(a2);
    f.closed(a2, 'a', 1000);
    f.sending(c1);
    expect(f.unconfirmed).toEqual(['b', 'c']);
  });

  it('wait() resolves as soon as the last participant confirms', async () => {
    const f = new FinishConfirmations<object>();
    f.joined('a');
    f.joined('b');
    const [a, b] = [conn(), conn()];
    f.sending(a);
    f.closed(a, 'a', 1000);
    const waiting = f.wait(60_000);
    f.sending(b);
    f.closed(b, 'b', 1000);
    expect(await waiting).toEqual([]);
  });

  it('wait() gives up after its bound and names who never confirmed', async () => {
    const f = new FinishConfirmations<object>();
    f.joined('a');
    f.joined('b');
    const a = conn();
    f.sending(a);
    f.closed(a, 'a', 1000);
    const started = Date.now();
    expect(await f.wait(50)).toEqual(['b']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    expect(await f.wait(0)).toEqual(['b']);
  });

  it('wait() resolves at once when nobody connected', async () => {
    expect(await new FinishConfirmations<object>().wait(60_000)).toEqual([]);
  });
});
