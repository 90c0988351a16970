/**
 * The coordinator package's version, from its package.json (one level up from both src/ and dist/), for
 * `fedwarden --version` and the fedwarden_build_info metric. "0.0.0" where the file cannot be read.
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const COORDINATOR_VERSION = readVersion();
