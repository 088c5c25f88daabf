import type { PublishedResult, ResolvedReportOptions } from './types.js';

export const DEFAULT_REPORT_OPTIONS: ResolvedReportOptions = { charts: true };

export const REPORT_FILES = {
  metrics: 'metrics.json',
  predictions: 'predictions.csv',
  markdown: 'report.md',
  muSweepChart: 'mu_sweep.png',
  trainingCurvesChart: 'training_curves.png',
  /** One confusion-matrix chart per model: `confusion_<model>.png`. */
  confusionChartPrefix: 'confusion_',
} as const;

/** Pixel sizes of the report charts. */
export const REPORT_CHART_SIZES = {
  confusion: { width: 760, height: 680 },
  muSweep: { width: 760, height: 440 },
  trainingCurves: { width: 900, height: 640 },
} as const;

/**
 * PTH-Net paper (Li et al., IEEE TIP), Table V, as quoted in SPEC section 7, in percent.
 * The paper's per-class numbers are not in the spec, so only UAR and WAR are compared.
 */
export const PUBLISHED_RESULTS: readonly PublishedResult[] = [
  { dataset: 'FERV39k', setting: 'raw', model: 'forward', uar: 38.58, war: 47.7 },
  { dataset: 'FERV39k', setting: 'raw', model: 'reversed', uar: 37.82, war: 47.5 },
  { dataset: 'FERV39k', setting: 'raw', model: 'combined', uar: 38.78, war: 48.34 },
  { dataset: 'FERV39k', setting: 'face', model: 'forward', uar: 39.83, war: 49.65 },
  { dataset: 'FERV39k', setting: 'face', model: 'reversed', uar: 39.23, war: 48.07 },
  { dataset: 'FERV39k', setting: 'face', model: 'combined', uar: 40.29, war: 50.47 },
  { dataset: 'DFEW', setting: 'raw', model: 'combined', uar: 52.87, war: 62.09, note: '5-fold mean' },
  { dataset: 'DFEW', setting: 'face', model: 'combined', uar: 62.28, war: 70.85, note: '5-fold mean' },
];

export const SETTING_LABELS = {
  raw: 'no face detection/alignment',
  face: 'face crops',
} as const;

/** The column order of Table V, with the other spellings label files use for the same class. */
export const TABLE_V_CLASS_ORDER: readonly (readonly string[])[] = [
  ['happy', 'happiness'],
  ['sad', 'sadness'],
  ['neutral'],
  ['angry', 'anger'],
  ['surprise', 'surprised'],
  ['disgust', 'disgusted'],
  ['fear', 'fearful'],
];
