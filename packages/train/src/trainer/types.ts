import type { LoadedPthNetCheckpoint } from 'model';
import type { PipelineConfig, TrainEpochRecord } from 'shared';
import type { RngState } from 'shared';
import type { PackedDataset } from '../packed/types.js';

export type TrainHyperparameters = PipelineConfig['train'];

/** How to treat an existing `last` checkpoint in the output folder. */
export type ResumeMode = 'auto' | 'require' | 'never';

export interface TrainRunOptions {
  /** Folder of this run: `best.*`, `last.*`, `log.jsonl`, `curves.png`. */
  outDir: string;
  train: PackedDataset;
  /** Scored after every epoch (the test split, or a held-out validation split). */
  validation: PackedDataset;
  hyper: TrainHyperparameters;
  /** The `hyper.init` checkpoint, already loaded and checked by the caller; loaded here when absent. */
  init?: LoadedPthNetCheckpoint;
  /** Identifies the inputs and settings of this run; `last` is resumed only when it matches. */
  runKey: string;
  resume?: ResumeMode;
  /** Label of the progress bar and log lines, e.g. `train forward`. */
  label?: string;
  signal?: AbortSignal;
  /** Called after each epoch's checkpoint is safely written. */
  onEpoch?: (record: TrainEpochRecord) => void;
  /** Worker threads on CPU backends (data-parallel); 1 trains in this thread. Default 1. */
  workers?: number;
  /** Smallest network split across workers (see `EngineOptions`). */
  parallelFromParameters?: number;
  /**
   * The dataset's class count (`datasetClasses`): the network's head must have exactly this many
   * outputs. Default: the packed dataset's label names, else its largest label + 1.
   */
  classes?: number;
  /** Provenance recorded in the checkpoints. */
  provenance?: Record<string, unknown>;
}

/** What the `last` checkpoint's sidecar carries to continue a run exactly. */
export interface TrainingState {
  runKey: string;
  /** Epochs completed. */
  epoch: number;
  step: number;
  rng: RngState;
  bestWar: number;
  bestEpoch: number;
}

export interface TrainRunResult {
  bestPath: string;
  lastPath: string;
  bestEpoch: number;
  bestWar: number;
  epochs: TrainEpochRecord[];
  /** Epochs already done when this run started (from a resumed `last`). */
  resumedFromEpoch: number;
  interrupted: boolean;
  /** Where it trained, e.g. `wasm, 2 worker threads`. */
  backend: string;
}
