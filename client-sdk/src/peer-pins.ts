/**
 * Trust on first use for neighbours' identity keys. In a secure-aggregation round the coordinator names each
 * neighbour's participant id and ML-DSA-65 identity key (SecaggSetup.peers); a malicious coordinator could name
 * a key of its own for a neighbour and so sit in the middle of the pairwise exchange. PeerPins remembers the key
 * fingerprint each participant id showed the first time and refuses, from then on, that id with another key.
 *
 * What it cannot do: tell whether the key shown the first time was genuine (an application with its own
 * directory of participants' keys checks that with FederatedClientOptions.trustPeer), or follow a participant
 * whose key the operator reset on purpose (`fedwarden token <id> --reset-identity`): that id is refused until
 * forget(id), or until this participant starts afresh with new pins.
 */
import { identityFingerprint, type SecaggPeer } from '@fedwarden/shared';

export class PeerPins {
  /** participant id → SHA-256 fingerprint of the identity key it showed first. */
  private readonly pins = new Map<string, string>();

  /**
   * Whether to accept `peer`: true for an id seen for the first time (its key is pinned now) or with its pinned
   * key; false for a known id with another key, or a key that is not a well-formed identity key.
   */
  trust(peer: Pick<SecaggPeer, 'participantId' | 'identityKey'>): boolean {
    let fingerprint: string;
    try {
      fingerprint = identityFingerprint(peer.identityKey);
    } catch {
      return false;
    }
    const pinned = this.pins.get(peer.participantId);
    if (pinned === undefined) {
      this.pins.set(peer.participantId, fingerprint);
      return true;
    }
    return pinned === fingerprint;
  }

  /** The fingerprint pinned for a participant id, if it has been seen. */
  pinned(participantId: string): string | undefined {
    return this.pins.get(participantId);
  }

  /** Forget a participant's pinned key (its next appearance pins anew); whether one was pinned. */
  forget(participantId: string): boolean {
    return this.pins.delete(participantId);
  }

  get size(): number {
    return this.pins.size;
  }
}
