/**
 * The wasm backend's matMul kernels on OpenBLAS, against products computed here in float64, and
 * the data-sharing Identity kernel. The OpenBLAS cases need the addon (built by `pnpm install`
 * where libopenblas-dev is present); CI sets PTHNET_REQUIRE_NATIVE_GEMM=1 so that they cannot
 * silently drop out there.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededUniform } from '../random/index.js';
import { describeBackend, selectBackend } from './backend.js';
import {
  disableNativeGemm,
  enableNativeGemm,
  loadAddon,
  nativeGemmStatus,
  openBlasCoreForCpuInfo,
  transposedMatMulIsFast,
} from './native-gemm.js';

const addon = loadAddon();
const required = process.env.PTHNET_REQUIRE_NATIVE_GEMM === '1';
// PTHNET_NATIVE_GEMM=0 switches the addon off even where it is built: those runs test the wasm kernels
const enabled = process.env.PTHNET_NATIVE_GEMM !== '0';

function randomTensor(shape: number[], seed: number): tf.Tensor {
  const rng = seededUniform(seed);
  const size = shape.reduce((n, d) => n * d, 1);
  return tf.tensor(
    Float32Array.from({ length: size }, () => rng() * 2 - 1),
    shape,
    'float32',
  );
}

/** `op(a) op(b)` per batch in float64, with the batch broadcast as tfjs does (all-or-one). */
function referenceMatMul(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): { shape: number[]; data: Float64Array } {
  const [ra, rb] = [a.rank, b.rank];
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const batchA = a.size / (m * k);
  const batchB = b.size / (k * n);
  const batch = Math.max(batchA, batchB);
  const av = a.dataSync();
  const bv = b.dataSync();
  const out = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const oa = (batchA === 1 ? 0 : p) * m * k;
    const ob = (batchB === 1 ? 0 : p) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let l = 0; l < k; l++) sum += av[oa + (transposeA ? l * m + i : i * k + l)]! * bv[ob + (transposeB ? j * k + l : l * n + j)]!;
        out[(p * m + i) * n + j] = sum;
      }
    }
  }
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return { shape: [...outer, m, n], data: out };
}

function maxAbsDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  return worst;
}

const CASES: Array<{ name: string; a: number[]; b: number[]; tA: boolean; tB: boolean }> = [
  { name: 'plain', a: [37, 53], b: [53, 29], tA: false, tB: false },
  { name: 'transposed a', a: [53, 37], b: [53, 29], tA: true, tB: false },
  { name: 'transposed b', a: [37, 53], b: [29, 53], tA: false, tB: true },
  { name: 'both transposed', a: [53, 37], b: [29, 53], tA: true, tB: true },
  { name: 'batched', a: [3, 2, 9, 13], b: [3, 2, 13, 5], tA: false, tB: false },
  { name: 'a broadcast over the batch', a: [9, 13], b: [4, 13, 5], tA: false, tB: false },
  { name: 'b broadcast over the batch', a: [4, 9, 13], b: [1, 5, 13], tA: false, tB: true },
  { name: 'batch shapes of different rank', a: [4, 9, 13], b: [1, 4, 13, 5], tA: false, tB: false },
  { name: 'an empty product', a: [0, 13], b: [13, 5], tA: false, tB: false },
  { name: 'no inner dimension', a: [3, 0], b: [0, 4], tA: false, tB: false },
];

describe.skipIf(addon === null || !enabled)('wasm matMul on OpenBLAS', () => {
  beforeAll(async () => {
    const selected = await selectBackend('wasm');
    expect(selected.gemm).toMatchObject({ active: true, threads: expect.any(Number) });
    expect(describeBackend(selected)).toMatch(/^wasm \+ OpenBLAS [\d.]+ sgemm \(\w+, \d+ threads?\)$/);
  });

  afterAll(() => {
    // leave the kernels swapped for the other tests of this file's process
    enableNativeGemm();
  });

  it.each(CASES)('matches a float64 product: $name', ({ a: aShape, b: bShape, tA, tB }) => {
    const a = randomTensor(aShape, 1);
    const b = randomTensor(bShape, 2);
    const want = referenceMatMul(a, b, tA, tB);
    const got = tf.matMul(a, b, tA, tB);
    expect(got.shape).toEqual(want.shape);
    expect(maxAbsDiff(got.dataSync(), want.data)).toBeLessThan(1e-5);
    tf.dispose([a, b, got]);
  });

  it('adds a fused bias, and leaves an activation to the wasm kernel, with the same values', () => {
    const a = randomTensor([1, 40, 24], 3);
    const b = randomTensor([1, 24, 16], 4);
    const bias = randomTensor([16], 5);
    const product = referenceMatMul(a, b, false, false).data;
    const biasValues = bias.dataSync();
    const withBias = product.map((v, i) => v + biasValues[i % 16]!);
    const fused = tf.fused.matMul({ a, b, bias });
    expect(maxAbsDiff(fused.dataSync(), withBias)).toBeLessThan(1e-5);
    const relu = tf.fused.matMul({ a, b, bias, activation: 'relu' });
    expect(
      maxAbsDiff(
        relu.dataSync(),
        withBias.map((v) => Math.max(0, v)),
      ),
    ).toBeLessThan(1e-5);
    tf.dispose([a, b, bias, fused, relu]);
  });

  it('makes transposed products cheap, so the network needs no explicit transposes', () => {
    expect(transposedMatMulIsFast()).toBe(true);
    disableNativeGemm();
    expect(transposedMatMulIsFast()).toBe(false);
    enableNativeGemm();
    expect(transposedMatMulIsFast()).toBe(true);
  });

  it('can be switched off and on, and says so', () => {
    disableNativeGemm();
    expect(nativeGemmStatus()).toEqual({ active: false, reason: 'not enabled' });
    expect(enableNativeGemm(1)).toMatchObject({ active: true, threads: 1 });
  });

  it('refuses sizes its arrays cannot hold, naming the argument, before touching memory', () => {
    const gemm = addon!;
    const f = (n: number) => new Float32Array(n);
    expect(() => gemm.gemm(false, false, 1, 4, 4, 4, f(16), 0, f(16), 0, f(15), null)).toThrow(/out: expected at least 16 values, got 15/);
    expect(() => gemm.gemm(false, false, 2, 4, 4, 4, f(16), 16, f(16), 0, f(32), null)).toThrow(/a: expected at least 32 values, got 16/);
    expect(() => gemm.gemm(false, false, 1, 4, 4, 4, f(16), 0, f(16), 0, f(16), f(3))).toThrow(/bias: expected at least 4 values, got 3/);
    expect(() => gemm.gemm(false, false, 1, 4, 4, 4, new Float64Array(16) as unknown as Float32Array, 0, f(16), 0, f(16), null)).toThrow(
      /a: expected a Float32Array/,
    );
    expect(() => gemm.gemm(false, false, -1, 4, 4, 4, f(16), 0, f(16), 0, f(16), null)).toThrow(/batch: expected a non-negative integer/);
  });
});

describe('the OpenBLAS core picked where the environment names none', () => {
  const cpu = (vendor: string, family: number, flags: string) =>
    `processor\t: 0\nvendor_id\t: ${vendor}\ncpu family\t: ${family}\nflags\t\t: fpu sse2 ${flags}\n\nprocessor\t: 1\n`;
  const avx512 = 'avx2 fma avx512f avx512dq avx512bw avx512vl';

  it('takes SkylakeX for AVX-512, but Haswell on AMD family 0x19 (Zen 4 runs AVX-512 at half width)', () => {
    expect(openBlasCoreForCpuInfo(cpu('GenuineIntel', 6, avx512))).toBe('SkylakeX');
    expect(openBlasCoreForCpuInfo(cpu('AuthenticAMD', 25, avx512))).toBe('Haswell');
    expect(openBlasCoreForCpuInfo(cpu('AuthenticAMD', 26, avx512))).toBe('SkylakeX');
    expect(openBlasCoreForCpuInfo(cpu('GenuineIntel', 6, 'avx2 fma'))).toBe('Haswell');
    expect(openBlasCoreForCpuInfo(cpu('GenuineIntel', 6, 'sse4_2'))).toBeUndefined();
    expect(openBlasCoreForCpuInfo('')).toBeUndefined();
  });
});

describe('the native matMul where CI requires it', () => {
  it.runIf(required)('is built and loads (PTHNET_REQUIRE_NATIVE_GEMM=1)', () => {
    expect(addon, 'packages/shared/native/build.log says why the addon did not build').not.toBeNull();
  });

  it('falls back to the wasm kernels with a reason when switched off', async () => {
    process.env.PTHNET_NATIVE_GEMM = '0';
    try {
      disableNativeGemm();
      const selected = await selectBackend('wasm');
      expect(selected.gemm).toEqual({ active: false, reason: 'PTHNET_NATIVE_GEMM=0' });
      expect(describeBackend(selected)).toBe('wasm (own matMul: PTHNET_NATIVE_GEMM=0)');
      const product = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
      expect(Array.from(product.dataSync())).toEqual([11]);
    } finally {
      if (enabled) delete process.env.PTHNET_NATIVE_GEMM;
    }
  });
});

describe('wasm Identity shares the data', () => {
  it('clones without copying, and the clone outlives its source', async () => {
    await selectBackend('wasm');
    const x = tf.tensor1d([1, 2, 3]);
    const buffers = tf.memory().numDataBuffers;
    const copy = tf.clone(x);
    expect(tf.memory().numDataBuffers).toBe(buffers);
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
    copy.dispose();
    expect(tf.memory().numDataBuffers).toBe(buffers - 1);
  });

  it('keeps the saved inputs of a gradient intact', async () => {
    await selectBackend('wasm');
    // customGrad saves its input through Identity; the input is then disposed before backprop
    const square = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [t, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([t]);
      return { value: tf.mul(t, t), gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.mul(dy, tf.mul(saved!, 2)) };
    });
    const x = tf.tensor1d([0.5, -1, 2]);
    const { value, grads } = tf.valueAndGrads((t: tf.Tensor) => {
      const y = square(t);
      x.dispose();
      return y;
    })([x]);
    expect(Array.from(grads[0]!.dataSync())).toEqual([1, -2, 4]);
    tf.dispose([value, ...grads]);
  });
});
