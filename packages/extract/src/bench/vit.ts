import type { BackendPreference } from 'shared';
import { ConfigError, describeBackend, selectBackend } from 'shared';
import { resolveVitConfig } from '../videomae/config.js';
import { vitFlopsPerWindow } from '../videomae/flops.js';
import type { VideoWindowBatch, VitConfig, VitPresetName } from '../videomae/types.js';
import { createVitModel } from '../videomae/vit.js';
import { randomVitTensorSource, vitWeightsFromSource } from '../videomae/weights.js';
import { createVitWorkerPool } from '../videomae/workerPool.js';

export interface VitBenchOptions {
  /** Backbone shape. Default `vit-s16`. */
  preset?: VitPresetName;
  /** Input sides to time, each a separate pair of runs. Default [112, 224]. */
  imageSizes?: readonly number[];
  /** Windows per `extractFeatures` call (per worker for the pool). Default 1. */
  batchSize?: number;
  /** Timed seconds per run, after one warm-up call; at least one timed call always runs. Default 3. */
  seconds?: number;
  /** Backend of the in-process run and of every worker. Default `auto`. */
  backend?: BackendPreference;
  /** Threads of the worker-pool run; 0 skips it. Default 2 (one per core of the reference machine). */
  poolWorkers?: number;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface VitBenchRun {
  imageSize: number;
  /** `in-process`: one backend on the calling thread; `worker-pool`: `threads` workers, each its own backend. */
  mode: 'in-process' | 'worker-pool';
  threads: number;
  backend: string;
  batchSize: number;
  /** Windows processed in the timed part. */
  windows: number;
  seconds: number;
  windowsPerSecond: number;
  /** Matrix-multiply GFLOP of one window (`vitFlopsPerWindow().total / 1e9`). */
  gflopPerWindow: number;
  /** Achieved: `windowsPerSecond * gflopPerWindow`. */
  gflopPerSecond: number;
}

export interface VitBenchResult {
  benchmark: 'extract-vit';
  preset: VitPresetName;
  /** Random weights (seed 0): speed does not depend on the values. */
  weights: 'random';
  runs: VitBenchRun[];
}

/** Deterministic pseudo-random frames: the timing must not depend on a file or a decoder. */
function syntheticWindows(batch: number, config: VitConfig): VideoWindowBatch {
  const side = config.imageSize;
  const data = new Uint8Array(batch * config.numFrames * side * side * 3);
  let state = 12345;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return { data, shape: [batch, config.numFrames, side, side, 3] };
}

async function timeCalls(
  call: () => Promise<unknown>,
  windowsPerCall: number,
  seconds: number,
): Promise<{ windows: number; seconds: number }> {
  await call(); // warm-up: first-call kernel setup and weight packing
  const start = performance.now();
  let windows = 0;
  do {
    await call();
    windows += windowsPerCall;
  } while ((performance.now() - start) / 1000 < seconds);
  return { windows, seconds: (performance.now() - start) / 1000 };
}

function positive(key: string, value: number, integer: boolean, allowZero = false): number {
  const ok = Number.isFinite(value) && (allowZero ? value >= 0 : value > 0) && (!integer || Number.isInteger(value));
  if (!ok)
    throw new ConfigError(
      `bench.${key}: expected a ${allowZero ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}, got ${String(value)}`,
    );
  return value;
}

/**
 * Windows/s and achieved GFLOP/s of the ViT feature extractor with random weights: for each
 * image size, once on the calling thread and once through a worker pool (one backend per thread).
 */
export async function benchVit(options: VitBenchOptions = {}): Promise<VitBenchResult> {
  const preset = options.preset ?? 'vit-s16';
  const sizes = options.imageSizes ?? [112, 224];
  const batchSize = positive('batchSize', options.batchSize ?? 1, true);
  const seconds = positive('seconds', options.seconds ?? 3, false);
  const poolWorkers = positive('poolWorkers', options.poolWorkers ?? 2, true, true);
  const backendPreference = options.backend ?? 'auto';
  const log = options.log ?? (() => undefined);
  const runs: VitBenchRun[] = [];

  for (const imageSize of sizes) {
    const config = resolveVitConfig({ preset, imageSize });
    const gflopPerWindow = vitFlopsPerWindow(config).total / 1e9;
    const record = (mode: VitBenchRun['mode'], threads: number, backend: string, timed: { windows: number; seconds: number }): void => {
      const windowsPerSecond = timed.windows / timed.seconds;
      const run = {
        imageSize,
        mode,
        threads,
        backend,
        batchSize,
        ...timed,
        windowsPerSecond,
        gflopPerWindow,
        gflopPerSecond: windowsPerSecond * gflopPerWindow,
      };
      runs.push(run);
      log(
        `${preset} ${imageSize}px ${mode} x${threads} (${backend}): ${windowsPerSecond.toFixed(3)} windows/s, ${run.gflopPerSecond.toFixed(1)} GFLOP/s`,
      );
    };

    const selected = await selectBackend(backendPreference);
    const model = createVitModel(config, await vitWeightsFromSource(randomVitTensorSource(config, 0), config));
    try {
      const windows = syntheticWindows(batchSize, config);
      record('in-process', 1, describeBackend(selected), await timeCalls(() => model.extractFeatures(windows), batchSize, seconds));
    } finally {
      model.dispose();
    }

    if (poolWorkers > 0) {
      const pool = await createVitWorkerPool({ config, randomSeed: 0, workers: poolWorkers, backend: backendPreference });
      try {
        const windows = syntheticWindows(batchSize * poolWorkers, config);
        record(
          'worker-pool',
          poolWorkers,
          pool.backendDetail,
          await timeCalls(() => pool.extractFeatures(windows), batchSize * poolWorkers, seconds),
        );
      } finally {
        await pool.close();
      }
    }
  }
  return { benchmark: 'extract-vit', preset, weights: 'random', runs };
}
