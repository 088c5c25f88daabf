import type { BackendName } from 'shared';

export interface BenchOptions {
  /** Backends to try, in order; those that do not load are reported as skipped. */
  backends: BackendName[];
  /** Timed seconds per phase (training, inference) after the warm-up. */
  seconds: number;
  batch: number;
  /** Worker threads for the data-parallel run (0 or 1: single-thread only). */
  workers: number;
  /** A backend whose warm-up step takes longer than this is timed on that one step only. */
  slowStepSeconds: number;
  seed: number;
  /** Per-kernel profile of one training step and one inference batch instead of throughput. */
  profile: boolean;
  /** On wasm, only the configurations with the native addon (skips the wasm backend's own kernels). */
  nativeOnly: boolean;
}

export interface PhaseResult {
  clipsPerSecond: number;
  /** Mean milliseconds per batch. */
  msPerBatch: number;
  /** Timed batches (0 when only the warm-up was measured). */
  batches: number;
  /**
   * CPU seconds the whole process (every thread) spent per batch. On a shared machine wall time
   * includes waiting for the cores; `batch / cpuSecondsPerBatch` is the rate one core would give.
   */
  cpuSecondsPerBatch: number;
}

export interface BackendResult {
  backend: BackendName;
  /** The backend as `describeBackend` puts it: on wasm, whether its matMuls ran on OpenBLAS. */
  detail: string;
  /** In this thread (on wasm with the addon, its native kernels on every core), or data-parallel on worker threads. */
  mode: 'in-process' | 'data-parallel';
  /** 1 for the in-process run, the worker count for the data-parallel one. */
  threads: number;
  train: PhaseResult;
  eval: PhaseResult;
}

/** The fastest configuration of one phase. */
export interface BestResult {
  clipsPerSecond: number;
  backend: BackendName;
  detail: string;
  mode: BackendResult['mode'];
  threads: number;
}

export interface BenchReport {
  benchmark: 'pthnet-throughput';
  config: 'ferv39k';
  parameters: number;
  batch: number;
  levelLengths: { H: number; M: number; L: number };
  seconds: number;
  node: string;
  cpus: number;
  results: BackendResult[];
  /** The fastest configuration for training and for inference (absent when nothing ran). */
  best?: { train: BestResult; eval: BestResult };
  skipped: Array<{ backend: BackendName; reason: string }>;
}

/** Where the time of a profiled step goes: the forward pass, the backward pass, the SGD update; or inference. */
export type ProfilePhase = 'forward' | 'backward' | 'optimizer' | 'inference';

export interface PhaseTiming {
  phase: ProfilePhase;
  /** Wall time of the phase in the profiled run. */
  wallMs: number;
  /** Sum of the kernels' own times in the phase. */
  kernelMs: number;
  /** `wallMs - kernelMs`: the engine's work between kernels (tape, scopes, bookkeeping) and host-side loops. */
  outsideKernelsMs: number;
  kernelCalls: number;
}

/** One kernel in one phase, summed over its calls. */
export interface ProfileRow {
  kernel: string;
  phase: ProfilePhase;
  calls: number;
  ms: number;
  /** `ms` as a fraction of the profiled run's wall time. */
  share: number;
}

/** One kernel, phase and set of input shapes, summed over its calls. */
export interface ProfileShapeRow {
  kernel: string;
  phase: ProfilePhase;
  /** Input shapes, e.g. `[512,512] [512,768]`. */
  inputs: string;
  calls: number;
  ms: number;
}

export interface ProfileRun {
  /** Median wall time of unprofiled runs (profiling adds its own cost per kernel). */
  wallMs: number;
  profiledWallMs: number;
  phases: PhaseTiming[];
  /** Every kernel and phase, by time. */
  rows: ProfileRow[];
  /** The costliest kernel calls by shape. */
  shapes: ProfileShapeRow[];
}

export interface BackendProfile {
  backend: BackendName;
  detail: string;
  train: ProfileRun;
  eval: ProfileRun;
}

export interface ProfileReport {
  benchmark: 'pthnet-profile';
  parameters: number;
  batch: number;
  node: string;
  cpus: number;
  results: BackendProfile[];
  skipped: Array<{ backend: BackendName; reason: string }>;
}
