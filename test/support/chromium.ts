/**
 * Debian's chromium for browser tests, driven by playwright-core (which never downloads a browser of its own).
 * Where it is missing, a test says so and how to install it: outside CI it may skip with that message; in CI
 * (env CI set) it must fail, so that a CI machine without chromium cannot pass the browser tests by skipping them.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.FEDWARDEN_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_MISSING =
  `chromium is missing at ${CHROMIUM_PATH}: the browser tests drive Debian's chromium through playwright-core. ` +
  'Install it with `apt-get install -y chromium` (or point FEDWARDEN_CHROMIUM at a chromium binary).';

export const chromiumAvailable = existsSync(CHROMIUM_PATH);

/** Skip outside CI (with CHROMIUM_MISSING printed); in CI a missing chromium is a failure. */
export const skipBrowserTests = !chromiumAvailable && !process.env.CI;

if (skipBrowserTests) process.stderr.write(`SKIPPED browser tests: ${CHROMIUM_MISSING}\n`);

export function launchChromium(): Promise<Browser> {
  if (!chromiumAvailable) throw new Error(CHROMIUM_MISSING);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // As root in a container: no sandbox; /dev/shm is often small there; no GPU.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}
