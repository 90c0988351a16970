/**
 * `fedwarden token <participant-id>`: mint an enrolment token. The token is shown once (or written to a file
 * with mode 0600) and never stored; the config entry printed beside it holds only its SHA-256. This command is
 * the only place fedwarden ever prints a token.
 */
import { openSync, writeSync, closeSync } from 'node:fs';
import { FedwardenError } from '@fedwarden/shared';
import { participantIdSchema } from '../config.ts';
import { generateToken, hashToken } from '../enrolment.ts';
import { usageError } from './exit-codes.ts';

export interface TokenCommandOptions {
  readonly out?: string;
}

export function tokenCommand(id: string, opts: TokenCommandOptions, print: (line: string) => void): void {
  if (!participantIdSchema.safeParse(id).success) throw usageError(`participant id "${id}": 1-128 letters, digits, . _ - only`);
  const token = generateToken();
  const entry = JSON.stringify({ id, tokenSha256: hashToken(token) });
  if (opts.out !== undefined) {
    writeSecretFile(opts.out, token + '\n');
    print(`token for ${id} written to ${opts.out} (mode 0600); give that file to the participant (--token-file)`);
  } else {
    print(`token for ${id} (give it to the participant privately; only its hash is kept): ${token}`);
  }
  print(`add to "participants" in the coordinator config: ${entry}`);
}

/** Create `path` with mode 0600; an existing file is never overwritten (it may be another participant's token). */
function writeSecretFile(path: string, content: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FedwardenError('BAD_CONFIG', code === 'EEXIST' ? `${path} exists; not overwriting it` : `cannot create ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}
