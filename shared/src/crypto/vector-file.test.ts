import { describe, expect, it } from 'vitest';
import { loadVectorFile, parseVectorFile } from './vector-file.ts';

describe('vector files', () => {
  it('refuse a file with zero vectors', () => {
    expect(() => parseVectorFile('{"source":"x","vectors":[]}', 'empty.json')).toThrow(/zero vectors/);
    expect(() => parseVectorFile('{"source":"x"}', 'none.json')).toThrow(/zero vectors/);
    expect(() => parseVectorFile('{"vectors":[{}]}', 'unsourced.json')).toThrow(/source/);
  });

  it.each(['hkdf-sha256.json', 'aes-256-gcm.json', 'ml-kem-768-accumulated.json'])('%s loads with a source', (name) => {
    const file = loadVectorFile(name);
    expect(file.vectors.length).toBeGreaterThan(0);
    expect(file.source.length).toBeGreaterThan(0);
  });
});
