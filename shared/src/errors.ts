/**
 * One error type for the whole system, with a stable code that maps to a WebSocket close code.
 *
 * Codes are part of the protocol: peers, logs and metrics key on them, so never renumber or reuse one.
 * Close codes follow RFC 6455 §7.4 (1000–1015) and the application range 4000–4999.
 */

export const ERROR_CODES = {
  /** Frame or message that does not parse (bad header, truncated body, unknown kind). */
  BAD_FRAME: { close: 1002, text: 'malformed frame' },
  /** A well-formed message that is not legal in the current state. */
  UNEXPECTED_MESSAGE: { close: 1008, text: 'message not allowed in this state' },
  /** A frame, vector or string larger than the configured limit. */
  TOO_BIG: { close: 1009, text: 'frame or field exceeds limit' },
  /** Text frames, or protocol version the peer does not speak. */
  UNSUPPORTED: { close: 1003, text: 'unsupported data or version' },
  /** The coordinator's public key does not match the pinned fingerprint. */
  FINGERPRINT_MISMATCH: { close: 4001, text: 'coordinator key does not match pinned fingerprint' },
  /** AEAD authentication failed: tampered frame or wrong key. */
  DECRYPT_FAILED: { close: 4002, text: 'frame failed authentication' },
  /** A sealed frame whose counter is not the next expected one (replayed, reordered or dropped). */
  REPLAY: { close: 4003, text: 'replayed or reordered frame' },
  /** Enrolment token unknown, or participant already connected. */
  AUTH_FAILED: { close: 4004, text: 'authentication failed' },
  /** Participant's adapter manifest differs from the federation's. */
  MANIFEST_MISMATCH: { close: 4005, text: 'adapter manifest mismatch' },
  /** An update that fails validation (length, non-finite values). */
  BAD_UPDATE: { close: 4006, text: 'update rejected' },
  /** A stage deadline passed (handshake, hello). */
  TIMEOUT: { close: 4008, text: 'timed out' },
  /** The same participant connected again; the older connection yields. */
  SUPERSEDED: { close: 4010, text: 'replaced by a newer connection' },
  /** Coordinator at capacity. */
  FULL: { close: 4009, text: 'coordinator full' },
  /** A peer sent messages faster than its connection's rate limit allows. */
  RATE_LIMITED: { close: 4011, text: 'message rate limit exceeded' },
  /**
   * An update the round will not use: for a round that no longer collects (an error reply, the link stays up:
   * a straggler is not punished), or a second, different update for a round that already has one from this
   * participant (the connection closes). An identical re-send of the accepted update is acknowledged instead.
   */
  UPDATE_REFUSED: { close: 4012, text: 'update not used' },
  /** A command line the CLI cannot run: unknown command or option, missing or malformed argument (local only, never sent). */
  USAGE: { close: 1011, text: 'invalid command line' },
  /** A command whose package is not installed, e.g. `fedwarden simulate` without @fedwarden/sim (local only, never sent). */
  UNAVAILABLE: { close: 1011, text: 'not installed' },
  /** Configuration invalid (local only, never sent). */
  BAD_CONFIG: { close: 1011, text: 'invalid configuration' },
  /** The coordinator's database has a schema newer than this code (local only, never sent). */
  STORAGE_VERSION: { close: 1011, text: 'storage schema newer than this coordinator' },
  /** Stored data failed an integrity check: checkpoint hash, audit chain (local only, never sent). */
  STORAGE_CORRUPT: { close: 1011, text: 'storage failed an integrity check' },
  /** The database or a data-dir file cannot be written: read-only file, directory or file system (local only, never sent). */
  STORAGE_READONLY: { close: 1011, text: 'storage is read-only' },
  /** Reading or writing storage failed: I/O error, a file that cannot be opened or created (local only, never sent). */
  STORAGE_IO: { close: 1011, text: 'storage I/O failed' },
  /** The disk or file system holding storage is full (local only, never sent). */
  STORAGE_FULL: { close: 1011, text: 'storage is full' },
  /** The database is locked by another process for longer than the busy timeout (local only, never sent). */
  STORAGE_LOCKED: { close: 1011, text: 'storage is locked' },
  /**
   * A data dir holds the coordinator key without its database or the database without its key: refused rather
   * than silently starting a new federation or a new key (local only, never sent).
   */
  STORAGE_MISSING: { close: 1011, text: 'coordinator key or database missing' },
  /** Files that must belong together do not: a key another database was created with, a backup unlike its manifest (local only, never sent). */
  STORAGE_MISMATCH: { close: 1011, text: 'storage files do not belong together' },
  /**
   * Secure aggregation: a Shamir share that does not open or does not match its dealer's commitment. Protocol 1
   * members refused with it when too few partners' shares were good; since protocol 2 they abstain with
   * complaints instead (the culprits are blamed), and the code is kept so that it keeps its meaning.
   */
  BAD_SHARE: { close: 4013, text: 'secure-aggregation share failed its check' },
  /**
   * Secure aggregation: a stage message whose identity signature does not verify. The coordinator refuses such a
   * message from a member; a member that finds one in a relay refuses the round (only the relay can have made
   * it, since the coordinator checks every signature it accepts), revealing nothing.
   */
  BAD_SIGNATURE: { close: 4014, text: 'signature failed verification' },
  /**
   * A hello whose identity key differs from the one registered for this participant at enrolment. Not retried:
   * the operator must re-register the participant's key (`fedwarden token <id> --reset-identity`).
   */
  IDENTITY_MISMATCH: { close: 4015, text: 'identity key does not match the registered one' },
  /** Secure aggregation: the coordinator names a neighbour whose identity key this participant does not trust. */
  UNTRUSTED_PEER: { close: 4016, text: 'neighbour identity key not trusted' },
  /** Bug or unexpected failure; normalised from unknown throws. */
  INTERNAL: { close: 1011, text: 'internal error' },
  /** Orderly shutdown. */
  GOING_AWAY: { close: 1001, text: 'going away' },
} as const satisfies Record<string, { close: number; text: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

export class FedwardenError extends Error {
  override readonly name = 'FedwardenError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** WebSocket close code for this error. */
  get closeCode(): number {
    return ERROR_CODES[this.code].close;
  }
}

/** Normalise anything thrown into a FedwardenError (unknown throws become INTERNAL). */
export function toFedwardenError(err: unknown): FedwardenError {
  if (err instanceof FedwardenError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FedwardenError('INTERNAL', message, { cause: err });
}

/** Close-frame reasons are limited to 123 bytes of UTF-8 (RFC 6455 §5.5). */
export function closeReason(err: FedwardenError): string {
  const reason = `${err.code}: ${err.message}`;
  const bytes = Buffer.from(reason, 'utf8');
  return bytes.length <= 123 ? reason : bytes.subarray(0, 120).toString('utf8').replace(/\uFFFD+$/, '') + '...';
}

/** Parse "CODE: text" close reasons back into a code, for peers and tests. */
export function codeFromCloseReason(reason: string): ErrorCode | undefined {
  const code = reason.split(':', 1)[0];
  return isErrorCode(code) ? code : undefined;
}
