import * as tf from '@tensorflow/tfjs-core';
import { disableNativeGemm, selectBackend } from 'shared';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  channelNorm,
  downsample,
  dropPath,
  embedding,
  gelu,
  groupNorm,
  keyMaskBias,
  sumKernels,
  temporalDepthwise,
  withInferenceKernels,
} from './layers.js';
import { linear } from './linear.js';
import { detach, pthnetLoss } from './loss.js';

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());
const close = (got: number[], want: number[], tol = 1e-5): void => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    expect(Math.abs(g - want[i]!), `index ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol);
  });
};

// wasm with the native layer kernels where the addon is built, wasm's own ops, the cpu backend
const nativeBuilt = (await selectBackend('wasm')).gemm?.active === true;
const SETUPS = [...(nativeBuilt ? ['wasm + native kernels'] : []), 'wasm', 'cpu'] as const;

describe.each(SETUPS)('PTH-Net blocks on %s', (setup) => {
  beforeAll(async () => {
    const selected = await selectBackend(setup === 'cpu' ? 'cpu' : 'wasm');
    if (setup === 'wasm') disableNativeGemm();
    else if (setup !== 'cpu') expect(selected.gemm?.active).toBe(true);
  });

  it('linear: x W + b with hand-written gradients', () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const w = tf.variable(
      tf.tensor2d([
        [1, -1, 0.5],
        [2, 0, -0.5],
      ]),
    );
    const b = tf.variable(tf.tensor1d([0.1, 0.2, 0.3]));
    close(values(linear(x, w, b)), [5.1, -0.8, -0.2, 11.1, -2.8, -0.2, 17.1, -4.8, -0.2]);
    // loss = sum(y * c): dW = x^T c, db = column sums of c, dx = c W^T
    const c = tf.tensor2d([
      [1, 0, 2],
      [0, 1, 0],
      [1, 1, 1],
    ]);
    const [dx, dw, db] = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(tf.mul(linear(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D), c)),
    )([x, w, b]);
    close(values(dw!), [6, 8, 7, 8, 10, 10]);
    close(values(db!), [2, 2, 3]);
    close(values(dx!), [2, 1, -1, 0, 0.5, 1.5]);
    tf.dispose([w, b]);
  });

  it('channelNorm normalises each step over channels and differentiates like the composite', () => {
    const x = tf.tensor3d([
      [
        [1, 2, 3, 6],
        [0, 0, 0, 4],
      ],
    ]);
    const w = tf.tensor1d([1, 2, 1, 0.5]);
    const b = tf.tensor1d([0, 0, 1, 0]);
    const y = values(channelNorm(x, w, b));
    // step 0: mean 3, var 3.5 -> (x - 3) / sqrt(3.5 + 1e-5)
    const s = Math.sqrt(3.5 + 1e-5);
    close(y.slice(0, 4), [-2 / s, (-1 / s) * 2, 0 + 1, (3 / s) * 0.5]);
    const composite = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor): tf.Tensor => {
      const c = tf.sub(xi, tf.mean(xi, -1, true));
      return tf.add(tf.mul(tf.mul(c, tf.rsqrt(tf.add(tf.mean(tf.square(c), -1, true), 1e-5))), wi), bi);
    };
    const weightOut = tf.tensor3d([
      [
        [1, -2, 0.5, 3],
        [2, 1, -1, 0.25],
      ],
    ]);
    const loss = (f: typeof composite) => (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(f(xi, wi, bi), weightOut));
    const ours = tf.grads(loss((xi, wi, bi) => channelNorm(xi as tf.Tensor3D, wi, bi)))([x, w, b]);
    const reference = tf.grads(loss(composite))([x, w, b]);
    ours.forEach((g, i) => {
      close(values(g), values(reference[i]!), 1e-4);
    });
  });

  it('groupNorm normalises 16 groups over (C/16 channels x all T) and differentiates like the composite', () => {
    const x = tf.randomNormal([2, 3, 32], 0, 2, 'float32', 4) as tf.Tensor3D;
    const w = tf.randomNormal([32], 1, 0.3, 'float32', 5);
    const b = tf.randomNormal([32], 0, 0.3, 'float32', 6);
    const composite = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor): tf.Tensor => {
      // group g holds channels 2g, 2g+1 at every step
      const grouped = tf.reshape(tf.transpose(tf.reshape(xi, [2, 3, 16, 2]), [0, 2, 1, 3]), [2, 16, 6]);
      const c = tf.sub(grouped, tf.mean(grouped, -1, true));
      const n = tf.mul(c, tf.rsqrt(tf.add(tf.mean(tf.square(c), -1, true), 1e-5)));
      return tf.add(tf.mul(tf.reshape(tf.transpose(tf.reshape(n, [2, 16, 3, 2]), [0, 2, 1, 3]), [2, 3, 32]), wi), bi);
    };
    close(values(groupNorm(x, w, b)), values(composite(x, w, b)), 1e-5);
    // hand check: the first group of sample 0 is channels 0, 1 over the 3 steps
    const xs = values(x);
    const group = [0, 1, 32, 33, 64, 65].map((i) => xs[i]!);
    const mean = group.reduce((s, v) => s + v, 0) / 6;
    const variance = group.reduce((s, v) => s + (v - mean) ** 2, 0) / 6;
    close([values(groupNorm(x, tf.ones([32]), tf.zeros([32])))[33]!], [(xs[33]! - mean) / Math.sqrt(variance + 1e-5)], 1e-5);
    const weightOut = tf.randomNormal([2, 3, 32], 0, 1, 'float32', 7);
    const loss = (f: typeof composite) => (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(f(xi, wi, bi), weightOut));
    const ours = tf.grads(loss((xi, wi, bi) => groupNorm(xi as tf.Tensor3D, wi, bi)))([x, w, b]);
    const reference = tf.grads(loss(composite))([x, w, b]);
    ours.forEach((g, i) => {
      close(values(g), values(reference[i]!), 1e-4);
    });
  });

  it('gelu is x * Phi(x) with gradient Phi(x) + x * phi(x)', () => {
    const x = tf.tensor3d([-2, -0.5, 0, 1, 3], [1, 5, 1]);
    const phi = (v: number) => Math.exp((-v * v) / 2) / Math.sqrt(2 * Math.PI);
    // Phi at -2, -0.5, 0, 1, 3 (erf tables)
    const cdf = [0.02275013, 0.30853754, 0.5, 0.84134475, 0.9986501];
    close(
      values(gelu(x)),
      [-2, -0.5, 0, 1, 3].map((v, i) => v * cdf[i]!),
      2e-6,
    );
    const grad = tf.grad((xi: tf.Tensor) => tf.sum(gelu(xi as tf.Tensor3D)))(x);
    close(
      values(grad),
      [-2, -0.5, 0, 1, 3].map((v, i) => cdf[i]! + v * phi(v)),
      2e-6,
    );
  });

  it('sumKernels adds a narrower depthwise kernel centred into a wider one', () => {
    const narrow = tf.tensor2d([[1, 2]], [1, 2]);
    const wide = tf.tensor2d([
      [10, 20],
      [30, 40],
      [50, 60],
    ]);
    close(values(sumKernels(narrow, wide)), [10, 20, 31, 42, 50, 60]);
  });

  it('temporalDepthwise is a zero-padded "same" conv along time', () => {
    // one channel, T = 4, kernel [1, 10, 100] over steps t-1, t, t+1
    const x = tf.tensor3d([1, 2, 3, 4], [1, 4, 1]);
    const w = tf.tensor2d([[1], [10], [100]]);
    close(values(temporalDepthwise(x, w, tf.tensor1d([0.5]))), [210.5, 321.5, 432.5, 43.5]);
    // inference runs the backend's depthwise-conv kernel instead: same values
    close(values(withInferenceKernels(() => temporalDepthwise(x, w, tf.tensor1d([0.5])))), [210.5, 321.5, 432.5, 43.5]);
  });

  it('the inference depthwise kernel equals the pad/slice form for every kernel width', () => {
    const x = tf.randomUniform([3, 8, 6], -1, 1, 'float32', 1) as tf.Tensor3D;
    for (const k of [1, 3, 5]) {
      const w = tf.randomUniform([k, 6], -1, 1, 'float32', k);
      const b = tf.randomUniform([6], -1, 1, 'float32', 10 + k);
      close(values(withInferenceKernels(() => temporalDepthwise(x, w, b))), values(temporalDepthwise(x, w, b)), 1e-6);
      close(values(withInferenceKernels(() => temporalDepthwise(x, w))), values(temporalDepthwise(x, w)), 1e-6);
    }
  });

  it('embedding leaves masked steps at relu(norm bias), not zero', () => {
    const weight = tf.tensor2d([
      [1, 0, 0, 0, 0, 0],
      [0, 0, 1, 0, 2, 0],
    ]); // [Cin 2, 3 taps * Cout 2]
    const params = new Map<string, tf.Tensor>([
      ['embd.0.conv.weight', weight],
      ['embd_norm.0.weight', tf.tensor1d([1, 1])],
      ['embd_norm.0.bias', tf.tensor1d([0.25, -0.5])],
    ]);
    const x = tf.tensor3d([
      [
        [1, 0],
        [0, 1],
        [2, 2],
        [5, 5],
      ],
    ]); // [B 1, T 4, C 2]
    const mask = tf.tensor3d([[[1], [1], [0], [0]]]);
    const out = values(embedding((name) => params.get(name)!, 0, x, mask, 3, false));
    close(out.slice(4), [0.25, 0, 0.25, 0]);
    expect(out.slice(0, 4).some((v) => Math.abs(v - 0.25) > 0.1)).toBe(true);
  });

  it('downsample: max over steps 2i-1..2i+1 (padding never wins), ties to the earliest, mask[::2]', () => {
    const x = tf.tensor3d([-1, -3, -2, -5, 2, 2, 2, 2], [2, 4, 1]);
    const mask = tf.tensor3d([1, 1, 1, 0, 1, 0, 0, 0], [2, 4, 1]);
    const { x: pooled, mask: halved } = downsample(x, mask);
    close(values(pooled), [-1, -2, 2, 2]);
    close(values(halved), [1, 1, 1, 0]);
    const grad = tf.grad((xi: tf.Tensor) => tf.sum(downsample(xi as tf.Tensor3D, mask).x))(x);
    close(values(grad), [1, 0, 1, 0, 1, 1, 0, 0]);
  });

  it('dropPath: learnable scale, then keep = floor(p_keep + u) per sample, x / p_keep * keep', () => {
    const x = tf.ones([2, 1, 2]) as tf.Tensor3D;
    const scale = tf.tensor1d([2, 3]);
    close(values(dropPath(x, scale, null)), [2, 3, 2, 3]);
    const draws = [0.95, 0.05];
    const out = values(dropPath(x, scale, { prob: 0.1, rng: () => draws.shift()! }));
    close(out, [2 / 0.9, 3 / 0.9, 0, 0]);
  });

  it('keyMaskBias is 0 on real steps and -inf on padding', () => {
    expect(values(keyMaskBias(tf.tensor3d([1, 0, 1], [1, 3, 1])))).toEqual([0, -Infinity, 0]);
  });

  it('pthnetLoss = CE(p_H) + KL(L) + KL(M), target softmax(p_H) detached, batchmean', () => {
    const pH = tf.tensor2d([
      [2, 0, 0],
      [0, 1, 0],
    ]);
    const pL = tf.tensor2d([
      [0, 0, 0],
      [0, 1, 0],
    ]);
    const y = tf.tensor1d([0, 2], 'int32');
    const losses = pthnetLoss(pL, pH, pH, y);
    const softmax = (row: number[]) => row.map((v) => Math.exp(v) / row.reduce((s, r) => s + Math.exp(r), 0));
    const [q0, q1] = [softmax([2, 0, 0]), softmax([0, 1, 0])];
    const ce = -(Math.log(q0[0]!) + Math.log(q1[2]!)) / 2;
    const klRow0 = q0.reduce((s, q, i) => s + q * (Math.log(q) - Math.log(1 / 3)), 0);
    close([losses.loss_ce.dataSync()[0]!, losses.loss_kl_L.dataSync()[0]!, losses.loss_kl_M.dataSync()[0]!], [ce, klRow0 / 2, 0]);
    close([losses.loss.dataSync()[0]!], [ce + klRow0 / 2]);
    // the KL terms send no gradient into p_H: d loss / d p_H is the CE gradient (softmax - onehot) / B
    const dH = tf.grad((p: tf.Tensor) => pthnetLoss(pL, pH, p as tf.Tensor2D, y).loss)(pH);
    close(values(dH), [(q0[0]! - 1) / 2, q0[1]! / 2, q0[2]! / 2, q1[0]! / 2, q1[1]! / 2, (q1[2]! - 1) / 2]);
    expect(values(tf.grad((p: tf.Tensor) => tf.sum(detach(p)))(pH))).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
