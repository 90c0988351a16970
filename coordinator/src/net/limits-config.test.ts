/** The participants' port's limits as the config validates them (config.ts): headroom and trusted proxies. */
import { describe, expect, it } from 'vitest';
import { connectionHeadroom, parseConfig } from '../config.ts';

describe('connection limits in the config', () => {
  it('keeps maxConnections above maxParticipants by some headroom, by default and when only one is given', () => {
    const defaults = parseConfig({}).limits;
    expect(defaults.maxConnections - defaults.maxParticipants).toBeGreaterThanOrEqual(connectionHeadroom(defaults.maxConnections));
    expect(defaults.maxParticipants).toBe(1000);
    expect(defaults.displaceAfterMs).toBe(3_000);
    expect(defaults.trustedProxies).toEqual([]);
    // A smaller maxConnections alone lowers the default maxParticipants to fit.
    expect(parseConfig({ limits: { maxConnections: 24 } }).limits.maxParticipants).toBe(22);
    expect(parseConfig({ rounds: { minParticipants: 1 }, limits: { maxConnections: 2 } }).limits.maxParticipants).toBe(1);
  });

  it('refuses maxConnections without room beyond maxParticipants, with BAD_CONFIG saying what to raise', () => {
    for (const limits of [{ maxConnections: 1000, maxParticipants: 1000 }, { maxConnections: 100, maxParticipants: 99 }, { maxConnections: 1 }]) {
      expect(() => parseConfig({ limits }), JSON.stringify(limits)).toThrow(
        expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringMatching(/limits\.maxConnections \d+ leaves no room beyond limits\.maxParticipants \d+: it must be at least maxParticipants \+ \d+/) }),
      );
    }
  });

  it('reads trustedProxies as addresses and CIDR ranges, and refuses anything else', () => {
    expect(parseConfig({ limits: { trustedProxies: ['10.0.0.1', '10.1.0.0/16', 'fd00::/8'] } }).limits.trustedProxies).toHaveLength(3);
    expect(() => parseConfig({ limits: { trustedProxies: ['nginx.internal'] } })).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringContaining('limits.trustedProxies: "nginx.internal"') }),
    );
  });
});
