import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { VegaLiteSpec } from 'shared';
import { InputError, metricsFromConfusion, renderChartPng, writeFileAtomic } from 'shared';
import { confusionChartSize, confusionMatrixSpec } from '../report/charts.js';
import { markdownTable, percent, publishedResultsFor } from '../report/format.js';
import type { ReportModel } from '../report/types.js';
import { CV_CHART_SIZES, CV_REPORT_FILES } from './constants.js';
import type { CvFold, CvReportFile, CvReportInput, UarWar, WrittenCvReport } from './types.js';

const MODELS: readonly ReportModel[] = ['forward', 'reversed', 'combined'];

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Population standard deviation (numpy's `std`, ddof 0). */
function std(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(mean(values.map((v) => (v - m) ** 2)));
}

type PerModel = Partial<Record<ReportModel, UarWar>> & { combined: UarWar };

/**
 * The cross-validation summary of the folds' reports: per fold UAR/WAR of each model, their mean
 * and standard deviation, and the combined model's confusion matrices summed over the folds.
 * The folds must share the dataset's classes and mu; a model is summed up when every fold has it.
 */
export function summarizeFolds(input: CvReportInput): CvReportFile {
  const [first] = input.folds;
  if (first === undefined) throw new InputError('cv report: expected at least one fold, got none');
  const { classNames, mu } = first.report;
  for (const { fold, report } of input.folds) {
    if (report.classNames.join('\n') !== classNames.join('\n')) {
      throw new InputError(
        `cv report: fold ${fold} has the classes [${report.classNames.join(', ')}], fold ${first.fold} [${classNames.join(', ')}]`,
      );
    }
    if (report.mu !== mu) throw new InputError(`cv report: fold ${fold} combines with mu ${report.mu}, fold ${first.fold} with ${mu}`);
  }
  const models = MODELS.filter((model) => input.folds.every(({ report }) => report.results[model] !== undefined));
  const folds: CvFold[] = input.folds.map(({ fold, dir, report }) => {
    const results: Partial<Record<ReportModel, UarWar>> = {};
    for (const model of models) {
      // every fold has each model of `models`
      const m = report.results[model] as NonNullable<(typeof report.results)[ReportModel]>;
      results[model] = { uar: m.uar, war: m.war };
    }
    return { fold, report: dir, numSamples: report.numSamples, results: results as PerModel };
  });
  const over = (pick: (values: number[]) => number): PerModel => {
    const out: Partial<Record<ReportModel, UarWar>> = {};
    for (const model of models) {
      const rows = folds.map((f) => f.results[model] as UarWar);
      out[model] = { uar: pick(rows.map((r) => r.uar)), war: pick(rows.map((r) => r.war)) };
    }
    return out as PerModel;
  };
  const K = classNames.length;
  const summed = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  for (const { report } of input.folds) {
    report.results.combined.confusion.forEach((row, t) => {
      row.forEach((count, p) => {
        // biome-ignore lint/style/noNonNullAssertion: every fold's matrix is K x K (same classes, checked above)
        summed[t]![p]! += count;
      });
    });
  }
  const faceCrops = first.report.faceCrops;
  return {
    format: 'pthnet-cv-report',
    version: 1,
    dataset: input.dataset,
    classNames: [...classNames],
    mu,
    faceCrops,
    folds,
    mean: over(mean),
    std: over(std),
    pooled: metricsFromConfusion(summed),
    published: publishedResultsFor(input.dataset, faceCrops ?? undefined).filter((p) => p.note?.includes('fold') ?? false),
    charts: [],
  };
}

/** UAR and WAR (%) of the combined model per fold, bars side by side, with the means as rules. */
function foldsChartSpec(report: CvReportFile, title: string): VegaLiteSpec {
  const values = report.folds.flatMap((f) => [
    { fold: `set_${f.fold}`, metric: 'UAR', value: f.results.combined.uar * 100 },
    { fold: `set_${f.fold}`, metric: 'WAR', value: f.results.combined.war * 100 },
  ]);
  const means = [
    { metric: 'UAR', value: report.mean.combined.uar * 100 },
    { metric: 'WAR', value: report.mean.combined.war * 100 },
  ];
  const colour = { field: 'metric', type: 'nominal', title: 'metric', scale: { domain: ['UAR', 'WAR'], range: ['#ff7f0e', '#1f77b4'] } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, fontSize: 16, subtitle: `combined (mu = ${report.mu}); dashed: the mean over the folds`, subtitleFontSize: 12 },
    width: 120 * report.folds.length,
    height: 300,
    layer: [
      {
        data: { values },
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'fold', type: 'nominal', title: 'fold', axis: { labelAngle: 0 } },
          xOffset: { field: 'metric', type: 'nominal' },
          y: { field: 'value', type: 'quantitative', title: 'accuracy (%)', scale: { domain: [0, 100] } },
          color: colour,
        },
      },
      {
        data: { values: means },
        mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 2 },
        encoding: { y: { field: 'value', type: 'quantitative' }, color: colour },
      },
    ],
    config: { axis: { labelFontSize: 13, titleFontSize: 14 }, legend: { labelFontSize: 12, titleFontSize: 12 } },
  };
}

const pct = (x: number | undefined) => (x === undefined ? '–' : percent(x));

/** report.md of a cross-validation: the folds' table, mean and std, the published numbers, the summed confusion matrix. */
function renderCvMarkdown(report: CvReportFile): string {
  const models = MODELS.filter((m) => report.mean[m] !== undefined);
  const lines: string[] = [`# PTH-Net ${report.folds.length}-fold cross-validation: ${report.dataset}`, ''];
  lines.push(
    `- Folds: ${report.folds.map((f) => f.fold).join(', ')}; test clips ${report.folds.reduce((n, f) => n + f.numSamples, 0)} in all`,
  );
  lines.push(`- Classes (label order): ${report.classNames.map((name, i) => `${i} ${name}`).join(', ')}`);
  lines.push(`- Combination: \`combined = mu * forward + (1 - mu) * reversed\`, mu = ${report.mu}`, '');
  lines.push('## UAR and WAR per fold (%)', '');
  const header = ['Fold', 'Clips', ...models.flatMap((m) => [`${m} UAR`, `${m} WAR`])];
  const rows = report.folds.map((f) => [
    `[set_${f.fold}](${f.report}/report.md)`,
    String(f.numSamples),
    ...models.flatMap((m) => [pct(f.results[m]?.uar), pct(f.results[m]?.war)]),
  ]);
  rows.push(['**mean**', '', ...models.flatMap((m) => [`**${pct(report.mean[m]?.uar)}**`, `**${pct(report.mean[m]?.war)}**`])]);
  rows.push(['std', '', ...models.flatMap((m) => [pct(report.std[m]?.uar), pct(report.std[m]?.war)])]);
  lines.push(
    markdownTable(
      header,
      rows,
      header.map((_, i) => (i === 0 ? 'l' : 'r')),
    ),
    '',
  );
  lines.push('The mean is over the folds (each fold weighs the same); std is the population standard deviation over the folds.', '');
  if (report.published.length > 0) {
    lines.push('## Published (PTH-Net paper, Table V)', '');
    lines.push(
      markdownTable(
        ['Model', 'UAR', 'WAR'],
        report.published.map((p) => [`${p.model} (${p.setting}${p.note ? `, ${p.note}` : ''})`, p.uar.toFixed(2), p.war.toFixed(2)]),
        ['l', 'r', 'r'],
      ),
      '',
    );
  }
  if (report.charts.includes(CV_REPORT_FILES.foldsChart)) lines.push(`![UAR and WAR per fold](${CV_REPORT_FILES.foldsChart})`, '');
  const pooled = report.pooled;
  lines.push(`## Confusion matrix summed over the folds (combined, mu = ${report.mu})`, '');
  lines.push(
    `All ${pooled.numSamples} test clips pooled: WAR ${percent(pooled.war)}, UAR ${percent(pooled.uar)}. Rows: true class; columns: predicted class; counts.`,
    '',
  );
  lines.push(
    markdownTable(
      ['true \\ predicted', ...report.classNames, 'total'],
      pooled.confusion.map((row, t) => [report.classNames[t] ?? String(t), ...row.map(String), String(pooled.support[t])]),
      ['l', ...report.classNames.map(() => 'r' as const), 'r'],
    ),
    '',
  );
  if (report.charts.includes(CV_REPORT_FILES.confusionChart))
    lines.push(`![Summed confusion matrix](${CV_REPORT_FILES.confusionChart})`, '');
  return lines.join('\n');
}

/**
 * Writes the cross-validation report into `dir`: the folds chart, the summed confusion matrix
 * chart, report.md and, last, cv.json, each atomically (an old cv.json is removed first, so one
 * on disk always belongs to a complete report).
 */
export async function writeCvReport(dir: string, input: CvReportInput, options: { charts?: boolean } = {}): Promise<WrittenCvReport> {
  const report = summarizeFolds(input);
  await mkdir(dir, { recursive: true });
  await rm(path.join(dir, CV_REPORT_FILES.json), { force: true });
  if (options.charts ?? true) {
    const jobs: Array<[string, VegaLiteSpec, { width: number; height: number }]> = [
      [CV_REPORT_FILES.foldsChart, foldsChartSpec(report, `UAR and WAR per fold, ${report.dataset}`), CV_CHART_SIZES.folds],
      [
        CV_REPORT_FILES.confusionChart,
        confusionMatrixSpec(
          report.pooled.confusion,
          report.classNames,
          `Confusion matrix summed over ${report.folds.length} folds, ${report.dataset}`,
        ),
        confusionChartSize(report.classNames.length),
      ],
    ];
    for (const [file, spec, size] of jobs) {
      await writeFileAtomic(path.join(dir, file), await renderChartPng(spec, size));
      report.charts.push(file);
    }
  }
  const written: WrittenCvReport = {
    dir,
    cvJson: path.join(dir, CV_REPORT_FILES.json),
    reportMd: path.join(dir, CV_REPORT_FILES.markdown),
    charts: report.charts.map((file) => path.join(dir, file)),
  };
  await writeFileAtomic(written.reportMd, renderCvMarkdown(report));
  await writeFileAtomic(written.cvJson, `${JSON.stringify(report, null, 2)}\n`);
  return written;
}

/** Whether a parsed JSON document is a cv report (format and version). */
function isCvReport(parsed: unknown): parsed is CvReportFile {
  const report = parsed as Partial<CvReportFile> | null;
  return report?.format === 'pthnet-cv-report' && report.version === 1 && Array.isArray(report.folds) && typeof report.mean === 'object';
}

/** Reads a cv.json (given the report folder or the file). */
export async function readCvReport(file: string): Promise<CvReportFile> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new InputError(`cv report ${file}: expected a readable JSON file, got ${(error as Error).message}`, file, { cause: error });
  }
  if (!isCvReport(parsed)) throw new InputError(`cv report ${file}: expected format 'pthnet-cv-report' version 1`, file);
  return parsed;
}
