/**
 * The ViT-g/14 benchmark: a random-weight checkpoint in the official key layout (3.8 GB, built
 * once in a scratch folder), extraction on worker threads with the weights streamed from it,
 * windows/s and the peak memory of the process (worker threads included).
 */
import { existsSync, readFileSync } from 'node:fs';
import { statfs, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendPreference } from 'shared';
import { ConfigError, createProgress, formatByteSize, selectBackend, writeFileAtomic } from 'shared';
import { createPthNet, savePthNetCheckpoint, writeTorchStateDict } from 'model';
import { openBackbone, resolveBackbone } from '../backbones/registry.js';
import type { VideoMaeSpec } from '../backbones/videomae-v2.js';
import { expectedVitShapes, randomVitTensorSource, vitWeightBytes } from '../videomae/weights.js';
import { syntheticWindows } from './vit.js';
import { VITG_BENCH_PTHNET_SEEDS, VITG_CHECKPOINT_SLACK_BYTES, VITG_RSS_SAMPLE_MS } from './constants.js';

export interface VitgBenchOptions {
  /** Scratch folder for the checkpoint (reused by later runs) and the random PTH-Net networks. */
  dir: string;
  /** Worker threads. Default 2. */
  workers?: number;
  /** Windows per `extractFeatures` call, split over the workers. Default 2 per worker. */
  batch?: number;
  /** Timed calls. Default 1. */
  calls?: number;
  /** Seed of the random weights. Default 0. */
  seed?: number;
  /** `extract.backbone.weightBudget` in bytes; null: the default (streamed on wasm). */
  weightBudget?: number | null;
  /** Backend of every worker. Default `wasm`. */
  backend?: BackendPreference;
  log?: (line: string) => void;
}

export interface VitgBenchResult {
  benchmark: 'extract-vitg';
  checkpoint: { path: string; bytes: number; builtSeconds: number | null };
  /** Random PTH-Net networks taking ViT-g's 1408-wide features, for `pnpm pthnet predict`. */
  pthnet: { forward: string; reversed: string };
  workers: number;
  backend: string;
  weights: string;
  startSeconds: number;
  windows: number;
  seconds: number;
  windowsPerSecond: number;
  gflopPerSecond: number;
  /** CPU time of the process (all threads) in the timed part: on a machine shared with other work, throughput per CPU-second is what does not depend on the load. */
  cpuSeconds: number;
  gflopPerCpuSecond: number;
  /** Most resident memory of the process (all its threads) while the backbone was open, sampled every 200 ms. */
  peakRssBytes: number;
  /** The kernel's high-water mark of the same over the whole run (building the checkpoint included). */
  processPeakRssBytes: number;
}

/** Resident and peak resident bytes of this process (every thread), from /proc. */
function rss(): { now: number; peak: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { now: kib('VmRSS'), peak: kib('VmHWM') };
}

/** The checkpoint at `path`, built unless a complete one of this seed is there (its sidecar names its seed and size). */
async function ensureCheckpoint(
  path: string,
  spec: VideoMaeSpec,
  seed: number,
  log: (line: string) => void,
): Promise<{ bytes: number; builtSeconds: number | null }> {
  const sidecar = `${path}.json`;
  if (existsSync(path) && existsSync(sidecar)) {
    const recorded = JSON.parse(readFileSync(sidecar, 'utf8')) as { seed?: number; bytes?: number };
    const bytes = (await stat(path)).size;
    if (recorded.seed === seed && recorded.bytes === bytes) return { bytes, builtSeconds: null };
  }
  const { total } = vitWeightBytes(spec.vit);
  const { bavail, bsize } = await statfs(join(path, '..'));
  if (bavail * bsize < total + VITG_CHECKPOINT_SLACK_BYTES) {
    throw new ConfigError(
      `--dir: expected a folder with ${formatByteSize(total + VITG_CHECKPOINT_SLACK_BYTES)} free for the ViT-g checkpoint, got ${formatByteSize(bavail * bsize)} free in ${join(path, '..')}`,
    );
  }
  log(`[bench vitg] writing a random-weight ViT-g/14 checkpoint (${formatByteSize(total)}) to ${path}`);
  const started = performance.now();
  const shapes = expectedVitShapes(spec.vit);
  const source = randomVitTensorSource(spec.vit, seed);
  const progress = createProgress({ label: 'bench vitg: checkpoint', total: shapes.size, unit: 'tensors' });
  await writeTorchStateDict(path, {
    entries: [...shapes].map(([key, shape]) => ({ key, shape })),
    values: async (key) => {
      const values = await source.read(key);
      progress.tick();
      return values;
    },
  });
  progress.stop();
  const bytes = (await stat(path)).size;
  await writeFileAtomic(sidecar, `${JSON.stringify({ seed, bytes })}\n`);
  return { bytes, builtSeconds: (performance.now() - started) / 1000 };
}

/** Random PTH-Net networks (the published FERV39k config: 1408-wide input, ViT-g's features) to predict with. */
async function writeRandomNetworks(dir: string): Promise<{ forward: string; reversed: string }> {
  await selectBackend('wasm');
  const paths = { forward: join(dir, 'pthnet_forward'), reversed: join(dir, 'pthnet_reversed') };
  for (const [direction, base] of Object.entries(paths) as Array<['forward' | 'reversed', string]>) {
    const net = createPthNet({}, { seed: VITG_BENCH_PTHNET_SEEDS[direction] });
    try {
      await savePthNetCheckpoint(base, { stateDict: net.stateDict(), config: net.config, epoch: 0, metrics: {}, provenance: {} });
    } finally {
      net.dispose();
    }
  }
  return { forward: `${paths.forward}.safetensors`, reversed: `${paths.reversed}.safetensors` };
}

export async function benchVitg(options: VitgBenchOptions): Promise<VitgBenchResult> {
  const workers = options.workers ?? 2;
  const batch = options.batch ?? 2 * workers;
  const calls = options.calls ?? 1;
  const seed = options.seed ?? 0;
  const log = options.log ?? (() => undefined);
  for (const [flag, value] of [
    ['--workers', workers],
    ['--batch', batch],
    ['--calls', calls],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${flag}: expected a positive integer, got ${String(value)}`);
  }
  const spec = resolveBackbone({ preset: 'vit-g14', normalize: null, weightBudget: options.weightBudget ?? null }) as VideoMaeSpec;
  const path = join(options.dir, `vit_g14_random_seed${seed}.pth`);
  const checkpoint = { path, ...(await ensureCheckpoint(path, spec, seed, log)) };
  const pthnet = await writeRandomNetworks(options.dir);

  let peak = rss().now;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss().now);
  }, VITG_RSS_SAMPLE_MS);
  try {
    const started = performance.now();
    const backbone = await openBackbone(spec, { weights: { checkpoint: path }, workers, backend: options.backend ?? 'wasm' });
    try {
      const startSeconds = (performance.now() - started) / 1000;
      log(
        `[bench vitg] ${workers} workers on ${backbone.backendDetail}, ${backbone.weightsDetail ?? ''}, ready in ${startSeconds.toFixed(1)} s`,
      );
      const windows = syntheticWindows(batch, spec);
      const timedStart = performance.now();
      const cpuStart = process.cpuUsage();
      for (let call = 0; call < calls; call++) {
        const features = await backbone.extractFeatures(windows);
        if (!features.every(Number.isFinite)) throw new Error('bench vitg: the features are not all finite');
        log(`[bench vitg] call ${call + 1}/${calls}: ${batch} windows, ${((performance.now() - timedStart) / 1000).toFixed(1)} s so far`);
      }
      const seconds = (performance.now() - timedStart) / 1000;
      const cpu = process.cpuUsage(cpuStart);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const windowsPerSecond = (batch * calls) / seconds;
      return {
        benchmark: 'extract-vitg',
        checkpoint,
        pthnet,
        workers,
        backend: backbone.backendDetail,
        weights: backbone.weightsDetail ?? '',
        startSeconds,
        windows: batch * calls,
        seconds,
        windowsPerSecond,
        gflopPerSecond: (windowsPerSecond * spec.flopsPerWindow) / 1e9,
        cpuSeconds,
        gflopPerCpuSecond: (batch * calls * spec.flopsPerWindow) / 1e9 / cpuSeconds,
        peakRssBytes: Math.max(peak, rss().now),
        processPeakRssBytes: rss().peak,
      };
    } finally {
      await backbone.close();
    }
  } finally {
    clearInterval(sampler);
  }
}
