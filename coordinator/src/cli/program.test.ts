/**
 * The `fedwarden` command in-process (runCli with captured output): help for every command, suggestions and
 * exit 2 for typos, the error format, and tokens that are recognisable, never start with "-" and are printed
 * only by `fedwarden token`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ML_DSA65_PUBLIC_KEY_BYTES, identityFingerprint } from '@fedwarden/shared';
import { hashToken } from '../enrolment.ts';
import { databasePath } from '../storage/database.ts';
import { SqliteStore } from '../storage/store.ts';
import { runCli } from './program.ts';

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, {}, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fedwarden-cli-'));
  dirs.push(d);
  return d;
}

describe('fedwarden help and usage errors', () => {
  it.each([[], ['coordinator'], ['token'], ['fingerprint'], ['verify'], ['backup'], ['restore']])('answers --help with exit 0 (%s)', async (...cmd) => {
    const r = await cli(...(cmd as string[]), '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: fedwarden/);
    expect(r.err).toBe('');
  });

  it('lists every command and the log options with their choices and defaults', async () => {
    const top = await cli('--help');
    for (const c of ['coordinator', 'token', 'fingerprint', 'verify', 'backup', 'restore', 'simulate', 'client']) expect(top.out).toContain(`  ${c} `);
    const coordinator = await cli('coordinator', '--help');
    expect(coordinator.out).toContain('--log-level <level>');
    expect(coordinator.out).toMatch(/--log-format <format>[\s\S]*default:\s+"auto"/);
  });

  it('suggests the option meant and exits 2 for a typo', async () => {
    const r = await cli('coordinator', '--confg', 'x.json');
    expect(r.code).toBe(2);
    expect(r.err).toContain("error [USAGE]: unknown option '--confg'");
    expect(r.err).toContain('Did you mean --config?');
  });

  it('suggests the command meant and exits 2 for a typo', async () => {
    const r = await cli('coordinatr');
    expect(r.code).toBe(2);
    expect(r.err).toContain("error [USAGE]: unknown command 'coordinatr'");
    expect(r.err).toContain('Did you mean coordinator?');
  });

  it('exits 2 naming the missing option', async () => {
    expect(await cli('coordinator')).toMatchObject({ code: 2, err: 'error [USAGE]: coordinator needs --config <file>\n' });
    expect(await cli('verify')).toMatchObject({ code: 2, err: 'error [USAGE]: verify needs --data-dir <dir> or --config <file>\n' });
  });

  it('exits 2 for a config file that is not valid, naming the file', async () => {
    const dir = tempDir();
    const path = join(dir, 'c.json');
    writeFileSync(path, '{ "port": ');
    const r = await cli('fingerprint', '--config', path);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`^error \\[BAD_CONFIG\\]: config ${path.replace(/[.]/g, '\\.')} is not valid JSON`));
  });

  it('exits 2 for an unknown log level, listing the choices', async () => {
    const r = await cli('coordinator', '--config', 'c.json', '--log-level', 'loud');
    expect(r.code).toBe(2);
    expect(r.err).toContain("option '--log-level <level>' argument 'loud' is invalid. Allowed choices are debug, info, warn, error, silent");
  });
});

describe('fedwarden token', () => {
  it('mints fwt_ tokens that never start with "-", and a config entry holding only the hash', async () => {
    for (let i = 0; i < 32; i++) {
      const r = await cli('token', 'alice');
      expect(r.code).toBe(0);
      const token = /: (fwt_[A-Za-z0-9_-]{43})\n/.exec(r.out)?.[1];
      expect(token).toBeDefined();
      const entry = JSON.parse(/config: (\{.*\})/.exec(r.out)![1]!) as { id: string; tokenSha256: string };
      expect(entry).toEqual({ id: 'alice', tokenSha256: hashToken(token!) });
    }
  });

  it('--out writes the token to a new 0600 file and does not print it; an existing file is never overwritten', async () => {
    const path = join(tempDir(), 'alice.token');
    const r = await cli('token', 'alice', '--out', path);
    expect(r.code).toBe(0);
    const token = readFileSync(path, 'utf8').trim();
    expect(token).toMatch(/^fwt_/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(r.out).not.toContain(token);
    expect(r.out).toContain(hashToken(token));
    const again = await cli('token', 'bob', '--out', path);
    expect(again.code).toBe(2);
    expect(again.err).toContain(`${path} exists; not overwriting it`);
    expect(readFileSync(path, 'utf8').trim()).toBe(token);
  });

  it('refuses an id the config would refuse', async () => {
    const r = await cli('token', 'no spaces');
    expect(r.code).toBe(2);
    expect(r.err).toContain('participant id "no spaces": 1-128 letters, digits, . _ - only');
  });

  it('needs a participant id unless --operator', async () => {
    expect(await cli('token')).toMatchObject({ code: 2, err: expect.stringContaining('token needs a <participant-id> (or --operator for the operator token)') as unknown });
  });
});

describe('fedwarden token --operator', () => {
  it('mints an fwo_ operator token and prints the config entry holding only its hash', async () => {
    const r = await cli('token', '--operator');
    expect(r.code).toBe(0);
    const token = /: (fwo_[A-Za-z0-9_-]{43})\n/.exec(r.out)?.[1];
    expect(token).toBeDefined();
    const entry = JSON.parse(/config .*: (\{.*\})\n/.exec(r.out)![1]!) as unknown;
    expect(entry).toEqual({ operator: { tokenSha256: hashToken(token!) } });
  });

  it('--out writes it to a new 0600 file (for Prometheus credentials_file) and does not print it', async () => {
    const path = join(tempDir(), 'operator.token');
    const r = await cli('token', '--operator', '--out', path);
    expect(r.code).toBe(0);
    const token = readFileSync(path, 'utf8').trim();
    expect(token).toMatch(/^fwo_[A-Za-z0-9_-]{43}$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(r.out).not.toContain(token);
    expect(r.out).toContain(hashToken(token));
    expect((await cli('token', '--operator', '--out', path)).code).toBe(2);
    expect(readFileSync(path, 'utf8').trim()).toBe(token);
  });

  it('takes no participant id and no --reset-identity', async () => {
    expect(await cli('token', 'alice', '--operator')).toMatchObject({ code: 2, err: expect.stringContaining('token --operator takes no participant id') as unknown });
    expect((await cli('token', '--operator', '--reset-identity', '--data-dir', tempDir())).code).toBe(2);
  });
});

describe('fedwarden token --reset-identity', () => {
  const key = new Uint8Array(ML_DSA65_PUBLIC_KEY_BYTES).fill(9);

  /** A data dir whose database enrolled alice and registered her identity key. */
  function dataDirWithIdentity(): string {
    const dataDir = tempDir();
    const store = SqliteStore.open(databasePath(dataDir));
    store.resume([{ id: 'alice', tokenSha256: 'a'.repeat(64) }]);
    store.registerIdentity('alice', key, identityFingerprint(key));
    store.close();
    return dataDir;
  }

  it('forgets the registered key (audit-logged), mints no token, and says so when there is nothing to reset', async () => {
    const dataDir = dataDirWithIdentity();
    const r = await cli('token', 'alice', '--reset-identity', '--data-dir', dataDir);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toBe(`identity key ${identityFingerprint(key)} of alice forgotten (audit-logged); its next hello registers the key it presents\n`);
    expect(r.out).not.toMatch(/fwt_/);
    const again = await cli('token', 'alice', '--reset-identity', '--data-dir', dataDir);
    expect(again).toMatchObject({ code: 0, out: 'alice has no identity key registered; nothing to reset (its next hello registers one)\n' });

    const store = SqliteStore.open(databasePath(dataDir), { readonly: true });
    try {
      expect(store.identity('alice')).toBeUndefined();
      expect(store.auditEntries('identity-reset').map((e) => e.body)).toEqual([{ participant: 'alice', fingerprint: identityFingerprint(key) }]);
      expect(store.verify().ok).toBe(true);
    } finally {
      store.close();
    }
  });

  it('finds the data dir through --config', async () => {
    const dataDir = dataDirWithIdentity();
    const config = join(tempDir(), 'c.json');
    writeFileSync(config, JSON.stringify({ dataDir, participants: [{ id: 'alice', tokenSha256: 'a'.repeat(64) }] }));
    expect((await cli('token', 'alice', '--reset-identity', '--config', config)).code).toBe(0);
  });

  it('exits 2 for a participant or a data dir it does not know, without creating a database', async () => {
    const dataDir = dataDirWithIdentity();
    const unknown = await cli('token', 'bob', '--reset-identity', '--data-dir', dataDir);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('error [BAD_CONFIG]: participant bob is not in the database at');
    const empty = tempDir();
    const missing = await cli('token', 'alice', '--reset-identity', '--data-dir', empty);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(`no coordinator database at ${databasePath(empty)}`);
    expect(existsSync(databasePath(empty))).toBe(false);
  });

  it('exits 2 for options that do not go together', async () => {
    expect(await cli('token', 'alice', '--reset-identity')).toMatchObject({ code: 2, err: 'error [USAGE]: token --reset-identity needs --data-dir <dir> or --config <file>\n' });
    expect((await cli('token', 'alice', '--reset-identity', '--data-dir', 'd', '--out', 'f')).err).toContain('--reset-identity mints no token: drop --out');
    expect((await cli('token', 'alice', '--data-dir', 'd')).err).toContain('--data-dir and --config go with --reset-identity only');
  });
});

describe('fedwarden simulate | client (handed to fedwarden-sim)', () => {
  it('finds the workspace fedwarden-sim and returns its exit code: 0 for help, 2 for a typo', async () => {
    const { findSimExecutable } = await import('./delegate.ts');
    expect(findSimExecutable({ PATH: '' })).toMatch(/node_modules\/\.bin\/fedwarden-sim$/);
    expect((await cli('simulate', '--help')).code).toBe(0);
    expect((await cli('client', '--clints', '3')).code).toBe(2);
  });
});
