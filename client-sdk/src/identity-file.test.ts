import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadIdentityFile } from './identity-file.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});
function tempDir(): string {
  dir = mkdtempSync(join(tmpdir(), 'fedwarden-identity-'));
  return dir;
}

const SEED_HEX = '0123456789abcdef'.repeat(4);

describe('loadIdentityFile', () => {
  it('creates a 0600 file with a fresh seed on first use, and reads the same seed back', () => {
    const path = join(tempDir(), 'identity');
    const seed = loadIdentityFile(path, { create: true });
    expect(seed).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe(`${Buffer.from(seed).toString('hex')}\n`);
    expect(readFileSync(path, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(loadIdentityFile(path, { create: true })).toEqual(seed);
    expect(loadIdentityFile(path)).toEqual(seed);
    expect(readdirSync(dir!)).toEqual(['identity']); // no temporary file left behind
    // Another file, another seed.
    expect(loadIdentityFile(join(dir!, 'other'), { create: true })).not.toEqual(seed);
  });

  it('reads an existing seed and never overwrites it', () => {
    const path = join(tempDir(), 'identity');
    writeFileSync(path, `${SEED_HEX}\n`, { mode: 0o600 });
    expect(Buffer.from(loadIdentityFile(path, { create: true })).toString('hex')).toBe(SEED_HEX);
    expect(readFileSync(path, 'utf8')).toBe(`${SEED_HEX}\n`);
  });

  it('refuses a file other users can read, naming its mode and not its content', () => {
    const path = join(tempDir(), 'identity');
    writeFileSync(path, `${SEED_HEX}\n`);
    chmodSync(path, 0o644);
    expect(() => loadIdentityFile(path, { create: true })).toThrow(`identity file ${path} is readable by other users (mode 644); chmod 600 it`);
    expect(readFileSync(path, 'utf8')).toBe(`${SEED_HEX}\n`); // create: true did not replace it
  });

  it('refuses a file that does not hold a seed, without echoing what it holds', () => {
    const path = join(tempDir(), 'identity');
    for (const content of ['', SEED_HEX.toUpperCase(), SEED_HEX.slice(2), `${SEED_HEX}00`, `${SEED_HEX}\n\n`, `fwt_${SEED_HEX}`]) {
      writeFileSync(path, content, { mode: 0o600 });
      let message = '';
      try {
        loadIdentityFile(path);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toBe(`identity file ${path} does not hold an identity seed (expected 64 lower-case hex characters and a newline)`);
    }
  });

  it('without create, a missing file is a BAD_CONFIG error that says how to create one', () => {
    const path = join(tempDir(), 'missing');
    expect(() => loadIdentityFile(path)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringMatching(/cannot read identity file .*create: true/) }));
    expect(() => loadIdentityFile(join(path, 'nested'), { create: true })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringMatching(/cannot create identity file/) }));
  });
});
