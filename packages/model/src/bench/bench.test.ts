import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from 'shared';
import { describe, expect, it } from 'vitest';
import { bestOf, formatBenchReport, makeBenchBatch, parseBenchArgs } from './bench.js';
import { DEFAULT_BENCH_OPTIONS } from './constants.js';
import { formatProfile, runPthNetProfile } from './profile.js';
import type { BackendResult, BenchReport } from './types.js';

const TINY = { n_in: 12, n_embd: 16, mlp_dim: 8 };

describe('model benchmark', () => {
  it('defaults to batch 32, 5 s per phase, 2 workers, every backend', () => {
    expect(parseBenchArgs([])).toEqual(DEFAULT_BENCH_OPTIONS);
    expect(DEFAULT_BENCH_OPTIONS).toMatchObject({ batch: 32, seconds: 5, workers: 2, backends: ['node-gpu', 'node', 'wasm', 'cpu'] });
    expect(parseBenchArgs(['--backends', 'wasm,cpu', '--seconds', '1.5', '--workers', '0'])).toMatchObject({
      backends: ['wasm', 'cpu'],
      seconds: 1.5,
      workers: 0,
    });
  });

  it('rejects bad flags naming them', () => {
    expect(() => parseBenchArgs(['--batch', '0'])).toThrow('bench --batch: expected an integer >= 1, got "0"');
    expect(() => parseBenchArgs(['--backends', 'tpu'])).toThrow(ConfigError);
    expect(() => parseBenchArgs(['--seconds', 'x'])).toThrow('bench --seconds: expected a number >= 0, got "x"');
  });

  it('builds full-length levels (H 16, M 8, L 4) with every step real', () => {
    const { inputs, labels } = makeBenchBatch(3, 5, 1);
    expect([inputs.x_H.shape, inputs.x_M.shape, inputs.x_L.shape]).toEqual([
      [3, 5, 16],
      [3, 5, 8],
      [3, 5, 4],
    ]);
    expect([inputs.m_H.shape, inputs.m_L.shape]).toEqual([
      [3, 1, 16],
      [3, 1, 4],
    ]);
    expect(Array.from(inputs.m_M.data).every((v) => v === 1)).toBe(true);
    expect(Array.from(labels)).toEqual([0, 1, 2]);
    const again = makeBenchBatch(3, 5, 1);
    expect(Array.from(again.inputs.x_H.data)).toEqual(Array.from(inputs.x_H.data));
  });
});

describe('model benchmark report', () => {
  const phase = (clipsPerSecond: number) => ({ clipsPerSecond, msPerBatch: 32_000 / clipsPerSecond, batches: 3, cpuSecondsPerBatch: 0.1 });
  const results: BackendResult[] = [
    {
      backend: 'wasm',
      detail: 'wasm (own matMul: PTHNET_NATIVE_GEMM=0)',
      mode: 'in-process',
      threads: 1,
      train: phase(15),
      eval: phase(90),
    },
    { backend: 'wasm', detail: 'wasm + OpenBLAS', mode: 'in-process', threads: 1, train: phase(96), eval: phase(540) },
    { backend: 'wasm', detail: 'wasm + OpenBLAS', mode: 'data-parallel', threads: 2, train: phase(71), eval: phase(550) },
  ];

  it('reads --native-only', () => {
    expect(parseBenchArgs([]).nativeOnly).toBe(false);
    expect(parseBenchArgs(['--native-only']).nativeOnly).toBe(true);
  });

  it('names the fastest configuration of each phase, which may differ', () => {
    expect(bestOf(results)).toEqual({
      train: { clipsPerSecond: 96, backend: 'wasm', detail: 'wasm + OpenBLAS', mode: 'in-process', threads: 1 },
      eval: { clipsPerSecond: 550, backend: 'wasm', detail: 'wasm + OpenBLAS', mode: 'data-parallel', threads: 2 },
    });
    expect(bestOf([])).toBeUndefined();
  });

  it('prints every configuration and the best ones', () => {
    const report = { config: 'ferv39k', batch: 32, results, best: bestOf(results), skipped: [{ backend: 'cpu', reason: 'not asked' }] };
    const text = formatBenchReport(report as unknown as BenchReport);
    expect(text).toContain('     96.0 /   540.0  wasm + OpenBLAS, in process');
    expect(text).toContain('best training:  96.0 clips/s (wasm + OpenBLAS, in process)');
    expect(text).toContain('best inference: 550.0 clips/s (wasm + OpenBLAS, 2 workers)');
    expect(text).toContain('cpu: skipped (not asked)');
  });
});

describe('model profile', () => {
  it('reads --profile', () => {
    expect(parseBenchArgs(['--profile']).profile).toBe(true);
  });

  it('times every kernel of a training step by phase and of an inference batch, sorted by time', async () => {
    const report = await runPthNetProfile({ ...DEFAULT_BENCH_OPTIONS, backends: ['cpu'], batch: 2, profile: true }, TINY);
    expect(report.results.map((r) => r.backend)).toEqual(['cpu']);
    const [result] = report.results;
    if (result === undefined) throw new Error('no profile');
    expect(result.train.phases.map((p) => p.phase)).toEqual(['forward', 'backward', 'optimizer']);
    expect(result.eval.phases.map((p) => p.phase)).toEqual(['inference']);
    for (const run of [result.train, result.eval]) {
      const total = run.phases.reduce((n, p) => n + p.wallMs, 0);
      expect(total).toBeCloseTo(run.profiledWallMs, 6);
      for (const phase of run.phases) expect(phase.kernelMs + phase.outsideKernelsMs).toBeCloseTo(phase.wallMs, 6);
      // rows sum to the phases' kernel time, sorted by time, each a registered kernel
      expect(run.rows.reduce((n, r) => n + r.ms, 0)).toBeCloseTo(
        run.phases.reduce((n, p) => n + p.kernelMs, 0),
        6,
      );
      expect(run.rows.map((r) => r.ms)).toEqual([...run.rows.map((r) => r.ms)].sort((a, b) => b - a));
      for (const row of run.rows) expect(tf.getKernel(row.kernel, 'cpu')).toBeDefined();
      expect(run.wallMs).toBeGreaterThan(0);
    }
    const kernels = (phase: string) => new Set(result.train.rows.filter((r) => r.phase === phase).map((r) => r.kernel));
    // the forward and backward passes multiply matrices; the update runs on the host (no kernels)
    expect(kernels('forward').has('_FusedMatMul')).toBe(true);
    expect(kernels('backward').has('BatchMatMul')).toBe(true);
    expect(kernels('optimizer').size).toBe(0);
    expect(result.train.phases.find((p) => p.phase === 'backward')?.kernelCalls).toBeGreaterThan(0);
    const text = formatProfile(report);
    expect(text).toContain('training step');
    expect(text).toContain('inference batch');
    expect(text).toMatch(/_FusedMatMul\s+forward\s+\d+\s+[\d.]+\s+[\d.]+%/);
  });
});
