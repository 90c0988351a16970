/**
 * The chaos suite (`pnpm test:chaos`): whole federations under injected faults, about a minute per run, so
 * kept out of `pnpm test` (its files end in `.chaos.ts`, which the default config's `*.test.ts` patterns do
 * not match). Files run one after another: each already keeps both cores busy.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/chaos/**/*.chaos.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    setupFiles: ['test/support/yield-between-tests.ts'],
    fileParallelism: false,
  },
});
