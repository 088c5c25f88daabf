/**
 * The wasm backend's matMuls on OpenBLAS. tfjs-backend-wasm multiplies with 128-bit wasm SIMD
 * (about 24 GFLOP/s per core here) and in one thread; OpenBLAS's sgemm does about 105 GFLOP/s per
 * core here, and the addon splits each product over its threads. The wasm heap is an ordinary
 * ArrayBuffer, so the native `gemm` reads the operands and writes the product in place: the
 * BatchMatMul and _FusedMatMul kernels of the wasm backend are swapped for ones that call it. The
 * same addon carries PTH-Net's layer kernels (native-kernels.ts); every other op stays wasm.
 *
 * The addon (`packages/shared/native`) is built by `pnpm install` where libopenblas-dev and a C
 * compiler are present; without it, or with `PTHNET_NATIVE_GEMM=0`, the wasm kernels run as shipped.
 */
// biome-ignore-all lint/style/noNonNullAssertion: nativeMatMul reads a.shape and b.shape at rank - 1 and rank - 2 only after checking both ranks are >= 2, and loadAddon returns null only after setting loadError; noUncheckedIndexedAccess and narrowing cannot see that
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { isWasmKernelSwapped, restoreWasmKernel, swapWasmKernel } from './kernel-swaps.js';
import { registerNativeKernels, unregisterNativeKernels } from './native-kernels.js';
import { NATIVE_GEMM_ADDON, NATIVE_GEMM_DISABLE_ENV, OPENBLAS_CORE_BY_CPU_FLAGS } from './constants.js';
import type { NativeGemmAddon, NativeGemmStatus } from './types.js';

const requireFromHere = createRequire(import.meta.url);
const KERNELS = ['BatchMatMul', '_FusedMatMul'] as const;

let addon: NativeGemmAddon | null = null;
let loadError: string | null = null;

/** The OpenBLAS core `OPENBLAS_CORE_BY_CPU_FLAGS` picks for a CPU described by /proc/cpuinfo's text (its first processor). */
export function openBlasCoreForCpuInfo(cpuinfo: string): string | undefined {
  const field = (name: string): string | undefined =>
    cpuinfo
      .split('\n')
      .find((l) => l.split(':')[0]?.trim() === name)
      ?.split(':')[1]
      ?.trim();
  const flags = new Set(field('flags')?.split(/\s+/) ?? []);
  const vendor = field('vendor_id');
  const family = Number(field('cpu family'));
  return OPENBLAS_CORE_BY_CPU_FLAGS.find(
    (c) =>
      c.flags.every((f) => flags.has(f)) &&
      (c.vendor === undefined || c.vendor === vendor) &&
      (c.family === undefined || c.family === family),
  )?.core;
}

/**
 * OpenBLAS 0.3.21 (Debian 12) does not recognise CPUs newer than Cooper Lake and falls back to
 * its SSE3 kernels, 4x slower; where the user has not chosen, pick the core from the CPU.
 * It must be in the environment before the library loads.
 */
function chooseOpenBlasCore(): void {
  if (process.env.OPENBLAS_CORETYPE !== undefined || process.platform !== 'linux' || process.arch !== 'x64') return;
  let cpuinfo: string;
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return;
  }
  const core = openBlasCoreForCpuInfo(cpuinfo);
  if (core !== undefined) process.env.OPENBLAS_CORETYPE = core;
}

/** Native threads for each of `workers` threads that compute at the same time: they share the cores. */
export function gemmThreadsPerWorker(workers: number): number {
  return Math.max(1, Math.floor(os.availableParallelism() / workers));
}

/**
 * Loads the addon in this thread ahead of worker threads that will use it. OpenBLAS picks its
 * kernels from the environment once, when the first thread loads it, and a worker thread's
 * `process.env` is its own copy: only the main thread can set what the library reads.
 */
export function preloadNativeGemm(): void {
  if (process.env[NATIVE_GEMM_DISABLE_ENV] !== '0') loadAddon();
}

/** The addon, loaded once per thread; null (with `loadError` set) where it is not built or cannot load. */
export function loadAddon(): NativeGemmAddon | null {
  if (addon !== null || loadError !== null) return addon;
  const file = new URL(NATIVE_GEMM_ADDON, import.meta.url);
  if (!existsSync(file)) {
    loadError = `native GEMM addon not built (${file.pathname}; needs libopenblas-dev and a C compiler at pnpm install)`;
    return null;
  }
  chooseOpenBlasCore();
  try {
    addon = requireFromHere(file.pathname) as NativeGemmAddon;
  } catch (error) {
    loadError = `native GEMM addon failed to load: ${error instanceof Error ? error.message : String(error)}`;
  }
  return addon;
}

/** What the swapped kernels need of tfjs-backend-wasm's backend object (public on the class). */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

function product(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

/**
 * `a x b` (+ bias) on OpenBLAS, or null for what it does not cover (non-float32, an activation,
 * a bias that is not one value per output column, batch shapes that broadcast other than
 * all-or-one), which the original wasm kernel then runs.
 */
function nativeMatMul(
  gemm: NativeGemmAddon,
  backend: WasmHeapBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias?: tf.TensorInfo,
): tf.TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const rankA = a.shape.length;
  const rankB = b.shape.length;
  const m = transposeA ? a.shape[rankA - 1]! : a.shape[rankA - 2]!;
  const k = transposeA ? a.shape[rankA - 2]! : a.shape[rankA - 1]!;
  const kB = transposeB ? b.shape[rankB - 1]! : b.shape[rankB - 2]!;
  const n = transposeB ? b.shape[rankB - 2]! : b.shape[rankB - 1]!;
  if (k !== kB) return null;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = product(outerA);
  const batchB = product(outerB);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  let outer: number[];
  try {
    outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return null;
  }
  const batch = Math.max(batchA, batchB);
  // e.g. [4, 1] against [1, 4]: broadcasting makes more products than either side holds
  if (product(outer) !== batch) return null;
  if (bias !== undefined && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== n)) return null;
  const out = backend.makeOutput([...outer, m, n], 'float32');
  // views after makeOutput: an allocation may have grown (and so replaced) the heap buffer
  gemm.gemm(
    transposeA,
    transposeB,
    batch,
    m,
    n,
    k,
    backend.typedArrayFromHeap(a),
    batchA === 1 ? 0 : m * k,
    backend.typedArrayFromHeap(b),
    batchB === 1 ? 0 : k * n,
    backend.typedArrayFromHeap(out),
    bias === undefined ? null : backend.typedArrayFromHeap(bias),
  );
  return out;
}

function gemmKernel(name: (typeof KERNELS)[number], original: tf.KernelConfig, gemm: NativeGemmAddon): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs } = args;
    const backend = args.backend as unknown as WasmHeapBackend;
    const { transposeA, transposeB, activation } = attrs as { transposeA: boolean; transposeB: boolean; activation?: string };
    const { a, b, bias, preluActivationWeights } = inputs as Record<string, tf.TensorInfo | undefined>;
    const plain = name === 'BatchMatMul' || ((activation ?? 'linear') === 'linear' && preluActivationWeights == null);
    const out = plain && a && b ? nativeMatMul(gemm, backend, a, b, transposeA, transposeB, bias ?? undefined) : null;
    return out ?? original.kernelFunc(args);
  };
}

/**
 * Swaps the wasm backend's matMul kernels for OpenBLAS ones and registers the native layer
 * kernels (native-kernels.ts), idempotent, with `threads` threads (this one included) for this
 * thread's products and kernels. Call after the wasm backend is initialised. Returns what runs.
 */
export function enableNativeGemm(threads: number = os.availableParallelism()): NativeGemmStatus {
  if (process.env[NATIVE_GEMM_DISABLE_ENV] === '0') return { active: false, reason: `${NATIVE_GEMM_DISABLE_ENV}=0` };
  const gemm = loadAddon();
  if (gemm === null) return { active: false, reason: loadError! };
  gemm.setThreads(threads);
  try {
    for (const name of KERNELS) swapWasmKernel(name, (original) => gemmKernel(name, original, gemm));
    registerNativeKernels(gemm);
  } catch (error) {
    disableNativeGemm();
    return { active: false, reason: error instanceof Error ? error.message : String(error) };
  }
  return nativeGemmStatus();
}

/** Puts the wasm backend's own matMul kernels back and removes the native layer kernels. */
export function disableNativeGemm(): void {
  for (const name of KERNELS) restoreWasmKernel(name);
  unregisterNativeKernels();
}

/** Whether the wasm backend's matMuls currently run on OpenBLAS, with what, or why not. */
export function nativeGemmStatus(): NativeGemmStatus {
  if (!KERNELS.every(isWasmKernelSwapped) || addon === null) {
    return {
      active: false,
      reason: loadError ?? (process.env[NATIVE_GEMM_DISABLE_ENV] === '0' ? `${NATIVE_GEMM_DISABLE_ENV}=0` : 'not enabled'),
    };
  }
  const { config, core, threads } = addon.info();
  return { active: true, library: config.split(' ').slice(0, 2).join(' '), core, threads };
}

/**
 * Whether `matMul(a, b, transposeA, transposeB)` runs as fast as a plain one on the active
 * backend. Not on the wasm backend's own kernel, which leaves XNNPACK for a scalar loop on any
 * transposed or batched product; on OpenBLAS and the other backends a transpose is free.
 */
export function transposedMatMulIsFast(): boolean {
  return tf.getBackend() !== 'wasm' || KERNELS.every(isWasmKernelSwapped);
}
