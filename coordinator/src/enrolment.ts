/**
 * Participant enrolment by bearer token. The coordinator keeps only SHA-256(token); a token is 32 random
 * bytes (base64url), so a hash lookup is safe against guessing and the stored hashes reveal nothing usable.
 */
import { createHash, randomBytes } from 'node:crypto';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
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
