/**
 * Figures for people in log fields: a duration in whole milliseconds, a loss, accuracy or score to 4
 * significant digits (`trainMs: 3169.4804400000103` reads as 3169, a loss of 0.0123456 as 0.01235). Applied
 * at the log call only: records, metrics and messages keep full precision. And a hash (a key fingerprint, an
 * audit head) shortened for a message: its first 64 bits tell keys apart by eye.
 */

/** Whole milliseconds; a non-finite value passes through. */
export function roundMs(ms: number): number;
export function roundMs(ms: number | null | undefined): number | null | undefined;
export function roundMs(ms: number | null | undefined): number | null | undefined {
  return typeof ms === 'number' && Number.isFinite(ms) ? Math.round(ms) : ms;
}

/** 4 significant digits; zero, a non-finite value, null and undefined pass through. */
export function roundFigure(x: number): number;
export function roundFigure(x: number | null | undefined): number | null | undefined;
export function roundFigure(x: number | null | undefined): number | null | undefined {
  return typeof x === 'number' && Number.isFinite(x) && x !== 0 ? Number(x.toPrecision(4)) : x;
}

/** How many hex characters of a fingerprint or digest messages show (64 bits). */
export const FINGERPRINT_PREFIX_CHARS = 16;

/** The first FINGERPRINT_PREFIX_CHARS characters of a hex fingerprint or digest, and an ellipsis. */
export function shortFingerprint(fingerprint: string): string {
  return `${fingerprint.slice(0, FINGERPRINT_PREFIX_CHARS)}…`;
}
