export type { ClassificationMetrics, LogitMatrix } from './types.js';
export {
  argmaxRows,
  computeMetrics,
  confusionMatrix,
  metricsFromConfusion,
  validateLabels,
  validateLogitMatrix,
} from './metrics.js';
export { REFERENCE_ABSENT_CLASS_RECALL } from './constants.js';
