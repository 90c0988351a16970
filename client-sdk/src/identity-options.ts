/**
 * FederatedClient's identity options: the participant's ML-DSA-65 identity (from the 32-byte seed the
 * application keeps, e.g. with loadIdentityFile, or fresh for this client instance), the trust decision on
 * neighbours' keys (pins plus the application's own check), and a clear error when the coordinator has another
 * key registered for this participant. Seeds and secret keys never reach a log line or an error message.
 */
import {
  FedwardenError,
  ML_DSA_SEED_BYTES,
  generateIdentity,
  identityFingerprint,
  shortFingerprint,
  type IdentityKeyPair,
  type Logger,
  type SecaggPeer,
} from '@fedwarden/shared';
import type { PeerPins } from './peer-pins.ts';

/** A neighbour as FederatedClientOptions.trustPeer sees it: its participant id and its key's SHA-256 fingerprint (hex). */
export interface PeerIdentity {
  readonly participantId: string;
  readonly fingerprint: string;
}

/** The application's own check of a neighbour's identity key (a directory, a PKI); must answer synchronously. */
export type TrustPeer = (peer: PeerIdentity) => boolean;

/** The key pair of the `identity` option: derived from the seed, or fresh when there is none. */
export function identityFromOption(seed: unknown): IdentityKeyPair {
  if (seed === undefined) return generateIdentity();
  if (!(seed instanceof Uint8Array)) {
    throw new FedwardenError('BAD_CONFIG', `FederatedClient: identity must be a Uint8Array holding the ${ML_DSA_SEED_BYTES}-byte identity seed (e.g. from loadIdentityFile), got ${typeof seed}`);
  }
  if (seed.length !== ML_DSA_SEED_BYTES) {
    throw new FedwardenError('BAD_CONFIG', `FederatedClient: identity must be the ${ML_DSA_SEED_BYTES}-byte identity seed (e.g. from loadIdentityFile), got ${seed.length} bytes`);
  }
  return generateIdentity(seed);
}

/**
 * The trust decision SecaggClient asks for each neighbour a round names: the application's `trustPeer` first (a
 * key it rejects is not pinned), then the pins. A refusal is logged with both fingerprints; the round is then
 * refused with UNTRUSTED_PEER (RoundRunner reports it as a 'refused' event). An application check that throws or
 * does not return exactly `true` (a Promise, say) refuses.
 */
export function peerTrust(pins: PeerPins, trustPeer: TrustPeer | undefined, log: Logger): (peer: SecaggPeer) => boolean {
  return (peer) => {
    let fingerprint: string;
    try {
      fingerprint = identityFingerprint(peer.identityKey);
    } catch {
      log.warn('neighbour identity key malformed: round refused', { neighbour: peer.participantId });
      return false;
    }
    if (trustPeer !== undefined && !applicationTrusts(trustPeer, { participantId: peer.participantId, fingerprint }, log)) {
      log.warn('neighbour identity key rejected by trustPeer: round refused', { neighbour: peer.participantId, fingerprint });
      return false;
    }
    const pinned = pins.pinned(peer.participantId);
    if (!pins.trust(peer)) {
      log.warn('neighbour shows another identity key than the one pinned: round refused', { neighbour: peer.participantId, pinned, fingerprint });
      return false;
    }
    return true;
  };
}

function applicationTrusts(trustPeer: TrustPeer, peer: PeerIdentity, log: Logger): boolean {
  let answer: unknown;
  try {
    answer = trustPeer(peer);
  } catch (err) {
    log.warn('trustPeer threw; the neighbour is not trusted', { neighbour: peer.participantId, err: (err as Error).message });
    return false;
  }
  if (typeof answer !== 'boolean') {
    log.warn('trustPeer must return a boolean synchronously; the neighbour is not trusted', { neighbour: peer.participantId, returned: typeof answer });
    return false;
  }
  return answer;
}

/**
 * The coordinator refused this participant's identity key (IDENTITY_MISMATCH): the same error, worded for the
 * participant's operator, with this client's key fingerprint and the two ways out. Other errors pass unchanged.
 */
export function explainIdentityMismatch(error: FedwardenError, identity: IdentityKeyPair): FedwardenError {
  if (error.code !== 'IDENTITY_MISMATCH') return error;
  const fingerprint = identityFingerprint(identity.publicKey);
  return new FedwardenError(
    'IDENTITY_MISMATCH',
    `the coordinator has another identity key registered for this participant than this client's (${shortFingerprint(fingerprint)}): ` +
      'start it with the identity seed it first joined with (the `identity` option, --identity-file), or have the coordinator operator run ' +
      '`fedwarden token <participant-id> --reset-identity` if the key changed on purpose. Not retried. ' +
      `(${error.message})`,
    { cause: error },
  );
}
