import type { ClassificationMetrics } from '../metrics/index.js';

/** Metrics of the combination `mu * forward + (1 - mu) * reversed` at one mu. */
export interface MuSweepEntry {
  mu: number;
  metrics: ClassificationMetrics;
}
