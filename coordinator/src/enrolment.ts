/**
 * Participant enrolment by bearer token, and the protocol version a hello must speak. (The identity key a
 * participant registers at its first hello: participant-identities.ts.)
 *
 * Tokens: The coordinator keeps only SHA-256(token); a token is `fwt_` and 32
 * random bytes (base64url), so a hash lookup is safe against guessing and the stored hashes reveal nothing
 * usable. The prefix makes a leaked token recognisable to secret scanners, and a token can never start with
 * `-`, where a command line would read it as an option.
 */
import { createHash, randomBytes } from 'node:crypto';
import { FedwardenError, PROTOCOL_VERSION, TOKEN_PREFIX } from '@fedwarden/shared';

/** Refuse (UNSUPPORTED) a hello of another protocol version than this coordinator's, naming both. */
export function checkProtocolVersion(version: number): void {
  if (version !== PROTOCOL_VERSION) {
    throw new FedwardenError(
      'UNSUPPORTED',
      `participant speaks protocol version ${version}, this coordinator version ${PROTOCOL_VERSION}; ${version < PROTOCOL_VERSION ? 'upgrade the participant' : 'upgrade the coordinator'}`,
    );
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export class Enrolment {
  private readonly byHash = new Map<string, string>();

  constructor(participants: ReadonlyArray<{ id: string; tokenSha256: string }>) {
    for (const p of participants) this.byHash.set(p.tokenSha256, p.id);
  }

  /** The participant id for a token, or undefined. */
  authenticate(token: string): string | undefined {
    return this.byHash.get(hashToken(token));
  }

  get size(): number {
    return this.byHash.size;
  }
}
