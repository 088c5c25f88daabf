import type { ClassificationMetrics } from 'shared';
import { REPORT_FILES, SETTING_LABELS } from './constants.js';
import { markdownTable, percent, publishedDatasetOf, tableVColumnOrder } from './format.js';
import type { ReportMetricsFile, ReportModel } from './types.js';

const MODEL_ORDER: readonly ReportModel[] = ['forward', 'reversed', 'combined'];

function modelLabel(model: ReportModel, mu: number): string {
  if (model === 'combined') return `Combined, mu = ${mu} (ours)`;
  return `${model === 'forward' ? 'Forward' : 'Reversed'} (ours)`;
}

function modelsOf(report: ReportMetricsFile): [ReportModel, ClassificationMetrics][] {
  return MODEL_ORDER.flatMap((model) => {
    const metrics = report.results[model];
    return metrics === undefined ? [] : [[model, metrics] as [ReportModel, ClassificationMetrics]];
  });
}

/** report.md: the Table V layout with the paper's numbers beside ours, notes, sweep, confusion, charts. */
export function renderReportMarkdown(report: ReportMetricsFile): string {
  const { classNames, mu } = report;
  const columns = tableVColumnOrder(classNames);
  const models = modelsOf(report);
  const lines: string[] = [];

  lines.push(`# PTH-Net evaluation: ${report.dataset}`, '');
  lines.push(`- Test clips: ${report.numSamples}`);
  lines.push(`- Classes (label order): ${classNames.map((name, i) => `${i} ${name}`).join(', ')}`);
  lines.push(`- Combination: \`combined = mu * forward + (1 - mu) * reversed\`, mu = ${mu}`);
  lines.push(
    `- Features: ${report.faceCrops === null ? 'not stated' : report.faceCrops ? SETTING_LABELS.face : `raw video (${SETTING_LABELS.raw})`}`,
    '',
  );

  lines.push('## Results (layout of the PTH-Net paper, Table V)', '');
  lines.push('Per-class accuracy (recall) in %, then UAR and WAR in %.', '');
  const header = ['Model', ...columns.map((c) => classNames[c] ?? String(c)), 'UAR', 'WAR'];
  const rows = models.map(([model, metrics]) => [
    modelLabel(model, mu),
    ...columns.map((c) => percent(metrics.perClassRecall[c])),
    percent(metrics.uar),
    percent(metrics.war),
  ]);
  for (const published of report.published) {
    const note = published.note === undefined ? '' : `, ${published.note}`;
    rows.push([
      `${published.model.charAt(0).toUpperCase()}${published.model.slice(1)} (paper, ${SETTING_LABELS[published.setting]}${note})`,
      ...columns.map(() => '–'),
      published.uar.toFixed(2),
      published.war.toFixed(2),
    ]);
  }
  lines.push(
    markdownTable(
      header,
      rows,
      header.map((_, i) => (i === 0 ? 'l' : 'r')),
    ),
    '',
  );
  if (report.published.length > 0) {
    lines.push(
      `Paper rows: PTH-Net (Li et al., IEEE TIP), Table V; the per-class numbers of the paper are not reproduced here ("–").` +
        (publishedDatasetOf(report.dataset) === 'DFEW'
          ? ' The DFEW numbers are the mean over the 5 folds: compare them with the mean of the 5 fold reports, not with one fold.'
          : ''),
      '',
    );
  } else {
    lines.push(`The paper publishes no numbers for ${report.dataset} that this report can compare with.`, '');
  }

  lines.push('## Other metrics', '');
  lines.push(
    markdownTable(
      ['Model', 'WAR', 'UAR', 'UAR (reference scoring)', 'Weighted F1', 'Clips'],
      models.map(([model, m]) => [
        modelLabel(model, mu),
        percent(m.war),
        percent(m.uar),
        percent(m.uarReference),
        percent(m.weightedF1),
        String(m.numSamples),
      ]),
      ['l', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
  );
  lines.push('Weighted F1 is scikit-learn\'s `f1_score(average="weighted")` in %.', '');

  const absent = new Set(models.flatMap(([, m]) => m.absentClasses));
  if (absent.size > 0) {
    const names = [...absent].sort((a, b) => a - b).map((c) => classNames[c] ?? String(c));
    const combined = report.results.combined;
    lines.push('### Classes absent from the test labels', '');
    lines.push(
      `> ${names.join(', ')} ${names.length === 1 ? 'has' : 'have'} no clip in the test labels, so ${names.length === 1 ? 'its' : 'their'} ` +
        `recall is undefined and shown as "n/a". UAR here is the mean over the ` +
        `${combined.numClasses - combined.absentClasses.length} classes that are present. The reference code scores an absent ` +
        `class as 100% and divides by all ${combined.numClasses} classes; that value is in the column "UAR (reference scoring)" ` +
        `(combined: ${percent(combined.uarReference)} against ${percent(combined.uar)}).`,
      '',
    );
  }

  if (report.sweep !== null && report.sweep.length > 0) {
    lines.push('## mu sweep', '');
    lines.push(
      markdownTable(
        ['mu', 'UAR', 'WAR', 'Weighted F1'],
        report.sweep.map((s) => [s.mu === mu ? `**${s.mu}**` : String(s.mu), percent(s.uar), percent(s.war), percent(s.weightedF1)]),
        ['r', 'r', 'r', 'r'],
      ),
      '',
    );
    if (report.charts.includes(REPORT_FILES.muSweepChart)) lines.push(`![UAR and WAR against mu](${REPORT_FILES.muSweepChart})`, '');
  }

  const combined = report.results.combined;
  lines.push(`## Confusion matrix (combined, mu = ${mu})`, '');
  lines.push('Rows: true class; columns: predicted class; counts.', '');
  lines.push(
    markdownTable(
      ['true \\ predicted', ...classNames, 'total'],
      combined.confusion.map((row, t) => [classNames[t] ?? String(t), ...row.map(String), String(combined.support[t])]),
      ['l', ...classNames.map(() => 'r' as const), 'r'],
    ),
    '',
  );
  for (const [model] of models) {
    const chart = `${REPORT_FILES.confusionChartPrefix}${model}.png`;
    if (report.charts.includes(chart)) lines.push(`![Confusion matrix, ${model}](${chart})`, '');
  }

  if (report.charts.includes(REPORT_FILES.trainingCurvesChart)) {
    lines.push('## Training curves', '', `![Training loss, WAR and UAR per epoch](${REPORT_FILES.trainingCurvesChart})`, '');
  }
  lines.push(`Per-clip logits and predictions: [${REPORT_FILES.predictions}](${REPORT_FILES.predictions}).`, '');
  return lines.join('\n');
}
