/**
 * The native layer kernels against float64 references written here: each forward kernel, and each
 * gradient kernel through tfjs's gradient machinery against the float64 analytic gradient, itself
 * spot-checked by central differences of the float64 forward. Results must be the same, bit for
 * bit, with one thread and with several; bad sizes must be refused before memory is touched. The
 * cases need the addon (CI requires it: PTHNET_REQUIRE_NATIVE_GEMM=1).
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededUniform } from '../random/index.js';
import { selectBackend } from './backend.js';
import { disableNativeGemm, enableNativeGemm, loadAddon } from './native-gemm.js';
import {
  nativeAttention,
  nativeDepthwise,
  nativeGate,
  nativeGelu,
  nativeGroupNorm,
  nativeKernelsActive,
  nativeLinear,
  nativeMaxPool,
  nativeResidual,
  nativeSgdStep,
  nativeTapSum,
} from './native-kernels.js';

const addon = loadAddon();
// PTHNET_NATIVE_GEMM=0 switches the addon off even where it is built
const enabled = process.env.PTHNET_NATIVE_GEMM !== '0';

type F64 = Float64Array;

function random(size: number, seed: number, scale = 1, offset = 0): F64 {
  const rng = seededUniform(seed);
  return Float64Array.from({ length: size }, () => offset + scale * (rng() * 2 - 1));
}

/** A [B, T, 1] mask: sample b has its first `real[b]` steps. */
function maskOf(b: number, t: number, real: number[]): F64 {
  const m = new Float64Array(b * t);
  for (let i = 0; i < b; i++) for (let s = 0; s < t; s++) m[i * t + s] = s < real[i]! ? 1 : 0;
  return m;
}

function tensor(data: F64, shape: number[]): tf.Tensor {
  return tf.tensor(Float32Array.from(data), shape, 'float32');
}

/** Largest |got - want| relative to the largest |want| (absolute where want is tiny). */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let worst = 0;
  let scale = 1e-3;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  return worst / scale;
}

// ---------- float64 references ----------

function refGroupNorm(x: F64, w: F64, bias: F64, [B, T, C]: number[], groups: number, perStep: boolean, eps: number): F64 {
  const y = new Float64Array(x.length);
  const cg = C! / groups;
  const samples = perStep ? B! * T! : B!;
  const steps = perStep ? 1 : T!;
  for (let n = 0; n < samples; n++) {
    for (let g = 0; g < groups; g++) {
      const at = (s: number, c: number) => (n * steps + s) * C! + g * cg + c;
      let mean = 0;
      for (let s = 0; s < steps; s++) for (let c = 0; c < cg; c++) mean += x[at(s, c)]!;
      mean /= steps * cg;
      let v = 0;
      for (let s = 0; s < steps; s++) for (let c = 0; c < cg; c++) v += (x[at(s, c)]! - mean) ** 2;
      const rstd = 1 / Math.sqrt(v / (steps * cg) + eps);
      for (let s = 0; s < steps; s++)
        for (let c = 0; c < cg; c++) y[at(s, c)] = (x[at(s, c)]! - mean) * rstd * w[g * cg + c]! + bias[g * cg + c]!;
    }
  }
  return y;
}

function refDepthwise(x: F64, w: F64, bias: F64 | null, mask: F64 | null, [B, T, C]: number[], K: number): F64 {
  const y = new Float64Array(x.length);
  const half = (K - 1) / 2;
  for (let b = 0; b < B!; b++)
    for (let t = 0; t < T!; t++)
      for (let c = 0; c < C!; c++) {
        let sum = bias ? bias[c]! : 0;
        for (let j = 0; j < K; j++) {
          const s = t + j - half;
          if (s >= 0 && s < T!) sum += w[j * C! + c]! * x[(b * T! + s) * C! + c]!;
        }
        y[(b * T! + t) * C! + c] = sum * (mask ? mask[b * T! + t]! : 1);
      }
  return y;
}

function refAttention(q: F64, k: F64, v: F64, mask: F64, [B, T, C]: number[], heads: number, scale: number): F64 {
  const out = new Float64Array(q.length);
  const D = C! / heads;
  for (let b = 0; b < B!; b++)
    for (let h = 0; h < heads; h++)
      for (let t = 0; t < T!; t++) {
        const scores = Array.from({ length: T! }, (_, s) => {
          if (mask[b * T! + s] === 0) return -Infinity;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(b * T! + t) * C! + h * D + d]! * scale * k[(b * T! + s) * C! + h * D + d]!;
          return dot;
        });
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const sum = e.reduce((a, x) => a + x, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let s = 0; s < T!; s++) acc += (e[s]! / sum) * v[(b * T! + s) * C! + h * D + d]! * mask[b * T! + s]!;
          out[(b * T! + t) * C! + h * D + d] = acc;
        }
      }
  return out;
}

/** erf to double precision (Abramowitz-Stegun 7.1.26 is too coarse for a reference): series and continued fraction. */
function erf(x: number): number {
  const z = Math.abs(x);
  let result: number;
  if (z < 3) {
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    result = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = 0;
    for (let n = 60; n >= 1; n--) f = n / 2 / (z + f);
    result = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + f);
  }
  return x < 0 ? -result : result;
}

const refGelu = (x: F64): F64 => x.map((v) => v * 0.5 * (1 + erf(v / Math.SQRT2)));

function refTapSum(taps: F64, mask: F64 | null, [B, T, KC]: number[], K: number): F64 {
  const C = KC! / K;
  const out = new Float64Array(B! * T! * C);
  const half = (K - 1) / 2;
  for (let b = 0; b < B!; b++)
    for (let t = 0; t < T!; t++)
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let j = 0; j < K; j++) {
          const s = t + j - half;
          if (s >= 0 && s < T!) sum += taps[(b * T! + s) * KC! + j * C + c]!;
        }
        out[(b * T! + t) * C + c] = sum * (mask ? mask[b * T! + t]! : 1);
      }
  return out;
}

/**
 * Gradient of `sum(f(inputs) * r)` with respect to input `which`, by central differences in
 * float64, at the given indices.
 */
function numericGrad(f: (inputs: F64[]) => F64, inputs: F64[], r: F64, which: number, indices: number[], h = 1e-6): number[] {
  const loss = (xs: F64[]) => f(xs).reduce((a, y, i) => a + y * r[i]!, 0);
  return indices.map((i) => {
    const plus = inputs.map((x) => x.slice());
    const minus = inputs.map((x) => x.slice());
    plus[which]![i]! += h;
    minus[which]![i]! -= h;
    return (loss(plus) - loss(minus)) / (2 * h);
  });
}

/** Gradients of `sum(op(inputs) * r)` through tfjs (the registered gradient of the native kernel, given dy = r). */
function nativeGrads(op: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], r: tf.Tensor): Float32Array[] {
  const grads = tf.grads((...xs: tf.Tensor[]) => op(...xs))(inputs, r);
  const out = grads.map((g) => g.dataSync() as Float32Array);
  tf.dispose(grads);
  return out;
}

/** Runs `fn` with one native thread and with three, expects identical bits, returns them. */
function sameWithThreads(fn: () => Float32Array[]): Float32Array[] {
  enableNativeGemm(1);
  const one = fn();
  enableNativeGemm(3);
  const three = fn();
  expect(three.map((a) => Array.from(a))).toEqual(one.map((a) => Array.from(a)));
  return one;
}

function pick(size: number, count: number, seed: number): number[] {
  const rng = seededUniform(seed);
  return Array.from({ length: count }, () => Math.floor(rng() * size));
}

describe.skipIf(addon === null || !enabled)('native layer kernels on the wasm heap', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
    expect(nativeKernelsActive()).toBe(true);
  });

  afterAll(() => {
    enableNativeGemm();
  });

  describe.each([
    { name: 'layer norm over channels (per step)', shape: [3, 5, 24], groups: 1, perStep: true },
    { name: 'group norm, 4 groups of 5 channels over all steps', shape: [3, 7, 20], groups: 4, perStep: false },
    { name: 'group norm, large enough to split over threads', shape: [8, 16, 64], groups: 16, perStep: false },
    { name: 'layer norm, one step, large', shape: [512, 1, 96], groups: 1, perStep: true },
  ])('groupNorm: $name', ({ shape, groups, perStep }) => {
    const size = shape.reduce((n, d) => n * d, 1);
    const C = shape[2]!;
    // an offset and a spread per channel, like real activations
    const x = random(size, 1, 2, 0.5);
    const w = random(C, 2, 1, 1);
    const b = random(C, 3, 0.5);
    const r = random(size, 4);
    const eps = 1e-5;
    const forward = ([xx, ww, bb]: F64[]) => refGroupNorm(xx!, ww!, bb!, shape, groups, perStep, eps);

    it('forward matches float64', () => {
      const [got] = sameWithThreads(() => {
        const y = nativeGroupNorm(tensor(x, shape) as tf.Tensor3D, tensor(w, [C]), tensor(b, [C]), { groups, eps, perStep });
        return [y.dataSync() as Float32Array];
      });
      expect(relErr(got!, forward([x, w, b]))).toBeLessThan(2e-6);
    });

    it('gradients match float64 central differences', () => {
      const grads = sameWithThreads(() =>
        nativeGrads(
          (xx, ww, bb) => nativeGroupNorm(xx as tf.Tensor3D, ww!, bb!, { groups, eps, perStep }),
          [tensor(x, shape), tensor(w, [C]), tensor(b, [C])],
          tensor(r, shape),
        ),
      );
      for (const [which, n] of [
        [0, size],
        [1, C],
        [2, C],
      ] as const) {
        const indices = pick(n, 12, 10 + which);
        const want = numericGrad(forward, [x, w, b], r, which, indices);
        const got = indices.map((i) => grads[which]![i]!);
        expect(relErr(got, want)).toBeLessThan(1e-4);
      }
    });
  });

  describe.each([
    { name: 'kernel 3, bias and mask', shape: [3, 6, 10], K: 3, bias: true, real: [6, 4, 1] },
    { name: 'kernel 5, no bias, no mask, T shorter than the kernel', shape: [2, 2, 9], K: 5, bias: false, real: null },
    { name: 'kernel 1 (pointwise scale)', shape: [2, 4, 7], K: 1, bias: true, real: null },
    {
      name: 'large enough to split over threads',
      shape: [16, 16, 96],
      K: 5,
      bias: true,
      real: Array.from({ length: 16 }, (_, i) => 16 - i),
    },
  ])('depthwise: $name', ({ shape, K, bias, real }) => {
    const [B, T, C] = shape as [number, number, number];
    const size = B * T * C;
    const x = random(size, 5);
    const w = random(K * C, 6);
    const bv = bias ? random(C, 7) : null;
    const m = real ? maskOf(B, T, real) : null;
    const r = random(size, 8);
    const forward = ([xx, ww, bb]: F64[]) => refDepthwise(xx!, ww!, bv ? bb! : null, m, shape, K);
    const inputs = () => [tensor(x, shape), tensor(w, [K, C]), ...(bv ? [tensor(bv, [C])] : [])];
    const op = (xx: tf.Tensor, ww: tf.Tensor, bb?: tf.Tensor) =>
      nativeDepthwise(xx as tf.Tensor3D, ww, bb, m ? (tensor(m, [B, T, 1]) as tf.Tensor3D) : undefined);

    it('forward matches float64', () => {
      const [got] = sameWithThreads(() => [op(...(inputs() as [tf.Tensor, tf.Tensor, tf.Tensor?])).dataSync() as Float32Array]);
      expect(relErr(got!, forward([x, w, bv ?? new Float64Array(0)]))).toBeLessThan(2e-6);
    });

    it('gradients match float64 central differences', () => {
      const grads = sameWithThreads(() => nativeGrads((...xs) => op(xs[0]!, xs[1]!, xs[2]), inputs(), tensor(r, shape)));
      const all = [x, w, bv ?? new Float64Array(0)];
      for (const [which, n] of [[0, size], [1, K * C], ...(bv ? ([[2, C]] as const) : [])] as const) {
        const indices = pick(n, 12, 20 + which);
        const want = numericGrad(forward, all, r, which, indices);
        expect(
          relErr(
            indices.map((i) => grads[which]![i]!),
            want,
          ),
        ).toBeLessThan(1e-4);
      }
    });
  });

  describe.each([
    { name: '4 heads, padded samples', shape: [3, 5, 16], heads: 4, real: [5, 3, 1] },
    { name: '8 heads of 64, large enough to split over threads', shape: [4, 16, 512], heads: 8, real: [16, 9, 2, 16] },
  ])('attention: $name', ({ shape, heads, real }) => {
    const [B, T, C] = shape as [number, number, number];
    const size = B * T * C;
    const q = random(size, 30);
    const k = random(size, 31);
    const v = random(size, 32);
    const m = maskOf(B, T, real);
    const r = random(size, 33);
    const scale = 1 / Math.sqrt(C / heads);
    const forward = ([qq, kk, vv]: F64[]) => refAttention(qq!, kk!, vv!, m, shape, heads, scale);
    const op = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) =>
      nativeAttention(qq as tf.Tensor3D, kk as tf.Tensor3D, vv as tf.Tensor3D, tensor(m, [B, T, 1]) as tf.Tensor3D, { heads, scale });

    it('forward matches float64', () => {
      const [got] = sameWithThreads(() => [op(tensor(q, shape), tensor(k, shape), tensor(v, shape)).dataSync() as Float32Array]);
      expect(relErr(got!, forward([q, k, v]))).toBeLessThan(2e-6);
    });

    it('gradients match float64 central differences', () => {
      const grads = sameWithThreads(() => nativeGrads(op, [tensor(q, shape), tensor(k, shape), tensor(v, shape)], tensor(r, shape)));
      for (const which of [0, 1, 2]) {
        const indices = pick(size, 12, 40 + which);
        const want = numericGrad(forward, [q, k, v], r, which, indices);
        expect(
          relErr(
            indices.map((i) => grads[which]![i]!),
            want,
          ),
        ).toBeLessThan(1e-4);
      }
    });
  });

  // erf's approximation is good to about 4e-7 absolute, so x * Phi(x) to about 1e-6 where |x| is 4 to 6
  it('gelu and its gradient match float64 from -10 to 10 (and split over threads)', () => {
    const n = 40001;
    const x = Float64Array.from({ length: n }, (_, i) => Math.fround(-10 + (20 * i) / (n - 1)));
    const r = random(n, 50);
    const [y, dx] = sameWithThreads(() => {
      const xt = tensor(x, [n]);
      const out = nativeGelu(xt).dataSync() as Float32Array;
      return [out, ...nativeGrads((t) => nativeGelu(t), [xt], tensor(r, [n]))];
    });
    const want = refGelu(x);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(y![i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
    expect(worst).toBeLessThan(1.5e-6);
    // d/dx gelu = Phi(x) + x phi(x)
    const wantGrad = x.map((v, i) => r[i]! * (0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI)));
    expect(relErr(dx!, wantGrad)).toBeLessThan(1e-6);
  });

  describe.each([
    { name: 'kernel 3 with a mask', shape: [3, 5, 12], K: 3, real: [5, 2, 1] },
    { name: 'kernel 1 without a mask', shape: [2, 3, 4], K: 1, real: null },
    {
      name: 'kernel 5, large enough to split over threads',
      shape: [16, 16, 5 * 64],
      K: 5,
      real: Array.from({ length: 16 }, (_, i) => 1 + i),
    },
  ])('tapSum: $name', ({ shape, K, real }) => {
    const [B, T, KC] = shape as [number, number, number];
    const x = random(B * T * KC, 60);
    const m = real ? maskOf(B, T, real) : null;
    const outShape = [B, T, KC / K];
    const r = random(B * T * (KC / K), 61);
    const forward = ([xx]: F64[]) => refTapSum(xx!, m, shape, K);
    const op = (t: tf.Tensor) => nativeTapSum(t as tf.Tensor3D, K, m ? (tensor(m, [B, T, 1]) as tf.Tensor3D) : undefined);

    it('forward matches float64, and the gradient central differences', () => {
      const [got, grad] = sameWithThreads(() => [
        op(tensor(x, shape)).dataSync() as Float32Array,
        ...nativeGrads(op, [tensor(x, shape)], tensor(r, outShape)),
      ]);
      expect(relErr(got!, forward([x]))).toBeLessThan(2e-6);
      const indices = pick(x.length, 16, 62);
      expect(
        relErr(
          indices.map((i) => grad![i]!),
          numericGrad(forward, [x], r, 0, indices),
        ),
      ).toBeLessThan(1e-4);
    });
  });

  describe.each([
    { name: 'even T', shape: [3, 6, 5] },
    { name: 'odd T', shape: [2, 5, 3] },
    { name: 'one step', shape: [2, 1, 4] },
    { name: 'large enough to split over threads', shape: [32, 16, 64] },
  ])('maxPool: $name', ({ shape }) => {
    const [B, T, C] = shape as [number, number, number];
    const half = Math.ceil(T / 2);
    // float32 values, so that the max is exact
    const x = random(B * T * C, 80).map(Math.fround);
    const r = random(B * half * C, 81);
    const forward = ([xx]: F64[]) => {
      const y = new Float64Array(B * half * C);
      for (let b = 0; b < B; b++)
        for (let i = 0; i < half; i++)
          for (let c = 0; c < C; c++) {
            let best = -Infinity;
            for (let t = Math.max(0, 2 * i - 1); t <= Math.min(T - 1, 2 * i + 1); t++) best = Math.max(best, xx![(b * T + t) * C + c]!);
            y[(b * half + i) * C + c] = best;
          }
      return y;
    };

    it('forward matches float64, and the gradient central differences', () => {
      const [got, grad] = sameWithThreads(() => [
        nativeMaxPool(tensor(x, shape) as tf.Tensor3D).dataSync() as Float32Array,
        ...nativeGrads((t) => nativeMaxPool(t as tf.Tensor3D), [tensor(x, shape)], tensor(r, [B, half, C])),
      ]);
      expect(relErr(got!, forward([x]))).toBe(0);
      const indices = pick(x.length, 16, 82);
      expect(
        relErr(
          indices.map((i) => grad![i]!),
          numericGrad(forward, [x], r, 0, indices),
        ),
      ).toBeLessThan(1e-4);
    });
  });

  describe.each([
    { name: 'bias and mask', shape: [3, 5, 7], n: 4, bias: true, real: [5, 2, 1] },
    { name: 'neither', shape: [4, 6], n: 3, bias: false, real: null },
    { name: 'large enough to split over threads', shape: [8, 16, 64], n: 96, bias: true, real: [16, 1, 8, 16, 3, 16, 16, 9] },
  ])('linear: $name', ({ shape, n, bias, real }) => {
    const k = shape[shape.length - 1]!;
    const rows = shape.slice(0, -1).reduce((p, d) => p * d, 1);
    const x = random(rows * k, 100);
    const w = random(k * n, 101, 0.3);
    const bv = bias ? random(n, 102) : null;
    const m = real ? maskOf(shape[0]!, shape[1]!, real) : null;
    const outShape = [...shape.slice(0, -1), n];
    const r = random(rows * n, 103);
    const forward = ([xx, ww, bb]: F64[]) => {
      const y = new Float64Array(rows * n);
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < n; j++) {
          let sum = bv ? bb![j]! : 0;
          for (let l = 0; l < k; l++) sum += xx![i * k + l]! * ww![l * n + j]!;
          y[i * n + j] = sum * (m ? m[i]! : 1);
        }
      return y;
    };
    const maskTensor = () => (m ? tensor(m, [shape[0]!, shape[1]!, 1]) : undefined);
    const op = (xx: tf.Tensor, ww: tf.Tensor, bb?: tf.Tensor) => nativeLinear(xx, ww, { bias: bb, mask: maskTensor() });
    const inputs = () => [tensor(x, shape), tensor(w, [k, n]), ...(bv ? [tensor(bv, [n])] : [])];

    it('forward matches float64, and the gradients central differences', () => {
      const [got, ...grads] = sameWithThreads(() => [
        op(...(inputs() as [tf.Tensor, tf.Tensor, tf.Tensor?])).dataSync() as Float32Array,
        ...nativeGrads((...xs) => op(xs[0]!, xs[1]!, xs[2]), inputs(), tensor(r, outShape)),
      ]);
      expect(relErr(got!, forward([x, w, bv ?? new Float64Array(0)]))).toBeLessThan(2e-6);
      const all = [x, w, bv ?? new Float64Array(0)];
      for (const [which, size] of [[0, rows * k], [1, k * n], ...(bv ? ([[2, n]] as const) : [])] as const) {
        const indices = pick(size, 12, 104 + which);
        expect(
          relErr(
            indices.map((i) => grads[which]![i]!),
            numericGrad(forward, all, r, which, indices),
          ),
        ).toBeLessThan(1e-4);
      }
    });

    it('skips the input gradient when told, and refuses to hand one out then', () => {
      const xt = tensor(x, shape);
      const [dw] = nativeGrads(
        (ww) => nativeLinear(xt, ww!, { mask: maskTensor(), inputGrad: false }),
        [tensor(w, [k, n])],
        tensor(r, outShape),
      );
      const want = numericGrad(([ww]) => forward([x, ww!, new Float64Array(n)]), [w], r, 0, [0, 5, k * n - 1]);
      expect(relErr([dw![0]!, dw![5]!, dw![k * n - 1]!], want)).toBeLessThan(1e-4);
      expect(() => nativeGrads((xx) => nativeLinear(xx!, tensor(w, [k, n]), { inputGrad: false }), [xt], tensor(r, outShape))).toThrow(
        /inputGrad: false/,
      );
    });
  });

  describe.each([
    { name: 'small', shape: [3, 4, 6] },
    { name: 'one step', shape: [2, 1, 5] },
    { name: 'large enough to split over threads', shape: [16, 16, 96] },
  ])('gate: $name', ({ shape }) => {
    const [B, T, C] = shape as [number, number, number];
    const size = B * T * C;
    const u = random(size, 110, 1, 0.2);
    const params = [random(C, 111), random(C, 112), random(C, 113), random(C, 114, 0.5)];
    const r = random(size, 115);
    const forward = ([uu, wf, bf, wg, bg]: F64[]) => {
      const out = new Float64Array(size);
      for (let b = 0; b < B; b++)
        for (let c = 0; c < C; c++) {
          let mean = 0;
          for (let t = 0; t < T; t++) mean += uu![(b * T + t) * C + c]!;
          const gate = Math.max(0, (mean / T) * wg![c]! + bg![c]!);
          for (let t = 0; t < T; t++) out[(b * T + t) * C + c] = (uu![(b * T + t) * C + c]! * wf![c]! + bf![c]!) * gate;
        }
      return out;
    };
    const inputs = () => [
      tensor(u, shape),
      tensor(params[0]!, [1, C]),
      tensor(params[1]!, [C]),
      tensor(params[2]!, [1, C]),
      tensor(params[3]!, [C]),
    ];
    const op = (...xs: tf.Tensor[]) => nativeGate(xs[0] as tf.Tensor3D, xs[1]!, xs[2]!, xs[3]!, xs[4]!);

    it('forward matches float64, and the gradients central differences', () => {
      const [got, ...grads] = sameWithThreads(() => [
        op(...inputs()).dataSync() as Float32Array,
        ...nativeGrads(op, inputs(), tensor(r, shape)),
      ]);
      const all = [u, ...params];
      expect(relErr(got!, forward(all))).toBeLessThan(2e-6);
      for (let which = 0; which < 5; which++) {
        const indices = pick(which === 0 ? size : C, 10, 116 + which);
        expect(
          relErr(
            indices.map((i) => grads[which]![i]!),
            numericGrad(forward, all, r, which, indices),
          ),
        ).toBeLessThan(1e-4);
      }
    });
  });

  describe.each([
    { name: 'mask, b, scale and keep', shape: [3, 4, 6], mask: true, b: true, scale: true, keep: true },
    { name: 'a alone', shape: [2, 3, 5], mask: false, b: false, scale: false, keep: false },
    { name: 'mask and b', shape: [2, 3, 5], mask: true, b: true, scale: false, keep: false },
    { name: 'scale, large enough to split over threads', shape: [16, 16, 96], mask: false, b: false, scale: true, keep: false },
  ])('residual: $name', (setup) => {
    const [B, T, C] = setup.shape as [number, number, number];
    const size = B * T * C;
    const m = setup.mask
      ? maskOf(
          B,
          T,
          Array.from({ length: B }, (_, i) => T - i),
        )
      : null;
    const keep = setup.keep ? Float64Array.from({ length: B }, (_, i) => (i % 2 === 0 ? 1 / 0.9 : 0)) : null;
    const values = [random(size, 120), random(size, 121), random(size, 122), random(C, 123)];
    const r = random(size, 124);
    const forward = ([x, a, b, s]: F64[]) =>
      x!.map((xv, i) => {
        const row = Math.floor(i / C);
        let v = a![i]! + (setup.b ? b![i]! : 0);
        if (setup.scale) v *= s![i % C]!;
        if (keep) v *= keep[Math.floor(row / T)]!;
        return xv * (m ? m[row]! : 1) + v;
      });
    const differentiable = [0, 1, ...(setup.b ? [2] : []), ...(setup.scale ? [3] : [])];
    const op = (...xs: tf.Tensor[]) => {
      const byIndex = new Map(differentiable.map((d, i) => [d, xs[i]!]));
      return nativeResidual(byIndex.get(0) as tf.Tensor3D, byIndex.get(1) as tf.Tensor3D, {
        ...(m ? { mask: tensor(m, [B, T, 1]) as tf.Tensor3D } : {}),
        ...(setup.b ? { b: byIndex.get(2) as tf.Tensor3D } : {}),
        ...(setup.scale ? { scale: byIndex.get(3)! } : {}),
        ...(keep ? { keep: tensor(keep, [B]) as tf.Tensor1D } : {}),
      });
    };
    const inputs = () => differentiable.map((d) => tensor(values[d]!, d === 3 ? [C] : setup.shape));

    it('forward matches float64, and the gradients central differences', () => {
      const [got, ...grads] = sameWithThreads(() => [
        op(...inputs()).dataSync() as Float32Array,
        ...nativeGrads(op, inputs(), tensor(r, setup.shape)),
      ]);
      expect(relErr(got!, forward(values))).toBeLessThan(2e-6);
      differentiable.forEach((which, i) => {
        const indices = pick(which === 3 ? C : size, 10, 125 + which);
        expect(
          relErr(
            indices.map((j) => grads[i]![j]!),
            numericGrad(forward, values, r, which, indices),
          ),
        ).toBeLessThan(1e-4);
      });
    });
  });

  it('maxPool: ties go to the earliest step, padding never wins, a NaN wins', () => {
    // one channel, T = 4: outputs max(x0, x1) and max(x1, x2, x3)
    const x = tf.tensor3d([-1, -1, -3, -1], [1, 4, 1]);
    expect(Array.from(nativeMaxPool(x).dataSync())).toEqual([-1, -1]);
    const [dx] = nativeGrads((t) => nativeMaxPool(t as tf.Tensor3D), [x], tf.tensor3d([10, 1], [1, 2, 1]));
    // step 0 wins output 0 (tie with step 1), step 1 wins output 1 (tie with step 3)
    expect(Array.from(dx!)).toEqual([10, 1, 0, 0]);
    expect(Array.from(nativeMaxPool(tf.tensor3d([1, Number.NaN, 2, 3], [1, 4, 1])).dataSync())).toEqual([Number.NaN, Number.NaN]);
  });

  it('sgd: the same bits as the host loop (first step, later steps, no momentum), with any thread count', () => {
    const n = 300_001;
    const p = Float32Array.from(random(n, 90));
    const g = Float32Array.from(random(n, 91, 0.1));
    const lr = 0.005;
    const decay = 1e-4;
    // the host loop of packages/model/src/optim/sgd.ts
    const host = (buffer: Float32Array | null, momentum: number, first: boolean) => {
      const next = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        if (buffer === null) next[i] = p[i]! - lr * (g[i]! + decay * p[i]!);
        else {
          buffer[i] = first ? g[i]! + decay * p[i]! : momentum * buffer[i]! + (g[i]! + decay * p[i]!);
          next[i] = p[i]! - lr * buffer[i]!;
        }
      }
      return next;
    };
    for (const [momentum, first] of [
      [0.9, true],
      [0.9, false],
      [0, false],
    ] as const) {
      const start = momentum === 0 ? null : Float32Array.from(random(n, 92));
      const wantBuffer = start?.slice() ?? null;
      const want = host(wantBuffer, momentum, first);
      const results = sameWithThreads(() => {
        const buffer = start?.slice() ?? null;
        const out = nativeSgdStep(tf.tensor(p), tf.tensor(g), { lr, momentum, weightDecay: decay, first, buffer });
        return [out.dataSync() as Float32Array, ...(buffer ? [buffer] : [])];
      });
      expect(Array.from(results[0]!)).toEqual(Array.from(want));
      if (wantBuffer) expect(Array.from(results[1]!)).toEqual(Array.from(wantBuffer));
    }
    expect(() =>
      nativeSgdStep(tf.tensor(p), tf.tensor(g), { lr, momentum: 0.9, weightDecay: decay, first: true, buffer: new Float32Array(3) }),
    ).toThrow(/buffer: expected 300001 values, got 3/);
  });

  it('add and multiply natively: the same bits as the wasm kernels, which keep the cases they do not cover', () => {
    const cases: Array<[number[], number[]]> = [
      [
        [3, 5, 7],
        [3, 5, 7],
      ],
      [[3, 5, 7], [7]],
      [[7], [3, 5, 7]],
      [
        [3, 5, 7],
        [1, 1, 7],
      ],
      [[7], [1, 1, 7]],
      [[200, 700], [700]],
      [
        [3, 5, 7],
        [3, 5, 1],
      ],
      [
        [3, 1, 7],
        [3, 5, 7],
      ],
      [[4], []],
    ];
    const results = (useNative: boolean) => {
      if (!useNative) disableNativeGemm();
      try {
        return cases.flatMap(([sa, sb], i) => {
          const a = tensor(
            random(
              sa.reduce((n, d) => n * d, 1),
              140 + i,
            ),
            sa,
          );
          const b = tensor(
            random(
              sb.reduce((n, d) => n * d, 1),
              150 + i,
            ),
            sb,
          );
          return [tf.add(a, b), tf.mul(a, b)].map((t) => ({ shape: t.shape, data: Array.from(t.dataSync()) }));
        });
      } finally {
        enableNativeGemm();
      }
    };
    expect(sameWithThreads(() => [Float32Array.from(results(true).flatMap((r) => r.data))])).toEqual([
      Float32Array.from(results(false).flatMap((r) => r.data)),
    ]);
    expect(results(true).map((r) => r.shape)).toEqual(results(false).map((r) => r.shape));
    // int32 stays on the wasm kernel
    expect(Array.from(tf.add(tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3, 4], 'int32')).dataSync())).toEqual([4, 6]);
  });

  it('give NaN where every key of a sample is masked, as the reference softmax does', () => {
    const q = tensor(random(16, 70), [1, 2, 8]) as tf.Tensor3D;
    const out = nativeAttention(q, q, q, tf.zeros([1, 2, 1]), { heads: 2, scale: 1 });
    expect(Array.from(out.dataSync()).every(Number.isNaN)).toBe(true);
  });

  it('leave the tfjs-op path to the network when switched off', () => {
    disableNativeGemm();
    expect(nativeKernelsActive()).toBe(false);
    expect(() => nativeGelu(tf.ones([2]))).toThrow(/PthnetGelu/);
    enableNativeGemm();
    expect(nativeKernelsActive()).toBe(true);
  });

  it('refuse sizes their arrays cannot hold, and outputs overlapping inputs, naming the argument', () => {
    const kernels = addon!;
    const f = (n: number) => new Float32Array(n);
    expect(() => kernels.groupNorm(f(24), f(8), f(8), f(23), 3, 1, 8, 1, 1e-5)).toThrow(/groupNorm: out: expected 24 values, got 23/);
    expect(() => kernels.groupNorm(f(24), f(8), f(8), f(24), 3, 1, 8, 3, 1e-5)).toThrow(/groups: expected a divisor of C/);
    expect(() => kernels.groupNorm(f(24), f(8), f(8), f(24), 3, 1, 8, 1, 0)).toThrow(/eps: expected a positive number/);
    expect(() => kernels.groupNormGrad(f(24), f(24), f(8), f(24), f(7), f(8), 3, 1, 8, 1, 1e-5)).toThrow(
      /dweight: expected 8 values, got 7/,
    );
    expect(() => kernels.depthwise(f(24), f(9), null, null, f(24), 1, 3, 8, 3)).toThrow(/weight: expected 24 values, got 9/);
    expect(() => kernels.depthwise(f(24), f(16), null, null, f(24), 1, 3, 8, 2)).toThrow(/K: expected an odd kernel size/);
    expect(() => kernels.depthwise(f(24), f(24), null, f(2), f(24), 1, 3, 8, 3)).toThrow(/mask: expected 3 values, got 2/);
    expect(() => kernels.depthwiseGrad(f(24), f(24), f(24), null, null, f(24), f(7), 1, 3, 8, 3)).toThrow(/dbias: expected 8 values/);
    expect(() => kernels.attention(f(24), f(24), f(24), f(3), f(24), 1, 3, 8, 3, 1)).toThrow(/heads: expected a divisor of C/);
    expect(() => kernels.attention(f(24), f(24), f(20), f(3), f(24), 1, 3, 8, 2, 1)).toThrow(/v: expected 24 values, got 20/);
    expect(() => kernels.attentionGrad(f(24), f(24), f(24), f(24), f(3), f(24), f(24), f(23), 1, 3, 8, 2, 1)).toThrow(/dv: expected 24/);
    expect(() => kernels.geluGrad(f(4), f(4), f(3))).toThrow(/dx: expected 4 values, got 3/);
    expect(() => kernels.tapSum(f(24), null, f(9), 1, 3, 4, 2)).toThrow(/K: expected an odd kernel size/);
    expect(() => kernels.tapSumGrad(f(12), null, f(35), 1, 3, 4, 3)).toThrow(/dtaps: expected 36 values, got 35/);
    expect(() => kernels.gelu(f(4), new Float64Array(4) as unknown as Float32Array)).toThrow(/out: expected a Float32Array/);
    expect(() => kernels.maxPool(f(24), f(11), 1, 6, 4)).toThrow(/maxPool: out: expected 12 values, got 11/);
    expect(() => kernels.linear(f(12), f(12), null, null, f(8), 3, 4, 3)).toThrow(/linear: out: expected 9 values, got 8/);
    expect(() => kernels.linear(f(12), f(11), null, null, f(9), 3, 4, 3)).toThrow(/weight: expected 12 values, got 11/);
    expect(() => kernels.linearGrad(f(9), f(12), f(12), f(2), null, f(12), null, 3, 4, 3)).toThrow(/mask: expected 3 values, got 2/);
    expect(() => kernels.gate(f(24), f(8), f(8), f(8), f(7), f(24), 1, 3, 8)).toThrow(/bg: expected 8 values, got 7/);
    expect(() => kernels.gate(f(0), f(8), f(8), f(8), f(8), f(0), 1, 0, 8)).toThrow(/T: expected at least one step/);
    expect(() => kernels.residual(f(24), null, f(24), null, f(7), null, f(24), 1, 3, 8)).toThrow(/scale: expected 8 values, got 7/);
    expect(() => kernels.residualGrad(f(24), null, f(24), null, null, null, f(24), f(24), f(8), 1, 3, 8)).toThrow(
      /dscale: given without a scale/,
    );
    expect(() => kernels.maxPoolGrad(f(12), f(24), f(23), 1, 6, 4)).toThrow(/dx: expected 24 values, got 23/);
    expect(() => kernels.sgd(f(4), f(4), f(3), f(4), 0.1, 0.9, 0, false)).toThrow(/buffer: expected 4 values, got 3/);
    expect(() => kernels.binary(0, f(10), f(3), f(10))).toThrow(/b: expected a length that divides a's/);
    expect(() => kernels.binary(2 as 0, f(9), f(3), f(9))).toThrow(/op: expected 0 \(add\) or 1 \(multiply\)/);
    expect(() => kernels.sgd(f(4), f(4), null, f(4), Number.NaN, 0.9, 0, false)).toThrow(/lr: expected a finite number/);
    expect(() => kernels.depthwise(f(24), f(24), null, null, f(24), -1, 3, 8, 3)).toThrow(/B: expected a non-negative integer/);
    const shared = f(48);
    expect(() => kernels.gelu(shared.subarray(0, 24), shared.subarray(12, 36))).toThrow(/gelu: out: shares memory with x/);
    expect(() => kernels.gemm(false, false, 1, 2, 2, 2, shared.subarray(0, 4), 0, f(4), 0, shared.subarray(2, 6), null)).toThrow(
      /gemm: out: shares memory with a/,
    );
    const grads = f(64);
    expect(() => kernels.groupNormGrad(f(24), f(24), f(8), grads.subarray(0, 24), grads.subarray(20, 28), f(8), 3, 1, 8, 1, 1e-5)).toThrow(
      /groupNormGrad: dx: shares memory with dweight/,
    );
  });
});
