/** pnpm simulate as a user meets it: bad flags end the process with a usage error before anything runs. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function simulate(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/src/simulate.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
}

describe('pnpm simulate with bad flags', () => {
  it('names the problem as BAD_CONFIG and exits 2, for a flag and for an attack option', () => {
    const flag = simulate('--root=-1');
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('simulate failed [BAD_CONFIG]: --root must be an integer ≥ 0, got "-1"');
    const option = simulate('--attack', 'alie', '--byzantine', '0.2', '--attack-option', 'alie.q=1');
    expect(option.status).toBe(2);
    expect(option.stderr).toContain('alie has no settable option "q"; it has z');
    expect(option.stdout).toBe('');
  });
});
