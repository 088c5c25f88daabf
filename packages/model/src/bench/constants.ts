import type { BenchOptions } from './types.js';

export const DEFAULT_BENCH_OPTIONS: BenchOptions = {
  backends: ['node-gpu', 'node', 'wasm', 'cpu'],
  seconds: 5,
  batch: 32,
  workers: 2,
  slowStepSeconds: 60,
  seed: 0,
};

/** The PyTorch reference on the 2-core machine (shared/bench), for context in the report. */
export const PYTORCH_REFERENCE = { trainClipsPerSecond: [50, 68], evalClipsPerSecond: [370, 450] } as const;
