/**
 * The operator's bearer token (RFC 6750 §2.1, `Authorization: Bearer <token>`): `fwo_` and 32 random bytes in
 * base64url, minted by `fedwarden token --operator`. The coordinator keeps only its SHA-256 (config
 * operator.tokenSha256), like participant tokens (enrolment.ts); the prefix tells a leaked operator token from a
 * participant's.
 *
 * The check hashes whatever was presented and compares the two 32-byte digests with timingSafeEqual, so its
 * time depends on neither the token nor how much of it matched; with no token configured it compares against a
 * random digest, so an unconfigured coordinator times like a configured one and refuses everything.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const OPERATOR_TOKEN_PREFIX = 'fwo_';

/** Longest Authorization header value read; a longer one is refused unread (an operator token is 47 characters). */
const MAX_CREDENTIALS = 512;

export function generateOperatorToken(): string {
  return OPERATOR_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Why a request was refused, for the WWW-Authenticate header: no credentials at all, or credentials that fail. */
export type AuthOutcome = 'ok' | 'missing' | 'invalid';

export class OperatorAuth {
  private readonly expected: Buffer;

  /** `tokenSha256`: lowercase hex SHA-256 of the operator token; undefined refuses every request. */
  constructor(tokenSha256: string | undefined) {
    this.expected = tokenSha256 !== undefined ? Buffer.from(tokenSha256, 'hex') : randomBytes(32);
    if (this.expected.length !== 32) throw new RangeError('OperatorAuth: tokenSha256 must be 32 bytes of hex');
  }

  check(req: IncomingMessage): AuthOutcome {
    const header = req.headers.authorization;
    if (header === undefined || header === '') return 'missing';
    if (header.length > MAX_CREDENTIALS) return 'invalid';
    // The scheme is case-insensitive (RFC 7235 §2.1); one or more spaces before the token.
    const match = /^bearer +(\S+) *$/i.exec(header);
    if (!match) return 'invalid';
    const presented = createHash('sha256').update(match[1] as string, 'utf8').digest();
    return timingSafeEqual(presented, this.expected) ? 'ok' : 'invalid';
  }
}
