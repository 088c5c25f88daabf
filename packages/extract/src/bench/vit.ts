import type { BackendPreference } from 'shared';
import { ConfigError, describeBackend, selectBackend } from 'shared';
import { openBackbone, resolveBackbone } from '../backbones/registry.js';
import type { BackboneSpec, VideoWindowBatch } from '../backbones/types.js';

export interface VitBenchOptions {
  /** A registered backbone. Default `videomae-v2`. */
  backbone?: string;
  /** Its preset. Default `vit-s16`. */
  preset?: string;
  /** Input sides (the backbone's `imageSize`) to time, each a separate pair of runs. Default [112, 224]. */
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
  /** Matrix-multiply GFLOP of one window (the backbone's `flopsPerWindow / 1e9`). */
  gflopPerWindow: number;
  /** Achieved: `windowsPerSecond * gflopPerWindow`. */
  gflopPerSecond: number;
}

export interface VitBenchResult {
  benchmark: 'extract-vit';
  backbone: string;
  preset: string;
  /** Random weights (seed 0): speed does not depend on the values. */
  weights: 'random';
  runs: VitBenchRun[];
}

/** Deterministic pseudo-random frames: the timing must not depend on a file or a decoder. */
export function syntheticWindows(batch: number, spec: BackboneSpec): VideoWindowBatch {
  const { frames, height, width } = spec.window;
  const data = new Uint8Array(batch * frames * height * width * 3);
  let state = 12345;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return { data, shape: [batch, frames, height, width, 3] };
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
 * Windows/s and achieved GFLOP/s of a backbone (the VideoMAE v2 ViT by default) with random
 * weights: for each image size, once on the calling thread and once on worker threads (one
 * backend per thread), both opened through the backbone registry.
 */
export async function benchVit(options: VitBenchOptions = {}): Promise<VitBenchResult> {
  const backbone = options.backbone ?? 'videomae-v2';
  const preset = options.preset ?? 'vit-s16';
  const sizes = options.imageSizes ?? [112, 224];
  const batchSize = positive('batchSize', options.batchSize ?? 1, true);
  const seconds = positive('seconds', options.seconds ?? 3, false);
  const poolWorkers = positive('poolWorkers', options.poolWorkers ?? 2, true, true);
  const backendPreference = options.backend ?? 'auto';
  const log = options.log ?? (() => undefined);
  const runs: VitBenchRun[] = [];

  for (const imageSize of sizes) {
    const spec = resolveBackbone({ name: backbone, preset, custom: { imageSize }, normalize: null });
    const gflopPerWindow = spec.flopsPerWindow / 1e9;
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
    const model = await openBackbone(spec, { weights: { randomSeed: 0 } });
    try {
      const windows = syntheticWindows(batchSize, spec);
      record('in-process', 1, describeBackend(selected), await timeCalls(() => model.extractFeatures(windows), batchSize, seconds));
    } finally {
      await model.close();
    }

    if (poolWorkers > 0) {
      const pool = await openBackbone(spec, { weights: { randomSeed: 0 }, workers: poolWorkers, backend: backendPreference });
      try {
        const windows = syntheticWindows(batchSize * poolWorkers, spec);
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
  return { benchmark: 'extract-vit', backbone, preset, weights: 'random', runs };
}
