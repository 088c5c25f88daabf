import os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName, SelectedBackend } from 'shared';
import {
  AUTO_ORDER,
  ConfigError,
  NATIVE_GEMM_DISABLE_ENV,
  describeActiveBackend,
  disableNativeGemm,
  seededUniform,
  selectBackend,
} from 'shared';
import { SGD } from '../optim/sgd.js';
import { hostBatchTensors } from '../parallel/host-batch.js';
import { DataParallelPthNet } from '../parallel/data-parallel.js';
import type { HostPyramidBatch } from '../parallel/types.js';
import { pthnetLevelLengths } from '../pthnet/config.js';
import { DEFAULT_PTHNET_CONFIG } from '../pthnet/constants.js';
import { createPthNet } from '../pthnet/pthnet.js';
import { trainStep } from '../pthnet/train-step.js';
import { DEFAULT_BENCH_OPTIONS } from './constants.js';
import type { BackendResult, BenchOptions, BenchReport, BestResult, PhaseResult } from './types.js';

/** Reads `--backends wasm,cpu --seconds 5 --batch 32 --workers 2 --slow-step-seconds 20 --seed 0 --profile --native-only`. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      backends: { type: 'string' },
      seconds: { type: 'string' },
      batch: { type: 'string' },
      workers: { type: 'string' },
      'slow-step-seconds': { type: 'string' },
      seed: { type: 'string' },
      profile: { type: 'boolean' },
      'native-only': { type: 'boolean' },
    },
    strict: true,
  });
  const number = (key: string, raw: string | undefined, fallback: number, min: number, integer: boolean): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      throw new ConfigError(`bench --${key}: expected ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(raw)}`);
    }
    return value;
  };
  let backends = DEFAULT_BENCH_OPTIONS.backends;
  if (values.backends !== undefined) {
    const names = values.backends
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    const unknown = names.find((n) => !(AUTO_ORDER as readonly string[]).includes(n));
    if (unknown !== undefined || names.length === 0) {
      throw new ConfigError(
        `bench --backends: expected a comma-separated list of ${AUTO_ORDER.join(', ')}, got ${JSON.stringify(values.backends)}`,
      );
    }
    backends = names as BackendName[];
  }
  return {
    backends,
    seconds: number('seconds', values.seconds, DEFAULT_BENCH_OPTIONS.seconds, 0, false),
    batch: number('batch', values.batch, DEFAULT_BENCH_OPTIONS.batch, 1, true),
    workers: number('workers', values.workers, DEFAULT_BENCH_OPTIONS.workers, 0, true),
    slowStepSeconds: number('slow-step-seconds', values['slow-step-seconds'], DEFAULT_BENCH_OPTIONS.slowStepSeconds, 0, false),
    seed: number('seed', values.seed, DEFAULT_BENCH_OPTIONS.seed, 0, true),
    profile: values.profile ?? DEFAULT_BENCH_OPTIONS.profile,
    nativeOnly: values['native-only'] ?? DEFAULT_BENCH_OPTIONS.nativeOnly,
  };
}

/** A full-length batch of the FERV39k shapes: Gaussian features, every mask step real. */
export function makeBenchBatch(batch: number, nIn: number, seed: number): { inputs: HostPyramidBatch; labels: Int32Array } {
  const random = seededUniform(seed);
  const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const features = (steps: number) => ({ shape: [batch, nIn, steps], data: Float32Array.from({ length: batch * nIn * steps }, gaussian) });
  const mask = (steps: number) => ({ shape: [batch, 1, steps], data: new Uint8Array(batch * steps).fill(1) });
  const { H, M, L } = pthnetLevelLengths(DEFAULT_PTHNET_CONFIG);
  return {
    inputs: { x_L: features(L), x_M: features(M), x_H: features(H), m_L: mask(L), m_M: mask(M), m_H: mask(H) },
    labels: Int32Array.from({ length: batch }, (_, i) => i % DEFAULT_PTHNET_CONFIG.num_classes),
  };
}

/** Warm-up once, then repeats `run` for `seconds` (a slow warm-up is the only sample). */
async function measure(run: () => Promise<void> | void, batch: number, seconds: number, slowStepSeconds: number): Promise<PhaseResult> {
  const cpuSeconds = (since: NodeJS.CpuUsage): number => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1e6;
  };
  const warmStart = performance.now();
  const warmCpu = process.cpuUsage();
  await run();
  const warmMs = performance.now() - warmStart;
  if (warmMs / 1000 > slowStepSeconds) {
    return { clipsPerSecond: (batch * 1000) / warmMs, msPerBatch: warmMs, batches: 0, cpuSecondsPerBatch: cpuSeconds(warmCpu) };
  }
  let batches = 0;
  const start = performance.now();
  const startCpu = process.cpuUsage();
  do {
    await run();
    batches++;
  } while (performance.now() - start < seconds * 1000);
  const ms = (performance.now() - start) / batches;
  return { clipsPerSecond: (batch * 1000) / ms, msPerBatch: ms, batches, cpuSecondsPerBatch: cpuSeconds(startCpu) / batches };
}

async function benchInProcess(
  backend: BackendName,
  options: BenchOptions,
  data: ReturnType<typeof makeBenchBatch>,
): Promise<BackendResult> {
  const model = createPthNet({}, { seed: options.seed });
  const optimizer = new SGD(model.namedVariables(), { lr: 0.005, momentum: 0.9, weightDecay: 1e-4 });
  const batch = hostBatchTensors(data.inputs);
  const labels = tf.tensor1d(data.labels, 'int32');
  try {
    const train = await measure(
      () => {
        trainStep(model, optimizer, batch, labels, { training: true });
      },
      options.batch,
      options.seconds,
      options.slowStepSeconds,
    );
    const evaluate = await measure(
      async () => {
        const logits = model.predict(batch.x_H, batch.m_H);
        await logits.data();
        logits.dispose();
      },
      options.batch,
      options.seconds,
      options.slowStepSeconds,
    );
    return { backend, detail: describeActiveBackend(), mode: 'in-process', threads: 1, train, eval: evaluate };
  } finally {
    tf.dispose([...Object.values(batch), labels]);
    optimizer.dispose();
    model.dispose();
  }
}

async function benchParallel(backend: BackendName, options: BenchOptions, data: ReturnType<typeof makeBenchBatch>): Promise<BackendResult> {
  const pool = await DataParallelPthNet.create({
    workers: options.workers,
    backend,
    seed: options.seed,
    optimizer: { lr: 0.005, momentum: 0.9, weightDecay: 1e-4 },
  });
  try {
    const train = await measure(
      async () => {
        await pool.trainStep(data.inputs, data.labels, { training: true });
      },
      options.batch,
      options.seconds,
      options.slowStepSeconds,
    );
    const evaluate = await measure(
      async () => {
        await pool.predict(data.inputs.x_H, data.inputs.m_H);
      },
      options.batch,
      options.seconds,
      options.slowStepSeconds,
    );
    return { backend, detail: pool.backendDetail, mode: 'data-parallel', threads: options.workers, train, eval: evaluate };
  } finally {
    await pool.dispose();
  }
}

/**
 * Training (forward + backward + SGD, all three levels) and inference (level H) throughput of the
 * full FERV39k PTH-Net at batch `options.batch`, for every backend that loads: in process, and
 * data-parallel on `options.workers` worker threads where that is more than one.
 */
export async function runPthNetBenchmark(options: BenchOptions): Promise<BenchReport> {
  const data = makeBenchBatch(options.batch, DEFAULT_PTHNET_CONFIG.n_in, options.seed + 1);
  const results: BackendResult[] = [];
  const skipped: BenchReport['skipped'] = [];
  const gemmSetting = process.env[NATIVE_GEMM_DISABLE_ENV];
  for (const backend of options.backends) {
    // wasm twice: with its own kernels, then on the native addon where it is built
    for (const nativeGemm of backend === 'wasm' ? (options.nativeOnly ? [true] : [false, true]) : [null]) {
      if (nativeGemm !== null) process.env[NATIVE_GEMM_DISABLE_ENV] = nativeGemm ? '1' : '0';
      let selected: SelectedBackend;
      try {
        selected = await selectBackend(backend);
      } catch (error) {
        skipped.push({ backend, reason: error instanceof Error ? error.message : String(error) });
        break;
      }
      if (nativeGemm === false) disableNativeGemm();
      if (nativeGemm === true && selected.gemm?.active !== true) {
        skipped.push({ backend, reason: `OpenBLAS matMul: ${selected.gemm?.active === false ? selected.gemm.reason : 'unavailable'}` });
        continue;
      }
      results.push(await benchInProcess(backend, options, data));
      // the workers read the environment they start with
      if (options.workers > 1) results.push(await benchParallel(backend, options, data));
    }
  }
  if (gemmSetting === undefined) delete process.env[NATIVE_GEMM_DISABLE_ENV];
  else process.env[NATIVE_GEMM_DISABLE_ENV] = gemmSetting;
  const model = createPthNet();
  const parameters = model.parameterCount;
  model.dispose();
  const best = bestOf(results);
  return {
    benchmark: 'pthnet-throughput',
    config: 'ferv39k',
    parameters,
    batch: options.batch,
    levelLengths: pthnetLevelLengths(DEFAULT_PTHNET_CONFIG),
    seconds: options.seconds,
    node: process.version,
    cpus: os.availableParallelism(),
    results,
    ...(best ? { best } : {}),
    skipped,
  };
}

/** The fastest configuration for training and for inference. */
export function bestOf(results: readonly BackendResult[]): BenchReport['best'] {
  if (results.length === 0) return undefined;
  const pick = (phase: 'train' | 'eval'): BestResult => {
    const top = results.reduce((a, b) => (b[phase].clipsPerSecond > a[phase].clipsPerSecond ? b : a));
    return { clipsPerSecond: top[phase].clipsPerSecond, backend: top.backend, detail: top.detail, mode: top.mode, threads: top.threads };
  };
  return { train: pick('train'), eval: pick('eval') };
}

/** The report as a few lines: every configuration, then the best for training and for inference. */
export function formatBenchReport(report: BenchReport): string {
  const label = (r: { detail: string; mode: BackendResult['mode']; threads: number }) =>
    `${r.detail}, ${r.mode === 'in-process' ? 'in process' : `${r.threads} workers`}`;
  const lines = [`PTH-Net ${report.config}, batch ${report.batch}, clips/s (training / inference):`];
  for (const r of report.results) {
    lines.push(`  ${r.train.clipsPerSecond.toFixed(1).padStart(7)} / ${r.eval.clipsPerSecond.toFixed(1).padStart(7)}  ${label(r)}`);
  }
  if (report.best) {
    lines.push(`best training:  ${report.best.train.clipsPerSecond.toFixed(1)} clips/s (${label(report.best.train)})`);
    lines.push(`best inference: ${report.best.eval.clipsPerSecond.toFixed(1)} clips/s (${label(report.best.eval)})`);
  }
  for (const { backend, reason } of report.skipped) lines.push(`${backend}: skipped (${reason})`);
  return lines.join('\n');
}
