/**
 * A Vega-Lite top-level specification as a plain JSON object (https://vega.github.io/vega-lite/).
 * Typed loosely on purpose: the spec is handed to `vega-lite`'s compiler, which validates it.
 */
export type VegaLiteSpec = Record<string, unknown>;

/** Options of `renderChartPng`. */
export interface ChartRenderOptions {
  /** Width of the PNG in pixels (required, positive integer). */
  width: number;
  /** Height of the PNG in pixels (required, positive integer). */
  height: number;
  /** Fill behind the chart, any CSS colour. Default `'white'`. */
  background?: string;
  /**
   * Font family that Vega lays text out with and resvg draws it with. Default `'DejaVu Sans'`
   * (installed with most Linux distributions, so text renders without network or bundled fonts).
   */
  fontFamily?: string;
}

/** `ChartRenderOptions` with every default filled in. */
export type ResolvedChartRenderOptions = Required<ChartRenderOptions>;

/** Pixel size of a PNG as read from its IHDR chunk. */
export interface PngSize {
  width: number;
  height: number;
}

/** One optimiser step of a training run, as a line of the training log (JSON lines). */
export interface TrainStepRecord {
  type: 'step';
  epoch: number;
  step: number;
  lr: number;
  loss: number;
  loss_ce: number;
  loss_kl_L: number;
  loss_kl_M: number;
}

/**
 * The end of one training epoch: validation WAR/UAR (fractions in [0, 1] or percentages; the
 * charts accept either) and the mean training loss. Extra keys are allowed and ignored.
 */
export interface TrainEpochRecord {
  type: 'epoch';
  epoch: number;
  war: number;
  uar: number;
  loss: number;
  time_s: number;
  [extra: string]: unknown;
}

export type TrainLogRecord = TrainStepRecord | TrainEpochRecord;

/** The training logs of the two networks of one experiment; either may be missing. */
export interface TrainingCurvesInput {
  forward?: readonly TrainLogRecord[];
  reversed?: readonly TrainLogRecord[];
}

/** One point of the training-curves charts, in long form (one row per run, epoch and metric). */
export interface TrainingCurvePoint {
  run: 'forward' | 'reversed';
  epoch: number;
  metric: 'loss' | 'WAR' | 'UAR';
  /** Loss as logged; WAR and UAR in percent. */
  value: number;
}
