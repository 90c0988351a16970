/**
 * Byte-array helpers shared by the protocol code: concatenation, and an equality check whose time does not
 * depend on where two equal-length arrays differ (for digests, ciphertexts and keys compared with what a peer
 * sent; the length is public).
 */

/** The arrays one after another, in a new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whether `a` and `b` hold the same bytes; false when `b` is missing or of another length. */
export function equalBytes(a: Uint8Array, b: Uint8Array | undefined): boolean {
  if (!b || a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}
