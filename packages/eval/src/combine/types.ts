import type { ClassificationMetrics } from 'shared';

/** Metrics of the combination `mu * forward + (1 - mu) * reversed` at one mu. */
export interface MuSweepEntry {
  mu: number;
  metrics: ClassificationMetrics;
}
