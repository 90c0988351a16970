import { describe, expect, it } from 'vitest';
import { FedwardenError, createLogger, generateIdentity, identityFingerprint, type SecaggPeer } from '@fedwarden/shared';
import { explainIdentityMismatch, identityFromOption, peerTrust, type PeerIdentity } from './identity-options.ts';
import { PeerPins } from './peer-pins.ts';

const SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

function peer(participantId: string, identityKey = generateIdentity().publicKey): SecaggPeer {
  return { index: 1, participantId, identityKey };
}

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  return { log: createLogger('debug', {}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>)), lines };
}

describe('identityFromOption', () => {
  it('derives the same key pair from the same seed, and a fresh one without a seed', () => {
    expect(identityFromOption(SEED).publicKey).toEqual(identityFromOption(SEED.slice()).publicKey);
    expect(identityFromOption(undefined).publicKey).not.toEqual(identityFromOption(undefined).publicKey);
  });

  it('refuses a seed of the wrong size or type with BAD_CONFIG, without echoing it', () => {
    for (const bad of [new Uint8Array(31), new Uint8Array(64), 'ab'.repeat(32), [1, 2, 3]]) {
      let error: unknown;
      try {
        identityFromOption(bad);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(FedwardenError);
      expect((error as FedwardenError).code).toBe('BAD_CONFIG');
      expect((error as Error).message).toMatch(/identity must be .*32-byte identity seed/);
      expect((error as Error).message).not.toContain('abab');
    }
  });
});

describe('peerTrust', () => {
  it('pins on first sight and refuses a known id with another key, logging both fingerprints', () => {
    const { log, lines } = capture();
    const trust = peerTrust(new PeerPins(), undefined, log);
    const first = peer('alice');
    expect(trust(first)).toBe(true);
    const impostor = peer('alice');
    expect(trust(impostor)).toBe(false);
    expect(lines.at(-1)).toMatchObject({
      level: 'warn',
      neighbour: 'alice',
      pinned: identityFingerprint(first.identityKey),
      fingerprint: identityFingerprint(impostor.identityKey),
    });
  });

  it("asks the application's trustPeer first; a key it rejects is not pinned", () => {
    const seen: PeerIdentity[] = [];
    let allow = false;
    const pins = new PeerPins();
    const trust = peerTrust(pins, (p) => (seen.push(p), allow), capture().log);
    const alice = peer('alice');
    expect(trust(alice)).toBe(false);
    expect(seen).toEqual([{ participantId: 'alice', fingerprint: identityFingerprint(alice.identityKey) }]);
    expect(pins.size).toBe(0);
    allow = true;
    expect(trust(alice)).toBe(true);
    expect(trust(peer('alice'))).toBe(false); // the application allows it, the pin does not
  });

  it('refuses when trustPeer throws or answers anything but a boolean (a Promise, say)', () => {
    const { log, lines } = capture();
    expect(peerTrust(new PeerPins(), () => { throw new Error('directory down'); }, log)(peer('a'))).toBe(false);
    expect(lines.some((l) => l.err === 'directory down')).toBe(true);
    const asyncCheck = (() => Promise.resolve(true)) as unknown as () => boolean;
    expect(peerTrust(new PeerPins(), asyncCheck, log)(peer('b'))).toBe(false);
    expect(lines.at(-2)).toMatchObject({ returned: 'object' });
  });
});

describe('explainIdentityMismatch', () => {
  it("words IDENTITY_MISMATCH for the participant's operator, with this client's fingerprint and both ways out", () => {
    const identity = generateIdentity(SEED);
    const from = new FedwardenError('IDENTITY_MISMATCH', 'coordinator closed the connection (4015): IDENTITY_MISMATCH: participant p0 …');
    const explained = explainIdentityMismatch(from, identity);
    expect(explained.code).toBe('IDENTITY_MISMATCH');
    expect(explained.message).toContain(identityFingerprint(identity.publicKey).slice(0, 16));
    expect(explained.message).toContain('`fedwarden token <participant-id> --reset-identity`');
    expect(explained.message).toContain('--identity-file');
    expect(explained.message).toContain('participant p0');
    const other = new FedwardenError('AUTH_FAILED', 'x');
    expect(explainIdentityMismatch(other, identity)).toBe(other);
  });
});
