import type { TrainingCurvesInput } from 'shared';
import type { MuSweepEntry } from '../combine/index.js';
import type { ClassificationMetrics } from 'shared';

/** One test clip of the report: its logits from each network and the final prediction. */
export interface PredictionRow {
  clipId: string;
  /** True class index. */
  label: number;
  /** K logits of the forward network. */
  forwardLogits: ArrayLike<number>;
  /** K logits of the reversed network; give it for every row or for none. */
  reversedLogits?: ArrayLike<number>;
  /** K combined logits (`mu * forward + (1 - mu) * reversed`). */
  combinedLogits: ArrayLike<number>;
  /** Predicted class index (argmax of the combined logits). */
  predicted: number;
}

/** Everything `writeReport` writes about one evaluation. */
export interface ReportInput {
  /** Dataset name, e.g. `'FERV39k'` or `'DFEW'` (any case): picks the published numbers shown beside ours. */
  dataset: string;
  /** Class names in label order (index i names class i). */
  classNames: readonly string[];
  forward?: ClassificationMetrics;
  reversed?: ClassificationMetrics;
  combined: ClassificationMetrics;
  /** The mu of `combined`. */
  mu: number;
  sweep?: readonly MuSweepEntry[];
  predictions: readonly PredictionRow[];
  /** Training logs of the two networks, for the training-curves chart. */
  curves?: TrainingCurvesInput;
  /**
   * Whether the features came from face crops (the `_face` feature folders). Chooses which
   * published setting to compare with; when not given, both settings are shown.
   */
  faceCrops?: boolean;
}

/** Options of `writeReport`. */
export interface ReportOptions {
  /** Render the PNG charts. Default `true`; `false` writes only metrics.json, predictions.csv and report.md. */
  charts?: boolean;
}

export type ResolvedReportOptions = Required<ReportOptions>;

/** A result from the PTH-Net paper (Table V), in percent. */
export interface PublishedResult {
  dataset: 'FERV39k' | 'DFEW';
  /** `'raw'`: no face detection or alignment; `'face'`: face crops. */
  setting: 'raw' | 'face';
  model: 'forward' | 'reversed' | 'combined';
  uar: number;
  war: number;
  note?: string;
}

export type ReportModel = 'forward' | 'reversed' | 'combined';

/** A mu-sweep point as stored in metrics.json. */
export interface MuSweepSummary {
  mu: number;
  war: number;
  uar: number;
  uarReference: number;
  weightedF1: number;
}

/** The content of `metrics.json`. Rates are fractions in [0, 1]; published numbers are percent. */
export interface ReportMetricsFile {
  format: 'pthnet-eval-report';
  version: 1;
  dataset: string;
  classNames: string[];
  mu: number;
  numSamples: number;
  faceCrops: boolean | null;
  results: Partial<Record<ReportModel, ClassificationMetrics>> & { combined: ClassificationMetrics };
  sweep: MuSweepSummary[] | null;
  published: PublishedResult[];
  /** File names of the charts written beside metrics.json. */
  charts: string[];
}

/** Paths `writeReport` wrote. */
export interface WrittenReport {
  dir: string;
  metricsJson: string;
  predictionsCsv: string;
  reportMd: string;
  charts: string[];
}

/** One metric of one model in both reports; values and delta in percent (points). */
export interface MetricDifference {
  model: ReportModel;
  metric: string;
  a: number | null;
  b: number | null;
  /** `b - a`, or null when either side lacks the metric. */
  delta: number | null;
}

export interface ReportComparison {
  rows: MetricDifference[];
  /** What makes the two reports not directly comparable (other dataset, clip count, classes). */
  warnings: string[];
}
