import { describe, expect, it } from 'vitest';
import { ML_DSA65_PUBLIC_KEY_BYTES, generateIdentity, identityFingerprint } from '@fedwarden/shared';
import { PeerPins } from './peer-pins.ts';

const alice = generateIdentity().publicKey;
const mallory = generateIdentity().publicKey;

describe('PeerPins', () => {
  it('pins a participant id to the key it shows first and refuses it with another key afterwards', () => {
    const pins = new PeerPins();
    expect(pins.pinned('alice')).toBeUndefined();
    expect(pins.trust({ participantId: 'alice', identityKey: alice })).toBe(true);
    expect(pins.pinned('alice')).toBe(identityFingerprint(alice));
    expect(pins.trust({ participantId: 'alice', identityKey: alice.slice() })).toBe(true); // same bytes, another array
    expect(pins.trust({ participantId: 'alice', identityKey: mallory })).toBe(false);
    expect(pins.pinned('alice')).toBe(identityFingerprint(alice)); // a refused key does not replace the pin
    expect(pins.trust({ participantId: 'alice', identityKey: alice })).toBe(true);
  });

  it('keeps one pin per participant id', () => {
    const pins = new PeerPins();
    expect(pins.trust({ participantId: 'alice', identityKey: alice })).toBe(true);
    expect(pins.trust({ participantId: 'bob', identityKey: mallory })).toBe(true);
    expect(pins.size).toBe(2);
    expect(pins.trust({ participantId: 'bob', identityKey: alice })).toBe(false);
  });

  it('forget() lets an id pin a new key (after an operator reset the application knows of)', () => {
    const pins = new PeerPins();
    pins.trust({ participantId: 'alice', identityKey: alice });
    expect(pins.forget('alice')).toBe(true);
    expect(pins.forget('alice')).toBe(false);
    expect(pins.trust({ participantId: 'alice', identityKey: mallory })).toBe(true);
    expect(pins.pinned('alice')).toBe(identityFingerprint(mallory));
  });

  it('refuses a malformed key without pinning anything', () => {
    const pins = new PeerPins();
    expect(pins.trust({ participantId: 'alice', identityKey: new Uint8Array(ML_DSA65_PUBLIC_KEY_BYTES - 1) })).toBe(false);
    expect(pins.size).toBe(0);
  });
});
