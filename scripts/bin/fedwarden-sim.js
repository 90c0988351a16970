#!/usr/bin/env node
// Inside the workspace, `fedwarden-sim` runs the TypeScript sources through tsx; the published package's bin is
// dist/sim-cli.js (publishConfig.bin), plain JavaScript.
import { register } from 'tsx/esm/api';

register();
await import('../src/sim-cli.ts');
