import { describe, expect, it } from 'vitest';
import { TrustedProxies } from './trusted-proxies.ts';

describe('TrustedProxies', () => {
  const proxies = new TrustedProxies(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);

  it('knows its proxies by address or range, IPv4-mapped IPv6 included', () => {
    expect(proxies.has('127.0.0.1')).toBe(true);
    expect(proxies.has('::ffff:127.0.0.1')).toBe(true);
    expect(proxies.has('10.1.2.3')).toBe(true);
    expect(proxies.has('fd12::1')).toBe(true);
    expect(proxies.has('127.0.0.2')).toBe(false);
    expect(proxies.has('2001:db8::1')).toBe(false);
    expect(proxies.has(undefined)).toBe(false);
    expect(new TrustedProxies([]).has('127.0.0.1')).toBe(false);
  });

  it('takes the rightmost address of X-Forwarded-For that is not a trusted proxy; what a client wrote left of it is ignored', () => {
    expect(proxies.clientOf('192.0.2.7')).toBe('192.0.2.7');
    expect(proxies.clientOf('6.6.6.6, 192.0.2.7')).toBe('192.0.2.7'); // 6.6.6.6: forged by the client
    expect(proxies.clientOf('192.0.2.7, 10.0.0.5')).toBe('192.0.2.7'); // through two proxies
    expect(proxies.clientOf(['6.6.6.6', '192.0.2.7 , 10.0.0.5'])).toBe('192.0.2.7');
    expect(proxies.clientOf(' [2001:db8::1] ')).toBe('2001:db8::1');
    expect(proxies.clientOf('::ffff:192.0.2.7')).toBe('192.0.2.7');
  });

  it('names no client when the header is missing, names only proxies, or its entry is not an address', () => {
    expect(proxies.clientOf(undefined)).toBeUndefined();
    expect(proxies.clientOf('10.0.0.5')).toBeUndefined();
    expect(proxies.clientOf('192.0.2.7, nonsense')).toBeUndefined();
    expect(proxies.clientOf('')).toBeUndefined();
  });

  it('refuses an entry it cannot read with BAD_CONFIG', () => {
    for (const entry of ['proxy.example', '10.0.0.0/33', '10.0.0.0/8/1', 'fd00::/129', '10.0.0.0/x']) {
      expect(() => new TrustedProxies([entry]), entry).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    }
  });
});
