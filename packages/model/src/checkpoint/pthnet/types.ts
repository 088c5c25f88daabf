import type { PthNetConfig } from '../../pthnet/types.js';

/** One parameter (or momentum buffer) in reference layout, row-major float32. */
export interface PthNetTensor {
  shape: number[];
  data: Float32Array;
}

/** Parameters by reference key (no `module.` prefix), in the reference `state_dict()` order. */
export type PthNetStateDict = Map<string, PthNetTensor>;

/** SGD hyperparameters, named as in PyTorch's `param_groups`. */
export interface SgdHyperparameters {
  type: 'SGD';
  lr: number;
  momentum: number;
  weight_decay: number;
  dampening: number;
  nesterov: boolean;
}

/** Where a checkpoint came from; free-form beyond the documented keys. */
export interface CheckpointProvenance {
  /** ISO time of writing; filled by `savePthNetCheckpoint` when absent. */
  createdAt?: string;
  /** Version of the code that trained it. */
  codeVersion?: string;
  /** What it was trained from or converted from (a dataset id, a `.pth` path). */
  source?: string;
  /** The run's arguments. */
  args?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface SavePthNetCheckpointInput {
  stateDict: PthNetStateDict;
  config: PthNetConfig;
  /** Epochs completed. */
  epoch: number;
  /** Finite numbers only (val WAR, UAR, loss, ...). */
  metrics: Record<string, number>;
  provenance: CheckpointProvenance;
  /** SGD momentum buffers by parameter key; parameters that never got a gradient have none. Needs `optimizer`. */
  momentum?: PthNetStateDict;
  /** Hyperparameters of the optimizer (recorded in the sidecar). */
  optimizer?: SgdHyperparameters;
}

/** The files one `savePthNetCheckpoint` call wrote. */
export interface SavedPthNetCheckpoint {
  weightsPath: string;
  sidecarPath: string;
  optimizerPath?: string;
}

/** The `<name>.json` sidecar, as written. */
export interface PthNetCheckpointSidecar {
  format: 'pthnet-checkpoint';
  version: 1;
  /** Random id shared with the safetensors files' metadata, so a mixed-up set is detected. */
  checkpointId: string;
  /** File name (same folder) of the weights. */
  weights: string;
  config: PthNetConfig;
  epoch: number;
  metrics: Record<string, number>;
  provenance: CheckpointProvenance;
  optimizer?: SgdHyperparameters & {
    /** File name (same folder) of the momentum buffers; absent when none were saved. */
    file?: string;
  };
}

/** How a loaded checkpoint was stored. */
export interface PthNetCheckpointSource {
  /** `pthnet`: our safetensors + sidecar; `safetensors`: a bare safetensors; `torch`: a reference `.pth`. */
  format: 'pthnet' | 'safetensors' | 'torch';
  path: string;
  sidecarPath?: string;
}

export interface LoadedPthNetCheckpoint {
  stateDict: PthNetStateDict;
  config: PthNetConfig;
  /** Epochs completed, null when the file does not say (a bare state dict). */
  epoch: number | null;
  metrics: Record<string, number>;
  provenance?: CheckpointProvenance;
  optimizer?: SgdHyperparameters;
  momentum?: PthNetStateDict;
  source: PthNetCheckpointSource;
  /** Things tolerated while loading (an optimizer state that could not be mapped, ...). */
  warnings: string[];
}
