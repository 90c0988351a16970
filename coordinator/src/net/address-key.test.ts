import { describe, expect, it } from 'vitest';
import { addressKey } from './address-key.ts';

describe('addressKey', () => {
  it('keys IPv4 by address, IPv4-mapped IPv6 as IPv4', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::FFFF:127.0.0.2')).toBe('127.0.0.2');
  });

  it('keys IPv6 by its /64 prefix, however it is written', () => {
    const key = '2001:db8:85a3:42::/64';
    expect(addressKey('2001:db8:85a3:42::1')).toBe(key);
    expect(addressKey('2001:0db8:85a3:0042:ffff:ffff:ffff:ffff')).toBe(key);
    expect(addressKey('2001:DB8:85A3:42:1:2:3:4')).toBe(key);
    expect(addressKey('2001:db8:85a3:43::1')).not.toBe(key);
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(addressKey('1:2:3::c000:201')).toBe('1:2:3:0::/64');
  });

  it('keeps anything else as its own key', () => {
    expect(addressKey(undefined)).toBe('unknown');
    expect(addressKey('')).toBe('unknown');
    expect(addressKey('not an address')).toBe('not an address');
  });
});
