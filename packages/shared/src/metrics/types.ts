/** Row-major logits of N clips over K classes. */
export interface LogitMatrix {
  data: Float32Array;
  /** `[N, K]`: clips, classes. */
  shape: readonly [number, number];
}

/**
 * Classification metrics of one set of predictions. Rates are fractions in [0, 1] (the report
 * shows percentages). Class-indexed arrays have one entry per class, in label order.
 */
export interface ClassificationMetrics {
  numSamples: number;
  numClasses: number;
  /** Weighted average recall: overall accuracy. */
  war: number;
  /** Unweighted average recall over the classes present in the labels. */
  uar: number;
  /**
   * UAR as the reference code computes it: an absent class counts as recall 1 (100%) and the
   * mean runs over all K classes. Equals `uar` when no class is absent.
   */
  uarReference: number;
  /** sklearn `f1_score(average='weighted')`: per-class F1 weighted by support. */
  weightedF1: number;
  /** Recall per class; `null` where the class is absent from the labels (undefined recall). */
  perClassRecall: (number | null)[];
  /** Precision per class; `null` where the class is never predicted. */
  perClassPrecision: (number | null)[];
  /** F1 per class, `2 tp / (2 tp + fp + fn)`; `null` where the class is neither true nor predicted. */
  perClassF1: (number | null)[];
  /** True count per class (row sums of the confusion matrix). */
  support: number[];
  /** Predicted count per class (column sums). */
  predictedCount: number[];
  /** Counts, `confusion[true][predicted]`. */
  confusion: number[][];
  /** Classes with no clip in the labels, ascending. */
  absentClasses: number[];
}
