import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, InputError, renderChartPng, trainingCurvePoints, trainingCurvesSpec, writeFileAtomic } from 'shared';
import { validateMu } from '../combine/index.js';
import type { ClassificationMetrics } from 'shared';
import { confusionChartSize, confusionMatrixSpec, muSweepSpec } from './charts.js';
import { DEFAULT_REPORT_OPTIONS, REPORT_CHART_SIZES, REPORT_FILES } from './constants.js';
import { renderPredictionsCsv } from './csv.js';
import { publishedResultsFor } from './format.js';
import { renderReportMarkdown } from './markdown.js';
import type { ReportInput, ReportMetricsFile, ReportModel, ReportOptions, ResolvedReportOptions, WrittenReport } from './types.js';

/** Checks the options and fills the defaults; throws `ConfigError` naming the key. */
export function validateReportOptions(options: ReportOptions = {}): ResolvedReportOptions {
  const resolved = { ...DEFAULT_REPORT_OPTIONS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  if (typeof resolved.charts !== 'boolean') {
    throw new ConfigError(`report options.charts: expected true or false, got ${String(resolved.charts)}`);
  }
  return resolved;
}

function checkMetrics(metrics: ClassificationMetrics, key: string, numClasses: number, numSamples?: number): void {
  if (typeof metrics !== 'object' || metrics === null || metrics.numClasses !== numClasses || metrics.confusion?.length !== numClasses) {
    throw new InputError(
      `report ${key}: expected metrics over ${numClasses} classes (one per class name), got ${
        typeof metrics === 'object' && metrics !== null ? `${metrics.numClasses} classes` : String(metrics)
      }`,
    );
  }
  if (numSamples !== undefined && metrics.numSamples !== numSamples) {
    throw new InputError(`report ${key}: expected metrics over the ${numSamples} combined clips, got ${metrics.numSamples} clips`);
  }
}

function checkClassIndex(value: number, key: string, numClasses: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= numClasses) {
    throw new InputError(`report ${key}: expected a class index in 0..${numClasses - 1}, got ${value}`);
  }
}

/** Checks that the parts of a report agree with each other; throws `InputError`/`ConfigError` naming the key. */
export function validateReportInput(input: ReportInput): void {
  if (typeof input.dataset !== 'string' || input.dataset.trim() === '') {
    throw new ConfigError(`report dataset: expected a dataset name, got ${JSON.stringify(input.dataset)}`);
  }
  const { classNames } = input;
  if (!Array.isArray(classNames) || classNames.length < 1 || classNames.some((n) => typeof n !== 'string' || n.trim() === '')) {
    throw new InputError('report classNames: expected a non-empty list of non-empty class names');
  }
  if (new Set(classNames).size !== classNames.length) {
    throw new InputError(`report classNames: expected distinct names, got ${classNames.join(', ')}`);
  }
  validateMu(input.mu, 'report mu');
  const numClasses = classNames.length;
  checkMetrics(input.combined, 'combined', numClasses);
  const numSamples = input.combined.numSamples;
  if (input.forward !== undefined) checkMetrics(input.forward, 'forward', numClasses, numSamples);
  if (input.reversed !== undefined) checkMetrics(input.reversed, 'reversed', numClasses, numSamples);
  input.sweep?.forEach((entry, i) => {
    validateMu(entry.mu, `report sweep[${i}].mu`);
    checkMetrics(entry.metrics, `sweep[${i}].metrics`, numClasses, numSamples);
  });

  if (input.predictions.length !== numSamples) {
    throw new InputError(`report predictions: expected ${numSamples} rows (one per evaluated clip), got ${input.predictions.length}`);
  }
  const withReversed = input.predictions.some((row) => row.reversedLogits !== undefined);
  const seen = new Set<string>();
  input.predictions.forEach((row, i) => {
    const key = `predictions[${i}]`;
    if (typeof row.clipId !== 'string' || row.clipId === '') {
      throw new InputError(`report ${key}.clipId: expected a non-empty clip id, got ${JSON.stringify(row.clipId)}`);
    }
    if (seen.has(row.clipId)) throw new InputError(`report ${key}.clipId: expected unique clip ids, got '${row.clipId}' twice`);
    seen.add(row.clipId);
    checkClassIndex(row.label, `${key}.label`, numClasses);
    checkClassIndex(row.predicted, `${key}.predicted`, numClasses);
    const logitSets = { forwardLogits: row.forwardLogits, reversedLogits: row.reversedLogits, combinedLogits: row.combinedLogits };
    for (const [name, logits] of Object.entries(logitSets)) {
      if (name === 'reversedLogits' && !withReversed) continue;
      if (logits === undefined || logits.length !== numClasses) {
        throw new InputError(
          `report ${key}.${name} (clip '${row.clipId}'): expected ${numClasses} logits, got ${logits === undefined ? 'none' : logits.length}` +
            (name === 'reversedLogits' ? ' (reversed logits must be given for every clip or for none)' : ''),
        );
      }
    }
  });
}

/**
 * Writes an evaluation report into `dir` (created if needed): the charts, predictions.csv,
 * report.md and, last, metrics.json, each atomically. An old metrics.json is removed first, so
 * a metrics.json on disk always belongs to a complete report. Returns the paths written.
 */
export async function writeReport(dir: string, input: ReportInput, options?: ReportOptions): Promise<WrittenReport> {
  const resolved = validateReportOptions(options);
  validateReportInput(input);
  await mkdir(dir, { recursive: true });
  // A metrics.json from an earlier run would vouch for a report that is being replaced.
  await rm(path.join(dir, REPORT_FILES.metrics), { force: true });
  const { classNames, mu } = input;
  const models: [ReportModel, ClassificationMetrics | undefined][] = [
    ['forward', input.forward],
    ['reversed', input.reversed],
    ['combined', input.combined],
  ];

  const charts: string[] = [];
  if (resolved.charts) {
    const jobs: [string, Parameters<typeof renderChartPng>[0], { width: number; height: number }][] = [];
    for (const [model, metrics] of models) {
      if (metrics === undefined) continue;
      const title =
        model === 'combined' ? `Confusion matrix: combined (mu = ${mu}), ${input.dataset}` : `Confusion matrix: ${model}, ${input.dataset}`;
      jobs.push([
        `${REPORT_FILES.confusionChartPrefix}${model}.png`,
        confusionMatrixSpec(metrics.confusion, classNames, title),
        confusionChartSize(classNames.length),
      ]);
    }
    if (input.sweep !== undefined && input.sweep.length > 0) {
      jobs.push([
        REPORT_FILES.muSweepChart,
        muSweepSpec(input.sweep, mu, `Forward + reversed combination, ${input.dataset}`),
        REPORT_CHART_SIZES.muSweep,
      ]);
    }
    if (input.curves !== undefined && trainingCurvePoints(input.curves).length > 0) {
      jobs.push([
        REPORT_FILES.trainingCurvesChart,
        trainingCurvesSpec(input.curves, `Training curves, ${input.dataset}`),
        REPORT_CHART_SIZES.trainingCurves,
      ]);
    }
    // One at a time: each render is CPU-bound and the machine is shared.
    for (const [file, spec, size] of jobs) {
      await writeFileAtomic(path.join(dir, file), await renderChartPng(spec, size));
      charts.push(file);
    }
  }

  // forward, reversed, combined: the order of the report's tables
  const results = {
    ...(input.forward === undefined ? {} : { forward: input.forward }),
    ...(input.reversed === undefined ? {} : { reversed: input.reversed }),
    combined: input.combined,
  };
  const report: ReportMetricsFile = {
    format: 'pthnet-eval-report',
    version: 1,
    dataset: input.dataset,
    classNames: [...classNames],
    mu,
    numSamples: input.combined.numSamples,
    faceCrops: input.faceCrops ?? null,
    results,
    sweep:
      input.sweep?.map(({ mu: sweepMu, metrics }) => ({
        mu: sweepMu,
        war: metrics.war,
        uar: metrics.uar,
        uarReference: metrics.uarReference,
        weightedF1: metrics.weightedF1,
      })) ?? null,
    published: publishedResultsFor(input.dataset, input.faceCrops),
    charts,
  };

  const written: WrittenReport = {
    dir,
    metricsJson: path.join(dir, REPORT_FILES.metrics),
    predictionsCsv: path.join(dir, REPORT_FILES.predictions),
    reportMd: path.join(dir, REPORT_FILES.markdown),
    charts: charts.map((file) => path.join(dir, file)),
  };
  await writeFileAtomic(written.predictionsCsv, renderPredictionsCsv(input.predictions, classNames));
  await writeFileAtomic(written.reportMd, renderReportMarkdown(report));
  await writeFileAtomic(written.metricsJson, `${JSON.stringify(report, null, 2)}\n`);
  return written;
}

/** Reads the metrics.json of a report, given the report folder or the file itself. */
export async function readReport(reportPath: string): Promise<ReportMetricsFile> {
  let file = reportPath;
  try {
    if ((await stat(reportPath)).isDirectory()) file = path.join(reportPath, REPORT_FILES.metrics);
  } catch (error) {
    throw new InputError(`report ${reportPath}: expected a report folder or its ${REPORT_FILES.metrics}, got nothing there`, reportPath, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new InputError(`report ${file}: expected a readable JSON file, got ${(error as Error).message}`, file, { cause: error });
  }
  const report = parsed as Partial<ReportMetricsFile> | null;
  const combined = report?.results?.combined;
  if (
    report?.format !== 'pthnet-eval-report' ||
    report.version !== 1 ||
    !Array.isArray(report.classNames) ||
    typeof combined?.war !== 'number' ||
    typeof combined.uar !== 'number'
  ) {
    throw new InputError(
      `report ${file}: expected a pthnet eval report (format 'pthnet-eval-report', version 1, results.combined), got ${
        report?.format === undefined ? 'another JSON document' : `format ${String(report.format)} version ${String(report.version)}`
      }`,
      file,
    );
  }
  return report as ReportMetricsFile;
}
