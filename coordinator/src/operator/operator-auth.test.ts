/**
 * The operator bearer-token check on its own: only `Bearer <the token>` passes, whatever the scheme's case; a
 * missing header and bad credentials are told apart (for the WWW-Authenticate challenge); an unconfigured token
 * refuses everything.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { hashToken } from '../enrolment.ts';
import { OPERATOR_TOKEN_PREFIX, OperatorAuth, generateOperatorToken } from './operator-auth.ts';

const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe('OperatorAuth', () => {
  const token = generateOperatorToken();
  const auth = new OperatorAuth(hashToken(token));

  it('mints fwo_ tokens of 32 random bytes', () => {
    expect(token).toMatch(new RegExp(`^${OPERATOR_TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`));
    expect(generateOperatorToken()).not.toBe(token);
  });

  it('accepts the token as a Bearer credential, scheme in any case', () => {
    for (const header of [`Bearer ${token}`, `bearer ${token}`, `BEARER  ${token}`, `Bearer ${token} `]) expect(auth.check(req(header)), header).toBe('ok');
  });

  it('tells a missing credential from a wrong one', () => {
    expect(auth.check(req())).toBe('missing');
    expect(auth.check(req(''))).toBe('missing');
    for (const header of [
      `Bearer ${generateOperatorToken()}`,
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${token}x`,
      `Basic ${token}`,
      token,
      'Bearer',
      `Bearer ${token} extra`,
      `Bearer ${'a'.repeat(1000)}`,
    ]) {
      expect(auth.check(req(header)), header).toBe('invalid');
    }
  });

  it('refuses everything when no token is configured', () => {
    const none = new OperatorAuth(undefined);
    expect(none.check(req(`Bearer ${token}`))).toBe('invalid');
    expect(none.check(req())).toBe('missing');
  });

  it('refuses a stored hash of the wrong length', () => {
    expect(() => new OperatorAuth('abcd')).toThrow(/32 bytes/);
  });
});
