export type {
  MetricDifference,
  MuSweepSummary,
  PredictionRow,
  PublishedResult,
  ReportComparison,
  ReportInput,
  ReportMetricsFile,
  ReportModel,
  ReportOptions,
  WrittenReport,
} from './types.js';
export { DEFAULT_REPORT_OPTIONS, PUBLISHED_RESULTS, REPORT_CHART_SIZES, REPORT_FILES } from './constants.js';
export { readReport, validateReportInput, validateReportOptions, writeReport } from './report.js';
export { compareReports, formatComparison } from './compare.js';
export { confusionChartSize, confusionMatrixSpec, muSweepSpec } from './charts.js';
export { renderReportMarkdown } from './markdown.js';
export { renderPredictionsCsv } from './csv.js';
