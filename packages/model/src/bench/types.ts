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
  /** 1 for the in-process run, the worker count for the data-parallel one. */
  threads: number;
  train: PhaseResult;
  eval: PhaseResult;
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
  skipped: Array<{ backend: BackendName; reason: string }>;
}
