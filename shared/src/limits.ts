/**
 * Protocol limits shared by both sides. Each is checked as soon as the number is known, before allocating,
 * and a breach raises TOO_BIG. The coordinator's config can lower or raise them (see coordinator/src/config.ts).
 */
export interface ProtocolLimits {
  /** Largest WebSocket frame accepted, bytes. A larger one closes the connection with 1009. */
  readonly maxFrameBytes: number;
  /** Largest adapter (parameters) in a manifest, global adapter or update. */
  readonly maxVectorLength: number;
  /** Largest UTF-8 string field (token, ids, reasons), bytes. */
  readonly maxStringBytes: number;
  /** Most entries in an adapter manifest. */
  readonly maxManifestEntries: number;
  /** Most members of a secure-aggregation group (Shamir over GF(2^8) caps it at 255). */
  readonly maxGroupSize: number;
}

export const DEFAULT_LIMITS: ProtocolLimits = {
  maxFrameBytes: 16 * 1024 * 1024,
  maxVectorLength: 4 * 1024 * 1024,
  maxStringBytes: 1024,
  maxManifestEntries: 256,
  maxGroupSize: 255,
};
