/**
 * An attacker against recorded channel sessions (shared/src/crypto/channel.ts): it holds the bytes of a session —
 * serverHello, clientKex, then sealed frames each way — and whatever secret keys a test hands it, and tries the
 * key schedules it can compute. Only public constants and functions of @fedwarden/shared are used.
 */
import { createHash } from 'node:crypto';
import {
  CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET,
  CLIENT_KEX_LONG_TERM_CIPHERTEXT_OFFSET,
  KDF_LABELS,
  LABEL_C2S,
  LABEL_HANDSHAKE,
  LABEL_S2C,
  SecureSession,
  decapsulate,
  deriveChannelKeys,
  hkdfSha256,
  type ChannelKeys,
} from '@fedwarden/shared';

export interface RecordedSession {
  readonly serverHello: Uint8Array;
  readonly clientKex: Uint8Array;
  /** Sealed frames participant → coordinator, in order. */
  readonly toCoordinator: readonly Uint8Array[];
  /** Sealed frames coordinator → participant, in order. */
  readonly toParticipant: readonly Uint8Array[];
}

export function transcriptHash(s: RecordedSession, label: string = LABEL_HANDSHAKE): Uint8Array {
  return new Uint8Array(createHash('sha256').update(label, 'utf8').update(s.serverHello).update(s.clientKex).digest());
}

function longTermCipherText(s: RecordedSession): Uint8Array {
  return s.clientKex.subarray(CLIENT_KEX_LONG_TERM_CIPHERTEXT_OFFSET, CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET);
}

function ephemeralCipherText(s: RecordedSession): Uint8Array {
  return s.clientKex.subarray(CLIENT_KEX_EPHEMERAL_CIPHERTEXT_OFFSET);
}

/** Channel version 1's key schedule: HKDF over the long-term secret alone. */
export function version1Keys(longTermSecret: Uint8Array, th: Uint8Array): ChannelKeys {
  return { clientToServer: hkdfSha256(longTermSecret, th, LABEL_C2S, 32), serverToClient: hkdfSha256(longTermSecret, th, LABEL_S2C, 32) };
}

/** Every key schedule a holder of the coordinator's long-term secret key alone can compute for a session. */
export function longTermOnlyGuesses(s: RecordedSession, longTermSecretKey: Uint8Array): [string, ChannelKeys][] {
  const kLt = decapsulate(longTermCipherText(s), longTermSecretKey);
  // Not an error under the wrong key (ML-KEM implicit rejection): an unrelated secret.
  const kJunk = decapsulate(ephemeralCipherText(s), longTermSecretKey);
  const th = transcriptHash(s);
  return [
    ['version 1 schedule, K_lt only', version1Keys(kLt, th)],
    ['version 1 schedule and label, K_lt only', version1Keys(kLt, transcriptHash(s, KDF_LABELS.handshake))],
    ['K_lt and c_eph decapsulated under the long-term key', deriveChannelKeys({ longTerm: kLt, ephemeral: kJunk }, th)],
    ['K_lt and a zero ephemeral secret', deriveChannelKeys({ longTerm: kLt, ephemeral: new Uint8Array(32) }, th)],
    ['K_lt in both places', deriveChannelKeys({ longTerm: kLt, ephemeral: kLt }, th)],
  ];
}

/** The session's real keys, for an attacker that also holds the ephemeral secret key (the control). */
export function keysWithEphemeral(s: RecordedSession, longTermSecretKey: Uint8Array, ephemeralSecretKey: Uint8Array): ChannelKeys {
  return deriveChannelKeys(
    { longTerm: decapsulate(longTermCipherText(s), longTermSecretKey), ephemeral: decapsulate(ephemeralCipherText(s), ephemeralSecretKey) },
    transcriptHash(s),
  );
}

/** Open the recorded sealed frames as their receivers would; the plaintexts that opened, each direction. */
export function openRecorded(s: RecordedSession, keys: ChannelKeys): { toCoordinator: Uint8Array[]; toParticipant: Uint8Array[] } {
  const unused = new Uint8Array(32);
  const openAll = (frames: readonly Uint8Array[], key: Uint8Array): Uint8Array[] => {
    const receiver = new SecureSession(unused, key);
    const opened: Uint8Array[] = [];
    for (const frame of frames) {
      try {
        opened.push(receiver.open(frame));
      } catch {
        // a wrong key: DECRYPT_FAILED, and the receiver refuses everything after
      }
    }
    return opened;
  };
  return { toCoordinator: openAll(s.toCoordinator, keys.clientToServer), toParticipant: openAll(s.toParticipant, keys.serverToClient) };
}
