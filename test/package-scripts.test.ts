/** The README's commands run package.json scripts; every script that runs a TypeScript file must find it. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const scripts = (JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;
const entries = Object.entries(scripts).flatMap(([name, command]) => {
  const file = /\btsx\s+(\S+\.ts)\b/.exec(command)?.[1];
  return file ? [[name, file] as const] : [];
});

describe('package.json scripts', () => {
  it('has the entry points the README names', () => {
    expect(entries.map(([name]) => name)).toEqual(
      expect.arrayContaining(['simulate', 'coordinator', 'client', 'bench:train', 'bench:secagg', 'bench:robust']),
    );
  });

  it.each(entries)('%s runs a file that exists (%s)', (_, file) => {
    expect(existsSync(`${root}/${file}`)).toBe(true);
  });

  it('test:chaos runs the chaos suite with its own vitest config, and CI runs it after the default tests', () => {
    const config = /--config\s+(\S+)/.exec(scripts['test:chaos'] ?? '')?.[1];
    expect(config && existsSync(`${root}/${config}`)).toBe(true);
    const ci = readFileSync(`${root}/.ci/run`, 'utf8');
    expect(ci.indexOf('$PNPM test:chaos')).toBeGreaterThan(ci.indexOf('$PNPM test\n'));
  });
});
