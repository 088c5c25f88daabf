// biome-ignore-all lint/style/noNonNullAssertion: indices are bounded by loop limits over arrays whose shape is validated first (labels length N, logits N x K, labels and predictions in [0, K), confusion K x K); noUncheckedIndexedAccess cannot see that
import { InputError } from '../errors/index.js';
import { REFERENCE_ABSENT_CLASS_RECALL } from './constants.js';
import type { ClassificationMetrics, LogitMatrix } from './types.js';

/** Checks the shape and values of a logit matrix; `name` goes into the error message. */
export function validateLogitMatrix(logits: LogitMatrix, name = 'logits'): void {
  const [rows, cols] = logits.shape;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new InputError(`${name}: expected shape [N, K] with N, K >= 1, got [${logits.shape.join(', ')}]`);
  }
  if (!(logits.data instanceof Float32Array) || logits.data.length !== rows * cols) {
    throw new InputError(
      `${name}: expected a Float32Array of ${rows} x ${cols} = ${rows * cols} values, got ${
        logits.data instanceof Float32Array ? `${logits.data.length} values` : 'another array type'
      }`,
    );
  }
  // A NaN logit means a broken model or file; scoring it as some class would hide that.
  const nanIndex = logits.data.findIndex(Number.isNaN);
  if (nanIndex >= 0) {
    throw new InputError(`${name}: expected finite logits, got NaN at row ${Math.floor(nanIndex / cols)}, class ${nanIndex % cols}`);
  }
}

/** Checks that labels are N integers in [0, K). */
export function validateLabels(labels: ArrayLike<number>, numSamples: number, numClasses: number): void {
  if (labels.length !== numSamples) {
    throw new InputError(`labels: expected ${numSamples} labels (one per logit row), got ${labels.length}`);
  }
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new InputError(`labels[${i}]: expected an integer class index in 0..${numClasses - 1}, got ${label}`);
    }
  }
}

/** Predicted class per row; on ties the lowest index wins, as in PyTorch's `argmax`/`topk`. */
export function argmaxRows(logits: LogitMatrix): Int32Array {
  validateLogitMatrix(logits);
  const [rows, cols] = logits.shape;
  const predicted = new Int32Array(rows);
  for (let row = 0; row < rows; row++) {
    const offset = row * cols;
    let best = 0;
    let bestValue = logits.data[offset]!;
    for (let col = 1; col < cols; col++) {
      const value = logits.data[offset + col]!;
      if (value > bestValue) {
        best = col;
        bestValue = value;
      }
    }
    predicted[row] = best;
  }
  return predicted;
}

/** `confusion[true][predicted]` counts. */
export function confusionMatrix(labels: ArrayLike<number>, predicted: ArrayLike<number>, numClasses: number): number[][] {
  validateLabels(labels, labels.length, numClasses);
  if (predicted.length !== labels.length) {
    throw new InputError(`predictions: expected ${labels.length} (one per label), got ${predicted.length}`);
  }
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const truth = labels[i]!;
    const guess = predicted[i]!;
    if (!Number.isInteger(guess) || guess < 0 || guess >= numClasses) {
      throw new InputError(`predictions[${i}]: expected an integer class index in 0..${numClasses - 1}, got ${guess}`);
    }
    confusion[truth]![guess]! += 1;
  }
  return confusion;
}

/** Every metric that follows from a confusion matrix (rows = true class, columns = predicted). */
export function metricsFromConfusion(confusion: readonly (readonly number[])[]): ClassificationMetrics {
  const numClasses = confusion.length;
  if (numClasses < 1 || confusion.some((row) => row.length !== numClasses)) {
    throw new InputError(
      `confusion matrix: expected K x K counts with K >= 1, got ${confusion.length} rows of lengths ${confusion.map((r) => r.length).join(', ')}`,
    );
  }
  const at = (t: number, p: number) => confusion[t]![p]!;
  const classes = [...Array(numClasses).keys()];
  const support = classes.map((t) => classes.reduce((sum, p) => sum + at(t, p), 0));
  const predictedCount = classes.map((p) => classes.reduce((sum, t) => sum + at(t, p), 0));
  const numSamples = support.reduce((a, b) => a + b, 0);
  if (numSamples === 0) throw new InputError('confusion matrix: expected at least one sample, got none');

  const correct = classes.reduce((sum, c) => sum + at(c, c), 0);
  const perClassRecall = classes.map((c) => (support[c]! > 0 ? at(c, c) / support[c]! : null));
  const perClassPrecision = classes.map((c) => (predictedCount[c]! > 0 ? at(c, c) / predictedCount[c]! : null));
  const perClassF1 = classes.map((c) => {
    const denominator = support[c]! + predictedCount[c]!; // = 2 tp + fp + fn
    return denominator > 0 ? (2 * at(c, c)) / denominator : null;
  });
  const absentClasses = classes.filter((c) => support[c] === 0);
  const presentRecalls = perClassRecall.filter((r): r is number => r !== null);

  return {
    numSamples,
    numClasses,
    war: correct / numSamples,
    uar: presentRecalls.reduce((a, b) => a + b, 0) / presentRecalls.length,
    uarReference: perClassRecall.reduce<number>((sum, r) => sum + (r ?? REFERENCE_ABSENT_CLASS_RECALL), 0) / numClasses,
    weightedF1: classes.reduce((sum, c) => sum + support[c]! * (perClassF1[c] ?? 0), 0) / numSamples,
    perClassRecall,
    perClassPrecision,
    perClassF1,
    support,
    predictedCount,
    confusion: confusion.map((row) => [...row]),
    absentClasses,
  };
}

/** Metrics of logits `[N, K]` against N labels (classes = K, predictions = row argmax). */
export function computeMetrics(logits: LogitMatrix, labels: ArrayLike<number>): ClassificationMetrics {
  const predicted = argmaxRows(logits);
  const [numSamples, numClasses] = logits.shape;
  validateLabels(labels, numSamples, numClasses);
  return metricsFromConfusion(confusionMatrix(labels, predicted, numClasses));
}
