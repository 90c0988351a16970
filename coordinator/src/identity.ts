/**
 * The coordinator's long-term ML-KEM-768 identity. Participants pin the SHA-256 fingerprint of its public key.
 *
 * Stored as the 64-byte FIPS 203 key-generation seed (d || z) in <dataDir>/coordinator-key.json, created with
 * owner-only permissions (directory 0700, file 0600); a key file readable by group or others is refused,
 * as ssh does, because whoever reads it can decrypt every participant's channel.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FedwardenError, fingerprint, generateKemKeyPair, type KemKeyPair } from '@fedwarden/shared';

export const KEY_FILE_NAME = 'coordinator-key.json';
const SEED_BYTES = 64;

export interface CoordinatorIdentity {
  readonly keyPair: KemKeyPair;
  /** Lowercase hex SHA-256 of the public key. */
  readonly fingerprint: string;
}

export function identityFromSeed(seed: Uint8Array): CoordinatorIdentity {
  if (seed.length !== SEED_BYTES) throw new FedwardenError('BAD_CONFIG', `identity: seed must be ${SEED_BYTES} bytes`);
  const keyPair = generateKemKeyPair(seed);
  return { keyPair, fingerprint: fingerprint(keyPair.publicKey) };
}

/** A fresh identity that lives only in memory (simulations, tests). */
export function ephemeralIdentity(): CoordinatorIdentity {
  const seed = randomBytes(SEED_BYTES);
  try {
    return identityFromSeed(seed);
  } finally {
    seed.fill(0);
  }
}

/** Load the identity from dataDir, creating it on first start. `created` tells the caller to announce it. */
export function loadOrCreateIdentity(dataDir: string): { identity: CoordinatorIdentity; created: boolean } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, KEY_FILE_NAME);
  if (!existsSync(path)) {
    const seed = randomBytes(SEED_BYTES);
    try {
      const body = JSON.stringify({ version: 1, algorithm: 'ML-KEM-768', seed: seed.toString('hex') });
      writeFileSync(path, body + '\n', { mode: 0o600, flag: 'wx' });
      chmodSync(path, 0o600); // umask cannot widen it, but be explicit
      return { identity: identityFromSeed(seed), created: true };
    } finally {
      seed.fill(0);
    }
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new FedwardenError(
      'BAD_CONFIG',
      `key file ${path} has permissions ${mode.toString(8)}; it must be readable by its owner only (chmod 600)`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new FedwardenError('BAD_CONFIG', `key file ${path} is not valid JSON`, { cause: err });
  }
  const seedHex = (parsed as { seed?: unknown } | null)?.seed;
  if (typeof seedHex !== 'string' || !/^[0-9a-f]{128}$/.test(seedHex)) {
    throw new FedwardenError('BAD_CONFIG', `key file ${path}: missing or malformed seed`);
  }
  const seed = Buffer.from(seedHex, 'hex');
  try {
    return { identity: identityFromSeed(seed), created: false };
  } finally {
    seed.fill(0);
  }
}
