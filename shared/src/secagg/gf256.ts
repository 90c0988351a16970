/**
 * Arithmetic in GF(2^8) = GF(2)[x] / (x^8 + x^4 + x^3 + x + 1), the field of AES (FIPS 197 §4), for Shamir
 * secret sharing (shamir.ts). Elements are bytes. Addition is XOR (§4.1); multiplication (§4.2) goes through
 * log / antilog tables over the generator {03}, built at load time from xtime (§4.2.1).
 *
 * Limits: the hot functions do not validate their arguments (callers pass bytes 0..255). Table lookups are
 * indexed by secret bytes, so cache timing may depend on them; JavaScript gives no constant-time guarantee
 * anyway, and multiplication at least has no secret-dependent branch.
 */
import { FedwardenError } from '../errors.ts';

/** FIPS 197 §4.2: m(x) = x^8 + x^4 + x^3 + x + 1. */
export const AES_POLYNOMIAL = 0x11b;
/** {03} generates the multiplicative group (order 255); {02} does not under this polynomial. */
export const GF256_GENERATOR = 0x03;

/** EXP[i] = {03}^i for i in 0..509 (two periods), so EXP[LOG[a] + LOG[b]] needs no reduction mod 255. */
const EXP = new Uint8Array(510);
/** LOG[a] = i with {03}^i = a, for a ≠ 0; LOG[0] is unused (0). */
const LOG = new Uint8Array(256);

/** FIPS 197 §4.2.1: multiplication by {02}. */
function xtime(a: number): number {
  return ((a << 1) ^ (a & 0x80 ? AES_POLYNOMIAL : 0)) & 0xff;
}

for (let i = 0, a = 1; i < 255; i++) {
  EXP[i] = a;
  EXP[i + 255] = a;
  LOG[a] = i;
  a = xtime(a) ^ a; // a·{03} = a·{02} ⊕ a
}

/** a + b (and a − b): XOR. */
export function gfAdd(a: number, b: number): number {
  return a ^ b;
}

/** a · b mod m(x). */
export function gfMul(a: number, b: number): number {
  const product = EXP[(LOG[a] as number) + (LOG[b] as number)] as number;
  // (−a) >> 31 is all ones for a in 1..255 and 0 for a = 0: zero out the product without branching.
  return (-a >> 31) & (-b >> 31) & product;
}

/** a^−1, for a ≠ 0. */
export function gfInv(a: number): number {
  if (a === 0) throw new FedwardenError('INTERNAL', 'gfInv: zero has no inverse');
  return EXP[255 - (LOG[a] as number)] as number;
}

/** a / b, for b ≠ 0. */
export function gfDiv(a: number, b: number): number {
  if (b === 0) throw new FedwardenError('INTERNAL', 'gfDiv: division by zero');
  const quotient = EXP[(LOG[a] as number) + 255 - (LOG[b] as number)] as number;
  return (-a >> 31) & quotient;
}
