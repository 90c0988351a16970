/**
 * What one participant message costs on the wire: encoded by the shared codec, sealed by a real post-quantum
 * channel session, plus the header of the masked WebSocket frame a client sends (RFC 6455 §5.2).
 */
import { ServerHandshake, clientHandshake, encodeMessage, fingerprint, generateKemKeyPair, type Message } from '@fedwarden/shared';

export function uploadWireBytes(msg: Message): number {
  const identity = generateKemKeyPair();
  const server = new ServerHandshake(identity);
  const { session } = clientHandshake(server.helloFrame, fingerprint(identity.publicKey));
  const len = session.seal(encodeMessage(msg)).length;
  const header = 2 + (len < 126 ? 0 : len < 65_536 ? 2 : 8) + 4; // base header, extended length, masking key
  return len + header;
}
