import type { SCALE_STAGES } from './constants.js';

export type ScaleStage = (typeof SCALE_STAGES)[number];

export interface ScaleBenchOptions {
  /** Scratch folder: the generated feature set and the benchmark's data directory go in it. */
  dir: string;
  /** Keep every n-th clip of the lists (1: the full 38,935 clips). */
  every: number;
  /** Training epochs per direction. */
  epochs: number;
  /** Run import-features and datasets only. */
  skipTrain: boolean;
  /** Only the no-op rerun, on the data a previous run left. */
  rerunOnly: boolean;
  log: (line: string) => void;
}

/** One stage's times, in seconds: its recorded run (stage work) and its whole process (with Node and module start-up). */
export interface StageTiming {
  stage: ScaleStage;
  stageS: number;
  processS: number;
  /** CPU seconds (user + system) of the whole process; null where /proc is not there to say. */
  cpuS: number | null;
  /** The run's counts, as the stage recorded them. */
  counts: Record<string, number>;
}

export interface ScaleBenchResult {
  clips: number;
  featureFiles: number;
  featureBytes: number;
  epochs: number | null;
  first: StageTiming[];
  noop: StageTiming[];
  /** Sums of the no-op rerun. */
  noopTotal: { stageS: number; processS: number; cpuS: number };
}
