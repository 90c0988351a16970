/**
 * A hostile member signs its own lies: after a test rewrites what member `index` sends, this re-signs the
 * message with that member's identity key, as a real hostile participant would, so that the test exercises the
 * protocol's checks of content rather than its signature check. Messages whose fields cannot be signed (bad
 * indices or sizes, left for the coordinator's parser to refuse) are returned unchanged.
 */
import {
  attestItems,
  encapsItem,
  keysStatement,
  sharesItem,
  signStatement,
  type IdentityKeyPair,
  type Message,
} from '@fedwarden/shared';

export function resign(msg: Message, identity: IdentityKeyPair, group: number, index: number): Message {
  try {
    switch (msg.kind) {
      case 'saKeys':
        return { ...msg, signature: signStatement(identity.secretKey, keysStatement(msg.round, group, index, msg)) };
      case 'saEncaps': {
        const masks = new Map(msg.cipherTexts.map((e) => [e.index, e.bytes]));
        const items = new Map(msg.shareCipherTexts.map((e) => [e.index, encapsItem(masks.get(e.index), e.bytes)]));
        return { ...msg, attestation: attestItems('encaps', identity.secretKey, msg.round, group, index, items) };
      }
      case 'saShares': {
        const commitments = new Map(msg.commitments.map((e) => [e.index, e.bytes]));
        const seedCommitments = new Map(msg.seedCommitments.map((e) => [e.index, e.bytes]));
        const items = new Map(msg.shares.map((e) => [e.index, sharesItem(e.bytes, commitments.get(e.index) ?? new Uint8Array(0), seedCommitments.get(e.index) ?? new Uint8Array(0))]));
        return { ...msg, attestation: attestItems('shares', identity.secretKey, msg.round, group, index, items) };
      }
      default:
        return msg;
    }
  } catch {
    return msg;
  }
}
