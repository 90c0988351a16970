/**
 * FIPS 203 §7.2 encapsulation-key input check for ML-KEM-768, done where a key is received instead of where
 * it is used: ek is 384·k bytes of 12-bit coefficients then a 32-byte seed ρ, and ByteEncode12(ByteDecode12(ek))
 * must equal ek, i.e. every coefficient is below q = 3329. ML-KEM.Encaps refuses a key that fails it, so a
 * secure-aggregation member that published one would make each honest neighbour refuse to encapsulate: the
 * coordinator checks keys at stage keys and drops the member that sent a bad one.
 */
import { ML_KEM768_PUBLIC_KEY_BYTES } from '../crypto/kem.ts';

/** FIPS 203 §2.3: q. */
const Q = 3329;
/** 384·k for k = 3 (Table 2): the encoded vector t̂ before ρ. */
const ENCODED_T_BYTES = 384 * 3;

export function isValidKemPublicKey(ek: unknown): boolean {
  if (!(ek instanceof Uint8Array) || ek.length !== ML_KEM768_PUBLIC_KEY_BYTES) return false;
  for (let i = 0; i < ENCODED_T_BYTES; i += 3) {
    const b0 = ek[i] as number;
    const b1 = ek[i + 1] as number;
    const b2 = ek[i + 2] as number;
    if ((b0 | ((b1 & 0x0f) << 8)) >= Q || ((b1 >> 4) | (b2 << 4)) >= Q) return false;
  }
  return true;
}
