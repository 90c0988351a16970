import { hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FedwardenError } from '../errors.ts';
import {
  HKDF_SHA256_MAX_OUTPUT_BYTES,
  KDF_LABELS,
  LABEL_C2S,
  LABEL_S2C,
  deriveChannelKeys,
  hkdfExpand,
  hkdfExtract,
  hkdfSha256,
} from './kdf.ts';
import { hex, loadVectorFile } from './vector-file.ts';

interface HkdfVector {
  name: string;
  ikm: string;
  salt: string;
  info: string;
  length: number;
  prk: string;
  okm: string;
}

const rfc5869 = loadVectorFile<HkdfVector>('hkdf-sha256.json');

describe('HKDF-SHA256 (RFC 5869 Appendix A)', () => {
  it('has the three SHA-256 test cases', () => {
    expect(rfc5869.vectors).toHaveLength(3);
  });

  for (const v of rfc5869.vectors) {
    it(v.name, () => {
      const prk = hkdfExtract(hex(v.salt), hex(v.ikm));
      expect(prk).toEqual(hex(v.prk));
      expect(hkdfExpand(prk, hex(v.info), v.length)).toEqual(hex(v.okm));
      expect(hkdfSha256(hex(v.ikm), hex(v.salt), hex(v.info), v.length)).toEqual(hex(v.okm));
      // And an independent implementation (OpenSSL through node:crypto) agrees.
      expect(new Uint8Array(hkdfSync('sha256', hex(v.ikm), hex(v.salt), hex(v.info), v.length))).toEqual(hex(v.okm));
    });
  }

  it('takes a string info as its UTF-8 bytes', () => {
    const ikm = new Uint8Array(32).fill(7);
    const salt = new Uint8Array(32).fill(9);
    expect(hkdfSha256(ikm, salt, 'fedwarden/v1/test', 32)).toEqual(
      hkdfSha256(ikm, salt, new TextEncoder().encode('fedwarden/v1/test'), 32),
    );
  });

  it('refuses lengths beyond 255 * HashLen', () => {
    const ikm = new Uint8Array(32);
    expect(hkdfSha256(ikm, ikm, '', HKDF_SHA256_MAX_OUTPUT_BYTES)).toHaveLength(8160);
    for (const bad of [HKDF_SHA256_MAX_OUTPUT_BYTES + 1, -1, 1.5, Number.NaN]) {
      expect(() => hkdfSha256(ikm, ikm, '', bad)).toThrow(FedwardenError);
    }
  });
});

describe('domain-separation labels', () => {
  it('are distinct, versioned strings', () => {
    const labels = Object.values(KDF_LABELS);
    expect(new Set(labels).size).toBe(labels.length);
    for (const label of labels) expect(label).toMatch(/^fedwarden\/v1\//);
    expect(LABEL_C2S).toBe('fedwarden/v1/channel/c2s');
    expect(LABEL_S2C).toBe('fedwarden/v1/channel/s2c');
  });
});

describe('deriveChannelKeys', () => {
  const longTerm = new Uint8Array(32).map((_, i) => i);
  const ephemeral = new Uint8Array(32).map((_, i) => 100 + i);
  const th = new Uint8Array(32).map((_, i) => 255 - i);

  it('is HKDF(ikm = long-term secret || ephemeral secret, salt = transcript hash, info = direction label)', () => {
    const keys = deriveChannelKeys({ longTerm, ephemeral }, th);
    const ikm = new Uint8Array([...longTerm, ...ephemeral]);
    expect(keys.clientToServer).toEqual(hkdfSha256(ikm, th, LABEL_C2S, 32));
    expect(keys.serverToClient).toEqual(hkdfSha256(ikm, th, LABEL_S2C, 32));
    expect(keys.clientToServer).not.toEqual(keys.serverToClient);
    // Either secret alone, as channel version 1 derived from the long-term secret, gives other keys.
    expect(keys.clientToServer).not.toEqual(hkdfSha256(longTerm, th, LABEL_C2S, 32));
    expect(keys.clientToServer).not.toEqual(hkdfSha256(ephemeral, th, LABEL_C2S, 32));
  });

  it('changes with the transcript and with each secret, and does not commute', () => {
    const flip = (b: Uint8Array) => Uint8Array.from(b, (x, i) => (i === 0 ? x ^ 1 : x));
    const base = deriveChannelKeys({ longTerm, ephemeral }, th).clientToServer;
    expect(deriveChannelKeys({ longTerm, ephemeral }, flip(th)).clientToServer).not.toEqual(base);
    expect(deriveChannelKeys({ longTerm: flip(longTerm), ephemeral }, th).clientToServer).not.toEqual(base);
    expect(deriveChannelKeys({ longTerm, ephemeral: flip(ephemeral) }, th).clientToServer).not.toEqual(base);
    expect(deriveChannelKeys({ longTerm: ephemeral, ephemeral: longTerm }, th).clientToServer).not.toEqual(base);
  });

  it('leaves the caller\'s secrets intact (the caller wipes them)', () => {
    const a = longTerm.slice();
    const b = ephemeral.slice();
    deriveChannelKeys({ longTerm: a, ephemeral: b }, th);
    expect(a).toEqual(longTerm);
    expect(b).toEqual(ephemeral);
  });

  it('checks input lengths', () => {
    expect(() => deriveChannelKeys({ longTerm: longTerm.subarray(1), ephemeral }, th)).toThrow(
      /deriveChannelKeys: wrong longTerm secret length/,
    );
    expect(() => deriveChannelKeys({ longTerm, ephemeral: ephemeral.subarray(1) }, th)).toThrow(
      /deriveChannelKeys: wrong ephemeral secret length/,
    );
    expect(() => deriveChannelKeys({ longTerm, ephemeral }, th.subarray(1))).toThrow(/deriveChannelKeys: wrong transcriptHash length/);
  });
});
