/**
 * Makes the README's picture of the dashboard (docs/dashboard.png) from a real run: `simulate --dashboard`'s code
 * path with 10 participants for 10 rounds, two of them on-off attackers that turn to sign flipping after 4 honest
 * rounds, watched by Debian's chromium. The picture is asked for when round 6 appears and taken while the run
 * goes on (on a busy 2-core machine, a few rounds later). docs/dashboard.png was then squeezed with pngquant
 * (Debian's package) to stay small:
 *
 *   node --import tsx test/dashboard-screenshot.ts /tmp/dashboard.png
 *   pngquant --quality 70-90 --output docs/dashboard.png /tmp/dashboard.png
 */
import { parseSimulateArgs } from '../scripts/src/simulate-options.ts';
import { runSimulation } from '../scripts/src/simulation.ts';
import { launchChromium } from './support/chromium.ts';

const ROUNDS = 10;
/** The picture shows the run as this round appears: the attack under way, participants still connected. */
const SHOT_AFTER = 6;
const out = process.argv[2] ?? 'docs/dashboard.png';
const command = parseSimulateArgs([
  ...['--clients', '10', '--rounds', String(ROUNDS), '--epochs', '1'],
  ...['--attack', 'on-off', '--attack-option', 'on-off.honestRounds=4', '--byzantine', '0.2'],
  '--dashboard',
]);
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('console', (m) => process.stderr.write(`page console ${m.type()}: ${m.text()}\n`));
  let shot: Promise<unknown> = Promise.resolve();
  await runSimulation(command.options, (line) => process.stderr.write(line + '\n'), {
    dashboard: async (url) => {
      await page.goto(url);
      shot = page
        .locator(`#rounds tbody tr[data-round="${SHOT_AFTER}"]`)
        .waitFor({ timeout: 600_000 })
        .then(() => page.screenshot({ path: out, fullPage: true }));
    },
    beforeStop: () => shot.then(() => undefined),
  });
  process.stderr.write(`wrote ${out}\n`);
} finally {
  await browser.close();
}
