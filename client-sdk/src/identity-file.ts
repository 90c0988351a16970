/**
 * A participant's identity seed on disk: the 32-byte ML-DSA-65 seed as 64 lower-case hex characters and a
 * newline, in a file only its owner may read (a group- or world-readable file is refused, like a token file;
 * shared/src/secret-file.ts). The coordinator registers the key derived from it at the participant's first
 * hello and refuses any other key afterwards, so the file must outlive restarts and must not be shared.
 *
 * With `create: true` a missing file is created with a fresh seed, mode 0600, exclusively ('wx', then a hard
 * link that fails if the file exists): an existing file is read, never overwritten, even if another process
 * creates it at the same moment. The seed never
 * appears in an error message.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, openSync, rmSync, writeSync } from 'node:fs';
import { FedwardenError, ML_DSA_SEED_BYTES, readOwnerOnlyFile } from '@fedwarden/shared';

export interface LoadIdentityFileOptions {
  /** Create the file with a fresh seed when it does not exist. Default false: a missing file is an error. */
  readonly create?: boolean;
}

const WHAT = 'identity file';
const SEED_PATTERN = new RegExp(`^[0-9a-f]{${2 * ML_DSA_SEED_BYTES}}\\r?\\n?$`);

/** The identity seed in `path` (for FederatedClientOptions.identity), created first if asked and missing. */
export function loadIdentityFile(path: string, options: LoadIdentityFileOptions = {}): Uint8Array {
  let text: string;
  try {
    text = readOwnerOnlyFile(path, WHAT);
  } catch (err) {
    if (err instanceof FedwardenError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && options.create) {
      const created = createIdentityFile(path);
      if (created) return created;
      return loadIdentityFile(path, {}); // another process created it first: use that one
    }
    const hint = code === 'ENOENT' ? ' (pass create: true, or --identity-file creates it on first use)' : '';
    throw new FedwardenError('BAD_CONFIG', `cannot read ${WHAT} ${path}: ${(err as Error).message}${hint}`, { cause: err });
  }
  if (!SEED_PATTERN.test(text)) {
    throw new FedwardenError('BAD_CONFIG', `${WHAT} ${path} does not hold an identity seed (expected ${2 * ML_DSA_SEED_BYTES} lower-case hex characters and a newline)`);
  }
  return Uint8Array.from(Buffer.from(text.slice(0, 2 * ML_DSA_SEED_BYTES), 'hex'));
}

/**
 * Write a fresh seed to a new file (0600); undefined if the file appeared meanwhile. The seed goes to a private
 * temporary file first, which is then hard-linked to `path` (link fails if `path` exists): whoever reads `path`
 * finds a whole seed or nothing, never a half-written file.
 */
function createIdentityFile(path: string): Uint8Array | undefined {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const seed = randomBytes(ML_DSA_SEED_BYTES);
  try {
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      fchmodSync(fd, 0o600); // the umask can only narrow the mode, but say it outright
      writeSync(fd, `${seed.toString('hex')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(temporary, path);
    return Uint8Array.from(seed);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw new FedwardenError('BAD_CONFIG', `cannot create ${WHAT} ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    seed.fill(0);
    rmSync(temporary, { force: true });
  }
}
