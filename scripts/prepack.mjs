// Runs as each published package's `prepack` (cwd = the package): the tarball carries the root LICENSE, and
// packing refuses a package that has not been built, so a tarball never ships without its dist/.
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
copyFileSync(join('..', 'LICENSE'), 'LICENSE');
const entry = pkg.publishConfig?.exports?.['.']?.import;
if (!entry || !existsSync(entry)) {
  console.error(`prepack ${pkg.name}: ${entry ?? 'publishConfig.exports'} is missing; run \`pnpm build\` at the repository root first`);
  process.exit(1);
}
