import { describe, expect, it } from 'vitest';
import { manifestHash, type AdapterManifest } from '@fedwarden/shared';
import { ManifestAgreement } from './manifest-agreement.ts';

const m = (n: number): AdapterManifest => ({ entries: [{ name: 'w', shape: [n], init: { kind: 'zeros' } }] });
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('ManifestAgreement', () => {
  it('adopts the first manifest once and then requires the same one', () => {
    const agreement = new ManifestAgreement(undefined);
    expect(agreement.accept(m(4))?.digest).toBe(manifestHash(m(4)));
    expect(agreement.accept(m(4))).toBeUndefined();
    expect(codeOf(() => agreement.accept(m(5)))).toBe('MANIFEST_MISMATCH');
    expect(agreement.manifest).toEqual(m(4));
  });

  it('accepts only the pinned manifest', () => {
    const agreement = new ManifestAgreement(manifestHash(m(4)));
    expect(codeOf(() => agreement.accept(m(5)))).toBe('MANIFEST_MISMATCH');
    expect(agreement.manifest).toBeUndefined();
    expect(agreement.accept(m(4))).toBeDefined();
  });
});
