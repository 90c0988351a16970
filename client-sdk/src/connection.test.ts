import { describe, expect, it } from 'vitest';
import { refusalError } from './connection.ts';

describe('refusalError (a coordinator that refuses a socket before its upgrade)', () => {
  it('takes the transient code from the X-Fedwarden-Error header', () => {
    expect(refusalError('ws://c', 503, 'FULL')).toMatchObject({ code: 'FULL', message: 'ws://c refused the connection (HTTP 503)' });
    expect(refusalError('ws://c', 429, 'RATE_LIMITED').code).toBe('RATE_LIMITED');
    expect(refusalError('ws://c', 408, 'TIMEOUT').code).toBe('TIMEOUT');
  });

  it('believes no other code from this unauthenticated answer: anything else is a retriable GOING_AWAY', () => {
    for (const header of ['AUTH_FAILED', 'FINGERPRINT_MISMATCH', 'full', undefined, ['FULL', 'FULL']]) {
      expect(refusalError('ws://c', 502, header).code, String(header)).toBe('GOING_AWAY');
    }
  });
});
