import { describe, expect, it } from 'vitest';
import { FedwardenError } from '../errors.ts';
import { aeadOpen, aeadSeal, counterNonce } from './aead.ts';
import { hex, loadVectorFile } from './vector-file.ts';
import { codeOf } from '../test-support.ts';

interface GcmVector {
  name: string;
  key: string;
  iv: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}

const gcm = loadVectorFile<GcmVector>('aes-256-gcm.json');


describe('AES-256-GCM known answers (GCM spec test cases 13-16)', () => {
  it('has the four AES-256 96-bit-IV cases', () => {
    expect(gcm.vectors).toHaveLength(4);
  });

  for (const v of gcm.vectors) {
    it(v.name, () => {
      const sealed = aeadSeal(hex(v.key), hex(v.iv), hex(v.plaintext), hex(v.aad));
      expect(sealed).toEqual(hex(v.ciphertext + v.tag));
      expect(aeadOpen(hex(v.key), hex(v.iv), sealed, hex(v.aad))).toEqual(hex(v.plaintext));
    });
  }
});

describe('aeadOpen', () => {
  const key = new Uint8Array(32).fill(1);
  const nonce = counterNonce(5n);
  const aad = new Uint8Array([1, 2, 3]);
  const plaintext = new TextEncoder().encode('the quick brown fox');
  const sealed = aeadSeal(key, nonce, plaintext, aad);

  it('rejects any single flipped bit of ciphertext or tag', () => {
    for (let i = 0; i < sealed.length; i++) {
      const bad = sealed.slice();
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      expect(codeOf(() => aeadOpen(key, nonce, bad, aad))).toBe('DECRYPT_FAILED');
    }
  });

  it('rejects a wrong key, nonce or AAD, and a truncated tag', () => {
    expect(codeOf(() => aeadOpen(new Uint8Array(32).fill(2), nonce, sealed, aad))).toBe('DECRYPT_FAILED');
    expect(codeOf(() => aeadOpen(key, counterNonce(6n), sealed, aad))).toBe('DECRYPT_FAILED');
    expect(codeOf(() => aeadOpen(key, nonce, sealed, new Uint8Array([1, 2])))).toBe('DECRYPT_FAILED');
    expect(codeOf(() => aeadOpen(key, nonce, sealed.subarray(0, sealed.length - 1), aad))).toBe('DECRYPT_FAILED');
    expect(codeOf(() => aeadOpen(key, nonce, sealed.subarray(0, 15), aad))).toBe('DECRYPT_FAILED');
  });

  it('checks key and nonce lengths, naming itself', () => {
    expect(() => aeadSeal(key.subarray(1), nonce, plaintext, aad)).toThrow(/aeadSeal: wrong key length/);
    expect(() => aeadSeal(key, nonce.subarray(1), plaintext, aad)).toThrow(/aeadSeal: wrong nonce length/);
    expect(() => aeadOpen(key.subarray(1), nonce, sealed, aad)).toThrow(/aeadOpen: wrong key length/);
    expect(() => aeadOpen(key, new Uint8Array(16), sealed, aad)).toThrow(/aeadOpen: wrong nonce length/);
  });
});

describe('counterNonce', () => {
  it('is 4 zero bytes then the counter as u64 little-endian', () => {
    expect(counterNonce(0n)).toEqual(new Uint8Array(12));
    expect(counterNonce(0x0102030405060708n)).toEqual(new Uint8Array([0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1]));
    expect(counterNonce((1n << 64n) - 1n)).toEqual(new Uint8Array([0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]));
  });

  it('refuses counters outside u64', () => {
    expect(() => counterNonce(-1n)).toThrow(FedwardenError);
    expect(() => counterNonce(1n << 64n)).toThrow(FedwardenError);
  });
});
