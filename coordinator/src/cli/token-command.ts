/**
 * `fedwarden token <participant-id>`: mint an enrolment token. The token is shown once (or written to a file
 * with mode 0600) and never stored; the config entry printed beside it holds only its SHA-256. This command is
 * the only place fedwarden ever prints a token.
 *
 * `fedwarden token <participant-id> --reset-identity --data-dir <dir>` instead forgets the identity key the
 * participant registered at its first hello (participant-identities.ts), so that its next hello registers the
 * key it presents then: for a participant that lost its identity file or moved to a new machine. It writes to the
 * coordinator's database (audit entry 'identity-reset' with the old fingerprint) and works while the coordinator
 * runs: the coordinator reads the registered key at every hello. It mints no token; the participant keeps its own.
 *
 * `fedwarden token --operator` mints the operator token instead (operator/operator-auth.ts): the bearer token for
 * the operator listener's /readyz, /metrics and dashboard. Shown once or written to a 0600 file, like a
 * participant's; the config entry printed beside it is the "operator" block's tokenSha256.
 */
import { existsSync, openSync, writeSync, closeSync } from 'node:fs';
import { FedwardenError } from '@fedwarden/shared';
import { participantIdSchema } from '../config.ts';
import { generateToken, hashToken } from '../enrolment.ts';
import { generateOperatorToken } from '../operator/operator-auth.ts';
import { databasePath } from '../storage/database.ts';
import { SqliteStore } from '../storage/store.ts';
import { usageError } from './exit-codes.ts';

export interface TokenCommandOptions {
  readonly out?: string;
}

function checkParticipantId(id: string): void {
  if (!participantIdSchema.safeParse(id).success) throw usageError(`participant id "${id}": 1-128 letters, digits, . _ - only`);
}

export function tokenCommand(id: string, opts: TokenCommandOptions, print: (line: string) => void): void {
  checkParticipantId(id);
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

export function operatorTokenCommand(opts: TokenCommandOptions, print: (line: string) => void): void {
  const token = generateOperatorToken();
  if (opts.out !== undefined) {
    writeSecretFile(opts.out, token + '\n');
    print(`operator token written to ${opts.out} (mode 0600); send it as "Authorization: Bearer <token>" (Prometheus: authorization.credentials_file)`);
  } else {
    print(`operator token (keep it private; only its hash is kept): ${token}`);
  }
  print(`add to the coordinator config (merge into an "operator" block it has): ${JSON.stringify({ operator: { tokenSha256: hashToken(token) } })}`);
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

/** `fedwarden token <id> --reset-identity`: forget the participant's registered identity key in `dataDir`'s database. */
export function resetIdentityCommand(id: string, dataDir: string, print: (line: string) => void): void {
  checkParticipantId(id);
  const path = databasePath(dataDir);
  // Opening would create an empty database: a wrong --data-dir must not look like a participant without a key.
  if (!existsSync(path)) throw new FedwardenError('BAD_CONFIG', `no coordinator database at ${path}; is --data-dir (or the config's dataDir) the coordinator's?`);
  const store = SqliteStore.open(path);
  try {
    const fingerprint = store.resetIdentity(id);
    if (fingerprint === undefined) {
      print(`${id} has no identity key registered; nothing to reset (its next hello registers one)`);
    } else {
      print(`identity key ${fingerprint} of ${id} forgotten (audit-logged); its next hello registers the key it presents`);
    }
  } finally {
    store.close();
  }
}
