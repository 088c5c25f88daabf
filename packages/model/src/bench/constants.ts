import type { BenchOptions } from './types.js';

export const DEFAULT_BENCH_OPTIONS: BenchOptions = {
  backends: ['node-gpu', 'node', 'wasm', 'cpu'],
  seconds: 5,
  batch: 32,
  workers: 2,
  slowStepSeconds: 60,
  seed: 0,
  profile: false,
  nativeOnly: false,
};

/** Unprofiled runs timed (after a warm-up) for the wall time beside a profile; the median is reported. */
export const PROFILE_REPEATS = 3;

/** Kernel calls by shape kept in the profile's JSON (the costliest). */
export const PROFILE_SHAPE_ROWS = 40;

/** The PyTorch reference on the 2-core machine (shared/bench), for context in the report. */
export const PYTORCH_REFERENCE = { trainClipsPerSecond: [50, 68], evalClipsPerSecond: [370, 450] } as const;
