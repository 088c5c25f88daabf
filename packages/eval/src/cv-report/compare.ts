import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from 'shared';
import { compareReports } from '../report/compare.js';
import { readReport } from '../report/report.js';
import type { MetricDifference, ReportComparison, ReportMetricsFile, ReportModel } from '../report/types.js';
import { CV_REPORT_FILES } from './constants.js';
import { readCvReport } from './cv-report.js';
import type { CvReportFile, UarWar } from './types.js';

const MODELS: readonly ReportModel[] = ['forward', 'reversed', 'combined'];

/**
 * Metric differences between two cross-validation reports (`b - a`, in percentage points): per
 * model the mean and std of UAR and WAR, each fold's, then the pooled per-class recall of the
 * combined model when both use the same classes.
 */
export function compareCvReports(a: CvReportFile, b: CvReportFile): ReportComparison {
  const warnings: string[] = [];
  if (a.dataset !== b.dataset) warnings.push(`different datasets: ${a.dataset} and ${b.dataset}`);
  const foldsOf = (r: CvReportFile) => r.folds.map((f) => f.fold).join(',');
  if (foldsOf(a) !== foldsOf(b)) warnings.push(`different folds: ${foldsOf(a)} and ${foldsOf(b)}`);
  const sameClasses = a.classNames.join('\n') === b.classNames.join('\n');
  if (!sameClasses)
    warnings.push(`different classes: [${a.classNames.join(', ')}] and [${b.classNames.join(', ')}]; per-class recall not compared`);
  if (a.mu !== b.mu) warnings.push(`different mu for the combination: ${a.mu} and ${b.mu}`);
  const rows: MetricDifference[] = [];
  const push = (model: ReportModel, metric: string, x: number | undefined, y: number | undefined) => {
    const valueA = x === undefined ? null : x * 100;
    const valueB = y === undefined ? null : y * 100;
    rows.push({ model, metric, a: valueA, b: valueB, delta: valueA === null || valueB === null ? null : valueB - valueA });
  };
  const fold = (r: CvReportFile, k: number, model: ReportModel): UarWar | undefined => r.folds.find((f) => f.fold === k)?.results[model];
  const allFolds = [...new Set([...a.folds, ...b.folds].map((f) => f.fold))].sort((x, y) => x - y);
  for (const model of MODELS) {
    if (a.mean[model] === undefined && b.mean[model] === undefined) continue;
    for (const metric of ['uar', 'war'] as const) {
      const name = metric.toUpperCase();
      push(model, `mean ${name}`, a.mean[model]?.[metric], b.mean[model]?.[metric]);
      push(model, `std ${name}`, a.std[model]?.[metric], b.std[model]?.[metric]);
      for (const k of allFolds) push(model, `set_${k} ${name}`, fold(a, k, model)?.[metric], fold(b, k, model)?.[metric]);
    }
  }
  if (sameClasses) {
    a.classNames.forEach((name, c) => {
      push('combined', `pooled recall ${name}`, a.pooled.perClassRecall[c] ?? undefined, b.pooled.perClassRecall[c] ?? undefined);
    });
  }
  return { rows, warnings };
}

/** An eval report (metrics.json) or a cv report (cv.json), from its folder or file. */
type AnyReport = { kind: 'eval'; report: ReportMetricsFile } | { kind: 'cv'; report: CvReportFile };

async function readAnyReport(reportPath: string): Promise<AnyReport> {
  const cvFile =
    path.basename(reportPath) === CV_REPORT_FILES.json
      ? reportPath
      : existsSync(reportPath) && statSync(reportPath).isDirectory() && existsSync(path.join(reportPath, CV_REPORT_FILES.json))
        ? path.join(reportPath, CV_REPORT_FILES.json)
        : undefined;
  if (cvFile !== undefined) return { kind: 'cv', report: await readCvReport(cvFile) };
  return { kind: 'eval', report: await readReport(reportPath) };
}

const article = (kind: AnyReport['kind']) => (kind === 'eval' ? 'an eval' : 'a cv');

/** `eval --compare`: two eval reports, or two cv reports; one of each is an error saying so. */
export async function compareReportPaths(a: string, b: string): Promise<ReportComparison> {
  const [x, y] = await Promise.all([readAnyReport(a), readAnyReport(b)]);
  if (x.kind === 'cv' && y.kind === 'cv') return compareCvReports(x.report, y.report);
  if (x.kind === 'eval' && y.kind === 'eval') return compareReports(x.report, y.report);
  throw new InputError(
    `--compare: expected two eval reports or two cv reports, got ${article(x.kind)} report (${a}) and ${article(y.kind)} report (${b})`,
  );
}
