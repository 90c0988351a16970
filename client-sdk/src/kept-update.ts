/**
 * The last update this participant trained, kept so that an upload lost with the link can be sent again
 * after a reconnect without retraining (session resume, trusted mode). It is keyed by the round and by a
 * digest of the global adapter it was trained from: a coordinator that re-sends the same round with the same
 * global gets the same update, and the coordinator counts a participant's update once per round however often
 * it arrives. A different round or a different global (e.g. a restarted coordinator that reran the round from
 * another checkpoint) means the kept update is stale and the participant trains afresh.
 *
 * Released on the round's updateAck or roundEnd, on an UPDATE_REFUSED reply (it came after its round stopped
 * collecting), on the next roundStart, and when the federation finishes.
 * Secure-aggregation rounds keep nothing here: their survivor sets are fixed per stage and a member that
 * lost its link cannot re-enter the round (see coordinator/src/secagg/secagg-collector.ts).
 *
 * The digest is HMAC-SHA256 under the empty key (HKDF-Extract with an empty salt, RFC 5869 §2.2): a SHA-256
 * based fingerprint through the existing crypto wrapper, so a copy of the global need not be kept.
 */
import { hkdfExtract, type MessageOf } from '@fedwarden/shared';

const NO_SALT = new Uint8Array(0);

export function globalDigest(global: Float32Array): Uint8Array {
  return hkdfExtract(NO_SALT, new Uint8Array(global.buffer, global.byteOffset, global.byteLength));
}

export class KeptUpdate {
  constructor(
    readonly update: MessageOf<'update'>,
    private readonly digest: Uint8Array,
  ) {}

  get round(): number {
    return this.update.round;
  }

  /** Whether this update answers a roundStart of `round` whose global has digest `digest`. */
  answers(round: number, digest: Uint8Array): boolean {
    if (round !== this.update.round || digest.length !== this.digest.length) return false;
    for (let i = 0; i < digest.length; i++) if (digest[i] !== this.digest[i]) return false;
    return true;
  }
}
