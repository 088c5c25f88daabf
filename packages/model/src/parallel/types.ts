import type { BackendPreference } from 'shared';
import type { SgdState } from '../optim/types.js';
import type { PthNetConfig, PthNetLoss, StateDict } from '../pthnet/types.js';

/** A tensor outside tfjs: shape and row-major data (masks may be bytes). */
export interface HostArray<D extends ArrayLike<number> = Float32Array> {
  shape: number[];
  data: D;
}

export type HostMask = HostArray<Float32Array | Uint8Array>;

/** One batch of the three pyramid levels, `[B, C, T]` features and `[B, 1, T]` masks. */
export interface HostPyramidBatch {
  x_L: HostArray;
  x_M: HostArray;
  x_H: HostArray;
  m_L: HostMask;
  m_M: HostMask;
  m_H: HostMask;
}

export interface DataParallelOptions {
  /** PTH-Net config (partial: defaults are the FERV39k config). */
  config?: Partial<PthNetConfig>;
  /** Worker threads, each with its own tfjs backend; default 2 (this machine's cores). */
  workers?: number;
  /** Backend each worker selects; default `auto`. */
  backend?: BackendPreference;
  /** Seed of the initial weights (identical in every worker) and of stochastic depth. */
  seed?: number;
  /** SGD hyperparameters (PyTorch semantics). */
  optimizer: { lr: number; momentum?: number; weightDecay?: number };
  /** Initial weights in reference layout (a loaded checkpoint's state dict). */
  stateDict?: StateDict;
}

export interface ParallelStepOptions {
  /** Train mode (stochastic depth on when the drop-path probability is > 0). */
  training?: boolean;
  /** Overrides the network's drop-path probability for this step. */
  dropPathProb?: number;
}

export interface ParallelStepResult {
  /** Losses of the whole batch (each worker's mean weighted by its share). */
  losses: PthNetLoss<number>;
  /** Parameters no worker produced a gradient for (never updated). */
  paramsWithoutGrad: string[];
}

/** One worker's share of a training step. */
export interface TrainRequest {
  /** This worker's rows of the batch; null when the batch has fewer clips than workers. */
  batch: HostPyramidBatch | null;
  labels: Int32Array;
  /** This worker's fraction of the batch. */
  share: number;
  lr: number;
  options: ParallelStepOptions;
  step: number;
}

/** What a data-parallel worker answers (the shared worker RPC carries the ids, errors and closing). */
export type DataParallelMethods = {
  train: { request: TrainRequest; response: { losses: PthNetLoss<number>; paramsWithoutGrad: string[] } };
  /** Level-H logits of this worker's rows. */
  predict: { request: { x: HostArray; mask: HostMask }; response: Float32Array };
  stateDict: { request: null; response: StateDict };
  loadStateDict: { request: StateDict; response: null };
  /** SGD state with the momentum buffers of this worker's shard of parameters. */
  optimizerState: { request: null; response: SgdState };
  loadOptimizerState: { request: Pick<SgdState, 'momentumBuffers'>; response: null };
};

/** What a worker reports once its replica is built. */
export interface WorkerReady {
  backend: string;
  backendDetail: string;
  parameterCount: number;
}

/** What each worker is started with. */
export interface WorkerInit {
  index: number;
  config: PthNetConfig;
  backend: BackendPreference;
  seed: number;
  optimizer: { lr: number; momentum?: number; weightDecay?: number };
  stateDict?: StateDict;
  /** Gradient exchange: one float slot per worker, every parameter at a fixed offset. */
  gradients: SharedArrayBuffer;
  /** Which worker produced a gradient for which parameter (workers x parameters). */
  gradientFlags: SharedArrayBuffer;
  /** Updated weights (internal layout, same offsets as a gradient slot), each shard written by its owner. */
  weights: SharedArrayBuffer;
  /** Which parameters were updated this step (one flag per parameter). */
  updatedFlags: SharedArrayBuffer;
  /** Barrier counters and the abort flag. */
  control: SharedArrayBuffer;
  workers: number;
}
