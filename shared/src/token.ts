/**
 * Enrolment tokens as participants hold them: `fwt_` + 43 base64url characters (32 random bytes), read from a
 * file or the FEDWARDEN_TOKEN environment variable — never from a command line, where `ps` and shell history
 * would show it. Tokens minted before the prefix existed (bare base64url) are still accepted.
 */
import { FedwardenError } from './errors.ts';
import { readOwnerOnlyFile } from './secret-file.ts';

export const TOKEN_PREFIX = 'fwt_';
export const TOKEN_ENV = 'FEDWARDEN_TOKEN';

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{20,200}$/;

/** Check a token's shape without echoing it: errors name the source, never the value. */
export function checkToken(token: string, source: string): string {
  const t = token.trim();
  if (t.length === 0) throw new FedwardenError('BAD_CONFIG', `${source} is empty; it should hold the token from \`fedwarden token <participant-id>\``);
  if (!TOKEN_PATTERN.test(t)) {
    throw new FedwardenError('BAD_CONFIG', `${source} does not hold an enrolment token (expected ${TOKEN_PREFIX} and base64url characters, one line)`);
  }
  return t;
}

/**
 * The participant's token: from `tokenFile` if given, else from the environment. A token file readable by
 * other users is refused, like an SSH key.
 */
export function readToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = readOwnerOnlyFile(tokenFile, 'token file');
    } catch (err) {
      if (err instanceof FedwardenError) throw err;
      throw new FedwardenError('BAD_CONFIG', `cannot read token file ${tokenFile}: ${(err as Error).message}`, { cause: err });
    }
    return checkToken(text, `token file ${tokenFile}`);
  }
  const fromEnv = env[TOKEN_ENV];
  if (fromEnv !== undefined) return checkToken(fromEnv, `$${TOKEN_ENV}`);
  throw new FedwardenError('BAD_CONFIG', `no enrolment token: pass --token-file <file> or set ${TOKEN_ENV}`);
}
