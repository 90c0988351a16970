/**
 * Shamir secret sharing (A. Shamir, "How to share a secret", CACM 22(11), 1979), byte-wise over GF(2^8)
 * (gf256.ts): byte k of the secret is the constant term of its own random polynomial f_k of degree t − 1, and
 * the share at x is the bytes f_k(x). Any t shares give f_k(0) by Lagrange interpolation; any t − 1 shares are
 * uniformly distributed whatever the secret (information-theoretic secrecy).
 *
 * In secure aggregation x is the member's index in its group, so x ranges over the nonzero field elements
 * 1..255 and a group has at most 255 members.
 *
 * Errors: shamirSplit's arguments are the caller's own, so a bad one is INTERNAL. shamirCombine reads shares
 * that came from peers: a set that cannot be interpolated (fewer than t shares, x out of range, duplicate x,
 * unequal lengths) is BAD_FRAME, malformed input; the caller decides whether that aborts the round.
 *
 * Limits: shares are not authenticated here — a wrong share silently yields a wrong secret (shares travel
 * AEAD-sealed, pairwise.ts); this is not verifiable secret sharing.
 */
import { randomFillSync } from 'node:crypto';
import { FedwardenError } from '../errors.ts';
import { assertAnyBytes } from '../crypto/assert-bytes.ts';
import { gfDiv, gfMul } from './gf256.ts';

/** x-coordinates are the nonzero elements of GF(2^8). */
export const SHAMIR_MAX_SHARES = 255;

export interface ShamirShare {
  readonly x: number;
  readonly share: Uint8Array;
}

/** Platform CSPRNG. */
function cryptoRandom(n: number): Uint8Array {
  return randomFillSync(new Uint8Array(n));
}

/**
 * Split `secret` into one share per x in `xs` (distinct integers in 1..255), any `threshold` of which recover it.
 * `random(n)` supplies the coefficients: degree j = 1..t−1 of byte k is byte (j − 1)·secret.length + k of a
 * single call (the layout the known-answer file relies on). Shares have the secret's length.
 */
export function shamirSplit(
  secret: Uint8Array,
  threshold: number,
  xs: readonly number[],
  random: (n: number) => Uint8Array = cryptoRandom,
): Uint8Array[] {
  assertAnyBytes(secret, 'shamirSplit', 'secret', 'INTERNAL');
  if (secret.length === 0) throw new FedwardenError('INTERNAL', 'shamirSplit: empty secret');
  if (!Array.isArray(xs) || xs.length === 0 || xs.length > SHAMIR_MAX_SHARES) {
    throw new FedwardenError('INTERNAL', `shamirSplit: xs must hold 1..${SHAMIR_MAX_SHARES} x-coordinates`);
  }
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > xs.length) {
    throw new FedwardenError('INTERNAL', `shamirSplit: threshold must be an integer in 1..${xs.length}`);
  }
  const problem = xProblem(xs);
  if (problem) throw new FedwardenError('INTERNAL', `shamirSplit: ${problem}`);

  const len = secret.length;
  const coefficients = random((threshold - 1) * len);
  try {
    assertAnyBytes(coefficients, 'shamirSplit', 'random output', 'INTERNAL');
    if (coefficients.length !== (threshold - 1) * len) {
      throw new FedwardenError('INTERNAL', 'shamirSplit: random returned the wrong number of bytes');
    }
    return xs.map((x) => {
      const share = new Uint8Array(len);
      for (let k = 0; k < len; k++) {
        // Horner: f(x) = s + x·(a_1 + x·(a_2 + … + x·a_{t−1})).
        let acc = 0;
        for (let j = threshold - 1; j >= 1; j--) acc = gfMul(acc ^ (coefficients[(j - 1) * len + k] as number), x);
        share[k] = acc ^ (secret[k] as number);
      }
      return share;
    });
  } finally {
    coefficients.fill(0);
  }
}

/**
 * The secret from the first `threshold` of `shares`, by Lagrange interpolation at 0:
 * s = Σ_j y_j · Π_{m≠j} x_m / (x_m − x_j). All given shares are checked, the first `threshold` are used.
 */
export function shamirCombine(shares: ReadonlyArray<ShamirShare>, threshold: number): Uint8Array {
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > SHAMIR_MAX_SHARES) {
    throw new FedwardenError('INTERNAL', `shamirCombine: threshold must be an integer in 1..${SHAMIR_MAX_SHARES}`);
  }
  if (!Array.isArray(shares) || shares.length < threshold) {
    throw new FedwardenError('BAD_FRAME', `shamirCombine: need ${threshold} shares, got ${Array.isArray(shares) ? shares.length : 0}`);
  }
  for (const s of shares) assertAnyBytes(s.share, 'shamirCombine', 'share');
  const problem = xProblem(shares.map((s) => s.x));
  if (problem) throw new FedwardenError('BAD_FRAME', `shamirCombine: ${problem}`);
  const len = (shares[0] as ShamirShare).share.length;
  if (len === 0 || shares.some((s) => s.share.length !== len)) {
    throw new FedwardenError('BAD_FRAME', 'shamirCombine: shares must be non-empty and of equal length');
  }

  const used = shares.slice(0, threshold);
  const secret = new Uint8Array(len);
  for (const { x: xj, share } of used) {
    let lambda = 1; // Lagrange basis polynomial of x_j, evaluated at 0
    for (const { x: xm } of used) if (xm !== xj) lambda = gfMul(lambda, gfDiv(xm, xm ^ xj));
    for (let k = 0; k < len; k++) secret[k] = (secret[k] as number) ^ gfMul(lambda, share[k] as number);
  }
  return secret;
}

/** Why `xs` are not distinct x-coordinates in 1..255, or undefined if they are. */
function xProblem(xs: readonly unknown[]): string | undefined {
  const seen = new Set<number>();
  for (const x of xs) {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1 || x > SHAMIR_MAX_SHARES) {
      return `x must be an integer in 1..${SHAMIR_MAX_SHARES}, got ${String(x)}`;
    }
    if (seen.has(x)) return `duplicate x ${x}`;
    seen.add(x);
  }
  return undefined;
}
