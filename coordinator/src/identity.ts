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
import { fsyncFileSync } from './storage/fsync.ts';
import { guardStorage } from './storage/storage-errors.ts';

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

export function keyPath(dataDir: string): string {
  return join(dataDir, KEY_FILE_NAME);
}

/**
 * Load the identity from dataDir, creating it when the file is missing. `created` tells the caller to announce
 * it. The coordinator CLI goes through data-dir.ts instead, which refuses a key created beside an existing
 * database (participants pinned the lost key's fingerprint).
 */
export function loadOrCreateIdentity(dataDir: string): { identity: CoordinatorIdentity; created: boolean } {
  return existsSync(keyPath(dataDir)) ? { identity: readIdentity(dataDir), created: false } : { identity: createIdentity(dataDir), created: true };
}

/** Generate a new key in dataDir (created 0700 if missing); an existing key file is never overwritten. */
export function createIdentity(dataDir: string): CoordinatorIdentity {
  const path = keyPath(dataDir);
  const seed = randomBytes(SEED_BYTES);
  try {
    guardStorage(`key file ${path}`, 'create it', () => {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const body = JSON.stringify({ version: 1, algorithm: 'ML-KEM-768', seed: seed.toString('hex') });
      writeFileSync(path, body + '\n', { flag: 'wx', mode: 0o600 });
      chmodSync(path, 0o600); // umask cannot widen it, but be explicit
    });
    fsyncFileSync(path);
    return identityFromSeed(seed);
  } finally {
    seed.fill(0);
  }
}

/** Load the key in dataDir; a missing, unreadable, malformed or group/other-readable key file is refused. */
export function readIdentity(dataDir: string): CoordinatorIdentity {
  return parseKeyFile(keyPath(dataDir), guardStorage(`key file ${keyPath(dataDir)}`, 'read it', () => readKeyFile(keyPath(dataDir))));
}

function readKeyFile(path: string): string {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new FedwardenError(
      'BAD_CONFIG',
      `key file ${path} has permissions ${mode.toString(8)}; it must be readable by its owner only (chmod 600)`,
    );
  }
  return readFileSync(path, 'utf8');
}

/** A key file's text (`path` for messages) as the identity it holds. */
export function parseKeyFile(path: string, text: string): CoordinatorIdentity {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new FedwardenError('BAD_CONFIG', `key file ${path} is not valid JSON`, { cause: err });
  }
  const seedHex = (parsed as { seed?: unknown } | null)?.seed;
  if (typeof seedHex !== 'string' || !/^[0-9a-f]{128}$/.test(seedHex)) {
    throw new FedwardenError('BAD_CONFIG', `key file ${path}: missing or malformed seed`);
  }
  const seed = Buffer.from(seedHex, 'hex');
  try {
    return identityFromSeed(seed);
  } finally {
    seed.fill(0);
  }
}
