import type { ClassificationMetrics } from 'shared';
import type { MetricDifference, ReportComparison, ReportMetricsFile, ReportModel } from './types.js';

const MODELS: readonly ReportModel[] = ['forward', 'reversed', 'combined'];

const AGGREGATES: readonly [string, (m: ClassificationMetrics) => number][] = [
  ['WAR', (m) => m.war],
  ['UAR', (m) => m.uar],
  ['UAR (reference scoring)', (m) => m.uarReference],
  ['weighted F1', (m) => m.weightedF1],
];

function toPercent(fraction: number | null | undefined): number | null {
  return fraction === null || fraction === undefined ? null : fraction * 100;
}

/**
 * Metric differences between two reports (`b - a`, in percentage points): WAR, UAR, reference
 * UAR and weighted F1 of every model either report has, then per-class recall when both use
 * the same classes. Pure: read the reports with `readReport` first.
 */
export function compareReports(a: ReportMetricsFile, b: ReportMetricsFile): ReportComparison {
  const warnings: string[] = [];
  if (a.dataset !== b.dataset) warnings.push(`different datasets: ${a.dataset} and ${b.dataset}`);
  if (a.numSamples !== b.numSamples) warnings.push(`different test sets: ${a.numSamples} and ${b.numSamples} clips`);
  const sameClasses = a.classNames.length === b.classNames.length && a.classNames.every((name, i) => name === b.classNames[i]);
  if (!sameClasses) {
    warnings.push(`different classes: [${a.classNames.join(', ')}] and [${b.classNames.join(', ')}]; per-class recall not compared`);
  }
  if (a.mu !== b.mu) warnings.push(`different mu for the combination: ${a.mu} and ${b.mu}`);

  const rows: MetricDifference[] = [];
  const push = (model: ReportModel, metric: string, valueA: number | null, valueB: number | null) =>
    rows.push({ model, metric, a: valueA, b: valueB, delta: valueA === null || valueB === null ? null : valueB - valueA });

  for (const model of MODELS) {
    const metricsA = a.results[model];
    const metricsB = b.results[model];
    if (metricsA === undefined && metricsB === undefined) continue;
    for (const [metric, pick] of AGGREGATES) {
      push(model, metric, toPercent(metricsA && pick(metricsA)), toPercent(metricsB && pick(metricsB)));
    }
    if (!sameClasses) continue;
    a.classNames.forEach((name, c) => {
      push(model, `recall ${name}`, toPercent(metricsA?.perClassRecall[c]), toPercent(metricsB?.perClassRecall[c]));
    });
  }
  return { rows, warnings };
}

/** The comparison as an aligned text table for the terminal, warnings first. */
export function formatComparison(comparison: ReportComparison, names: { a: string; b: string } = { a: 'a', b: 'b' }): string {
  const number = (value: number | null, signed = false) =>
    value === null ? 'n/a' : `${signed && value > 0 ? '+' : ''}${value.toFixed(2)}`;
  const header = ['model', 'metric', names.a, names.b, `${names.b} - ${names.a}`];
  const table = [header, ...comparison.rows.map((row) => [row.model, row.metric, number(row.a), number(row.b), number(row.delta, true)])];
  // every row has the header's five cells; a missing cell or width would count as zero wide
  const widths = header.map((_, col) => Math.max(...table.map((row) => row[col]?.length ?? 0)));
  const lines = table.map((row) =>
    row
      .map((cell, col) => (col < 2 ? cell.padEnd(widths[col] ?? 0) : cell.padStart(widths[col] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return [...comparison.warnings.map((w) => `warning: ${w}`), ...lines].join('\n');
}
