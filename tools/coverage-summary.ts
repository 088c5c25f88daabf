/**
 * Prints one coverage line per package from vitest's `coverage/coverage-summary.json` (istanbul's
 * json-summary: totals per file), after `vitest run --coverage`.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

type Metric = 'lines' | 'statements' | 'functions' | 'branches';
const METRICS: readonly Metric[] = ['lines', 'statements', 'functions', 'branches'];
type Counts = Record<Metric, { total: number; covered: number }>;

const root = join(import.meta.dirname, '..');
const summary = JSON.parse(readFileSync(join(root, 'coverage', 'coverage-summary.json'), 'utf8')) as Record<string, Counts>;
const byPackage = new Map<string, Counts>();
for (const [file, counts] of Object.entries(summary)) {
  const name = /^packages\/([^/]+)\//.exec(relative(root, file))?.[1];
  if (name === undefined) continue;
  const sum = byPackage.get(name) ?? (Object.fromEntries(METRICS.map((m) => [m, { total: 0, covered: 0 }])) as Counts);
  for (const m of METRICS) {
    sum[m].total += counts[m].total;
    sum[m].covered += counts[m].covered;
  }
  byPackage.set(name, sum);
}
const pct = (c: { total: number; covered: number }) => (c.total === 0 ? 100 : (100 * c.covered) / c.total).toFixed(1).padStart(6);
console.log(`\ncoverage by package (%)\n${'package'.padEnd(10)}${METRICS.map((m) => m.padStart(12)).join('')}`);
for (const [name, c] of [...byPackage].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`${name.padEnd(10)}${METRICS.map((m) => pct(c[m]).padStart(12)).join('')}`);
}
