import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsActive, nativeLinear, transposedMatMulIsFast } from 'shared';

let sharedTransposes: Map<tf.Tensor, tf.Tensor> | null = null;

/**
 * Runs `fn` (a forward + backward pass) with each weight's transpose computed once and shared by
 * every `linear` call that uses the weight: the three pyramid levels go through the same layers,
 * and the wasm backend repacks a fresh right-hand matMul operand on every call.
 */
export function withSharedTransposes<T>(fn: () => T): T {
  const outer = sharedTransposes;
  const cache = new Map<tf.Tensor, tf.Tensor>();
  sharedTransposes = cache;
  try {
    return fn();
  } finally {
    sharedTransposes = outer;
    for (const t of cache.values()) t.dispose();
  }
}

function transposedWeight(w: tf.Tensor2D, saved: tf.Tensor2D): tf.Tensor2D {
  if (sharedTransposes === null) return tf.transpose(saved);
  let wT = sharedTransposes.get(w);
  if (wT === undefined) {
    wT = tf.keep(tf.transpose(saved));
    sharedTransposes.set(w, wT);
  }
  return wT as tf.Tensor2D;
}

/**
 * `x W + b` for `x [N, K]`, `W [K, M]`, `b [M]`, with a gradient written out by hand.
 *
 * tfjs's own matMul gradient uses transposed matMuls, and the wasm backend's own kernel runs
 * those in a scalar loop about 10x slower than XNNPACK. There (see `transposedMatMulIsFast`) every
 * product here is a plain `[., K] x [K, .]` matMul with explicit transposes (cheap next to the
 * product); elsewhere the transposes are left to the matMul. The bias gradient is a row of ones
 * times dy rather than a column reduction (which the wasm backend also transposes).
 *
 * `inputGrad: false` skips dx, for the first layer where x is the data.
 */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor1D, options: { inputGrad?: boolean } = {}): tf.Tensor2D {
  const inputGrad = options.inputGrad ?? true;
  // one native kernel for the product and one for its three gradients (see shared's native-kernels.ts)
  if (nativeKernelsActive()) return nativeLinear(x, w, { ...(bias ? { bias } : {}), inputGrad });
  const forward = (save: tf.GradSaveFunc): tf.Tensor2D => {
    save([x, w]);
    // the fused kernel adds the bias inside the product, saving a pass over the output
    return (bias === undefined ? tf.matMul(x, w) : tf.fused.matMul({ a: x, b: w, bias })) as tf.Tensor2D;
  };
  const gradients = (dy: tf.Tensor2D, saved: tf.Tensor[]): tf.Tensor[] => {
    const [xSaved, wSaved] = saved as [tf.Tensor2D, tf.Tensor2D];
    const grads: tf.Tensor[] = [];
    if (transposedMatMulIsFast()) {
      if (inputGrad) grads.push(tf.matMul(dy, wSaved, false, true));
      grads.push(tf.matMul(xSaved, dy, true, false));
    } else {
      if (inputGrad) grads.push(tf.matMul(dy, transposedWeight(w, wSaved)));
      grads.push(tf.matMul(tf.transpose(xSaved), dy));
    }
    if (bias !== undefined) grads.push(tf.reshape(tf.matMul(tf.ones([1, dy.shape[0]]), dy), [dy.shape[1]]));
    return grads;
  };
  const inputs: tf.Tensor[] = [...(inputGrad ? [x] : []), w, ...(bias !== undefined ? [bias] : [])];
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    return { value: forward(save), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => gradients(dy as tf.Tensor2D, saved) };
  });
  return op(...inputs) as tf.Tensor2D;
}
