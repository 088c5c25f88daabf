import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native addons (better-sqlite3, wasm backends) are happier in child processes than in
    // worker threads; two forks match this machine's two cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
