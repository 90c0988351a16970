/** Where participants take their token from, and what a malformed one is told (without echoing it). */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readToken, TOKEN_ENV } from './token.ts';

const TOKEN = 'fwt_' + 'A'.repeat(43);
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});
function tokenFile(content: string, mode: number): string {
  dir = mkdtempSync(join(tmpdir(), 'fedwarden-token-'));
  const path = join(dir, 'p.token');
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

describe('readToken', () => {
  it('reads a 0600 file, trimming its newline, ahead of the environment', () => {
    expect(readToken(tokenFile(TOKEN + '\n', 0o600), { [TOKEN_ENV]: 'fwt_other_token_value_xxxx' })).toBe(TOKEN);
  });

  it('falls back to FEDWARDEN_TOKEN', () => {
    expect(readToken(undefined, { [TOKEN_ENV]: ` ${TOKEN}\n` })).toBe(TOKEN);
  });

  it('refuses a token file other users can read', () => {
    const path = tokenFile(TOKEN, 0o644);
    expect(() => readToken(path, {})).toThrow(`token file ${path} is readable by other users (mode 644); chmod 600 it`);
  });

  it('says where to put the token when there is none', () => {
    expect(() => readToken(undefined, {})).toThrow(/no enrolment token: pass --token-file <file> or set FEDWARDEN_TOKEN/);
  });

  it('names the source of a malformed token without echoing its value', () => {
    const secretish = 'fwt_has spaces and; more';
    let message = '';
    try {
      readToken(undefined, { [TOKEN_ENV]: secretish });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('$FEDWARDEN_TOKEN does not hold an enrolment token');
    expect(message).not.toContain('has spaces');
    expect(() => readToken(tokenFile('\n', 0o600), {})).toThrow(/is empty; it should hold the token/);
  });
});
