/**
 * Participants' ML-DSA-65 identity keys, as the coordinator enrols them: trust on first use, bound to the token.
 * A participant's first authenticated hello registers the key it presents (storage keeps the public key and its
 * SHA-256 fingerprint, and the audit log the fingerprint); every later hello must present the same key, or it is
 * refused with IDENTITY_MISMATCH until the operator runs `fedwarden token <id> --reset-identity`. Secure
 * aggregation checks members' stage signatures against these keys and names them to neighbours (RoundContext).
 *
 * The registered key is read from storage at every hello, so that a reset made by the operator's command while
 * the coordinator runs takes effect at the participant's next hello, without a restart. Rounds get the key each
 * participant presented at its latest accepted hello in this process (the one its connection signs with, even if
 * the operator resets it meanwhile), else the registered one.
 */
import { FedwardenError, identityFingerprint, shortFingerprint, type Logger } from '@fedwarden/shared';
import type { CoordinatorStore } from './storage/store.ts';

/** The operator's command that lets a participant register a new identity key. */
export function resetIdentityCommand(participantId: string): string {
  return `fedwarden token ${participantId} --reset-identity`;
}

export function identityMismatch(participantId: string, presented: string, registered: string): FedwardenError {
  return new FedwardenError(
    'IDENTITY_MISMATCH',
    `participant ${participantId} presented identity key ${shortFingerprint(presented)}, not the registered ${shortFingerprint(registered)}; ` +
      `if its key changed on purpose, run \`${resetIdentityCommand(participantId)}\` on the coordinator`,
  );
}

export class ParticipantIdentities {
  /** The key each participant presented at its latest accepted hello in this process. */
  private readonly presented = new Map<string, Uint8Array>();

  constructor(
    private readonly store: CoordinatorStore,
    private readonly log: Logger,
  ) {}

  /**
   * Refuse (IDENTITY_MISMATCH) a hello whose key differs from the participant's registered one. Call before the
   * hello's other checks have side effects; admit() registers the key once they all passed.
   */
  check(participantId: string, publicKey: Uint8Array): string {
    const fingerprint = identityFingerprint(publicKey);
    const registered = this.store.identity(participantId);
    if (registered && registered.fingerprint !== fingerprint) this.refuse(participantId, fingerprint, registered.fingerprint);
    return fingerprint;
  }

  /**
   * Register the key if the participant has none (atomically: of two first hellos racing, the second is refused
   * like any other mismatch) and remember it for rounds. `fingerprint` is check()'s result.
   */
  admit(participantId: string, publicKey: Uint8Array, fingerprint: string): void {
    const { identity, created } = this.store.registerIdentity(participantId, publicKey, fingerprint);
    if (identity.fingerprint !== fingerprint) this.refuse(participantId, fingerprint, identity.fingerprint);
    if (created) this.log.info('identity key registered', { participant: participantId, fingerprint });
    this.presented.set(participantId, publicKey.slice());
  }

  /** The identity key rounds verify this participant's signatures with; undefined if it never registered one. */
  key(participantId: string): Uint8Array | undefined {
    return this.presented.get(participantId) ?? this.store.identity(participantId)?.publicKey;
  }

  private refuse(participantId: string, presented: string, registered: string): never {
    this.log.warn('identity key does not match the registered one: hello refused', {
      participant: participantId,
      presented,
      registered,
      fix: resetIdentityCommand(participantId),
    });
    throw identityMismatch(participantId, presented, registered);
  }
}
