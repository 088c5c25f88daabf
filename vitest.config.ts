import { defineConfig } from 'vitest/config';
import { COVERAGE_FLOORS } from './tools/coverage-floors.ts';

/** One vitest project per package (`vitest run --project shared` is that package's `test` task), plus the workspace checks. */
const PACKAGES = ['shared', 'model', 'extract', 'train', 'eval', 'cli'] as const;

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native addons (better-sqlite3, wasm backends) are happier in child processes than in
    // worker threads; two forks match this machine's two cores.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      ...PACKAGES.map((name) => ({ extends: true as const, test: { name, include: [`packages/${name}/src/**/*.test.ts`] } })),
      { extends: true as const, test: { name: 'workspace', include: ['tools/**/*.test.ts'] } },
    ],
    // `pnpm test:coverage`: per-package figures (tools/coverage-summary.ts) and a floor per package
    // at the level measured when it was set, so coverage never falls silently.
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**/*.ts'],
      exclude: ['**/*.test.ts', '**/*.test-helper.ts', '**/testing.ts', '**/test-support/**'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      thresholds: Object.fromEntries(Object.entries(COVERAGE_FLOORS).map(([name, floor]) => [`packages/${name}/src/**`, floor])),
    },
  },
});
