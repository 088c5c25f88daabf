import type { ClassificationMetrics } from 'shared';
import type { PublishedResult, ReportMetricsFile, ReportModel } from '../report/types.js';

/** UAR and WAR of one model, fractions in [0, 1]. */
export interface UarWar {
  uar: number;
  war: number;
}

/** One fold of a cross-validation: its own report, summed up. */
export interface CvFold {
  fold: number;
  /** The fold's report folder, relative to the cv report's folder (`set_1`). */
  report: string;
  numSamples: number;
  results: Partial<Record<ReportModel, UarWar>> & { combined: UarWar };
}

/** The content of `cv.json`. Rates are fractions in [0, 1]; published numbers are percent. */
export interface CvReportFile {
  format: 'pthnet-cv-report';
  version: 1;
  dataset: string;
  classNames: string[];
  mu: number;
  faceCrops: boolean | null;
  folds: CvFold[];
  /** Per model: the mean over the folds of each fold's UAR and WAR. */
  mean: Partial<Record<ReportModel, UarWar>> & { combined: UarWar };
  /** Per model: the standard deviation over the folds (population, numpy's `std`). */
  std: Partial<Record<ReportModel, UarWar>> & { combined: UarWar };
  /** The combined model's metrics of all folds' test clips pooled: the summed confusion matrix and what it gives. */
  pooled: ClassificationMetrics;
  published: PublishedResult[];
  /** File names of the charts written beside cv.json. */
  charts: string[];
}

/** What `writeCvReport` takes: each fold's number, report folder and report. */
export interface CvReportInput {
  dataset: string;
  folds: ReadonlyArray<{ fold: number; dir: string; report: ReportMetricsFile }>;
}

/** Paths `writeCvReport` wrote. */
export interface WrittenCvReport {
  dir: string;
  cvJson: string;
  reportMd: string;
  charts: string[];
}
