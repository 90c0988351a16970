/**
 * `fedwarden simulate` and `fedwarden client` as a user meets them (real processes): help, suggestions, bad
 * flags end the process with a usage error before anything runs, and a token is never taken from argv.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runProcess } from './support/run-process.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Each test starts up to three tsx processes; on a loaded machine one can take tens of seconds to start. */
const CLI_TEST_MS = 180_000;

function sim(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = { ...process.env, ...env };
  if (!('FEDWARDEN_TOKEN' in env)) delete clean.FEDWARDEN_TOKEN;
  return runProcess(process.execPath, ['--import', 'tsx', 'scripts/src/sim-cli.ts', ...args], { cwd: root, timeoutMs: 60_000, env: clean });
}

describe('fedwarden simulate', async () => {
  it('answers --help with every flag and its default, and suggests the flag meant', async () => {
    const help = await sim(['simulate', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--group-policy <policy>\s+secure groups across rounds[\s\S]*default:\s+"fixed"/);
    expect(help.stdout).toContain('--attack-option <attack.option=value>');
    expect(help.stdout).toMatch(/--placement <how>\s+which participants are Byzantine: random, or spread[\s\S]*?the same as random\)[\s\S]*?default:\s+"random"/);
    const typo = await sim(['simulate', '--clints', '3']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain("error [USAGE]: unknown option '--clints'");
    expect(typo.stderr).toContain('Did you mean --clients?');
  }, CLI_TEST_MS);

  it('names the problem as BAD_CONFIG and exits 2, for a flag and for an attack option', async () => {
    const flag = await sim(['simulate', '--root=-1']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('error [BAD_CONFIG]: --root must be an integer ≥ 0, got "-1"');
    const option = await sim(['simulate', '--attack', 'alie', '--byzantine', '0.2', '--attack-option', 'alie.q=1']);
    expect(option.status).toBe(2);
    expect(option.stderr).toContain('alie has no settable option "q"; it has z');
    expect(option.stdout).toBe('');
    const placement = await sim(['simulate', '--placement', 'clustered']);
    expect(placement.status).toBe(2);
    expect(placement.stderr).toContain('error [BAD_CONFIG]: --placement must be "random" or "spread", got "clustered"');
  }, CLI_TEST_MS);
});

describe('fedwarden client', async () => {
  const target = ['client', '--url', 'ws://127.0.0.1:9', '--fingerprint', 'ab'.repeat(32)];

  it('refuses --token: a token on the command line shows in ps', async () => {
    const r = await sim([...target, '--token', 'fwt_' + 'x'.repeat(43)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error [USAGE]: --token is not accepted');
    expect(r.stderr).not.toContain('x'.repeat(43));
    expect((await sim(['client', '--help'])).stdout).not.toContain('--token <');
  }, CLI_TEST_MS);

  it('says where the token goes when there is none, before loading any data', async () => {
    const r = await sim(target);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error [BAD_CONFIG]: no enrolment token: pass --token-file <file> or set FEDWARDEN_TOKEN');
  }, CLI_TEST_MS);
});
