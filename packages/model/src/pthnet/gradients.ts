/**
 * Gradients of the tfjs kernels PTH-Net's training graph uses.
 *
 * `@tensorflow/tfjs-core` registers no gradients on its own: the `@tensorflow/tfjs` union package
 * does, from ESM files that Node cannot load from tfjs-core's CommonJS build. So the ones we need
 * are written here (same maths as tfjs-core's `gradients/*_grad.ts`) and registered once, only for
 * kernels that have none, so an application that loaded the official set keeps it.
 */
// biome-ignore-all lint/style/noNonNullAssertion: each gradFunc destructures the tensors its own inputsToSave/outputsToSave names, which tfjs passes back in that order, and shape/attribute arrays are indexed only by axes below their rank; noUncheckedIndexedAccess cannot see either
import * as tf from '@tensorflow/tfjs-core';

type GradFunc = tf.GradConfig['gradFunc'];

/**
 * Sums `dy` over the axes along which an input of `shape` was broadcast, back to `shape`.
 * The common case in this network, a per-channel vector broadcast over every row, is a row of
 * ones times dy: the wasm backend reduces leading axes by transposing first, a matMul does not.
 */
export function unbroadcast(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.broadcast_util.getReductionAxes(shape, dy.shape);
  if (axes.length === 0) return tf.reshape(dy, shape);
  const leading = axes.every((axis, i) => axis === i);
  const offset = dy.rank - shape.length;
  const tailMatches = dy.shape.slice(axes.length).every((d, i) => shape[axes.length - offset + i] === d);
  if (leading && tailMatches && axes.length < dy.rank) {
    const rows = dy.shape.slice(0, axes.length).reduce((n, d) => n * d, 1);
    const flat = tf.reshape(dy, [rows, dy.size / rows]);
    return tf.reshape(tf.matMul(tf.ones([1, rows]), flat), shape);
  }
  return tf.reshape(tf.sum(dy, axes), shape);
}

function inverse(perm: number[]): number[] {
  const out = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    out[p] = i;
  });
  return out;
}

/** dy of a reduction, spread back over the reduced axes of `shape`. */
function spread(dy: tf.Tensor, shape: number[], axis: number | number[] | undefined, scale: number): tf.Tensor {
  const axes = tf.util.parseAxisParam(axis ?? shape.map((_, i) => i), shape);
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const grad = tf.mul(tf.reshape(dy, kept), tf.fill(shape, scale));
  return grad;
}

function reducedSize(shape: number[], axis: number | number[] | undefined): number {
  const axes = tf.util.parseAxisParam(axis ?? shape.map((_, i) => i), shape);
  return axes.reduce((n, a) => n * shape[a]!, 1);
}

const GRADIENTS: Array<{
  kernelName: string;
  inputsToSave?: string[];
  outputsToSave?: boolean[];
  saveAllInputs?: boolean;
  gradFunc: GradFunc;
}> = [
  {
    kernelName: tf.Add,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({ a: () => unbroadcast(dy as tf.Tensor, a!.shape), b: () => unbroadcast(dy as tf.Tensor, b!.shape) }),
  },
  {
    // inputs are named by position ('0', '1', ...); saving them all tells how many there are
    kernelName: tf.AddN,
    saveAllInputs: true,
    gradFunc: (dy, saved) => Object.fromEntries(saved.map((_, i) => [String(i), () => tf.clone(dy as tf.Tensor)])),
  },
  {
    kernelName: tf.Sub,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(dy as tf.Tensor, a!.shape),
      b: () => tf.neg(unbroadcast(dy as tf.Tensor, b!.shape)),
    }),
  },
  {
    kernelName: tf.Multiply,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy as tf.Tensor, b!), a!.shape),
      b: () => unbroadcast(tf.mul(dy as tf.Tensor, a!), b!.shape),
    }),
  },
  {
    kernelName: tf.RealDiv,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.div(dy as tf.Tensor, b!), a!.shape),
      b: () => unbroadcast(tf.neg(tf.div(tf.mul(dy as tf.Tensor, a!), tf.square(b!))), b!.shape),
    }),
  },
  {
    kernelName: tf.Maximum,
    inputsToSave: ['a', 'b'],
    // ties go to a, as in tfjs and as PyTorch's max-pool gives them to the first of the window
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(tf.greaterEqual(a!, b!), 'float32')), a!.shape),
      b: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(tf.less(a!, b!), 'float32')), b!.shape),
    }),
  },
  { kernelName: tf.Neg, gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }) },
  { kernelName: tf.Identity, gradFunc: (dy) => ({ x: () => tf.clone(dy as tf.Tensor) }) },
  { kernelName: tf.Cast, gradFunc: (dy) => ({ x: () => tf.clone(dy as tf.Tensor) }) },
  { kernelName: tf.Square, inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(x!, 2)) }) },
  {
    kernelName: tf.Rsqrt,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(tf.div(tf.rsqrt(x!), x!), -0.5)) }),
  },
  { kernelName: tf.Exp, outputsToSave: [true], gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as tf.Tensor, y!) }) },
  { kernelName: tf.Log, inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.div(dy as tf.Tensor, x!) }) },
  {
    kernelName: tf.Erf,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(tf.exp(tf.neg(tf.square(x!))), 2 / Math.sqrt(Math.PI))) }),
  },
  { kernelName: tf.Relu, inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.step(x!)) }) },
  {
    kernelName: tf.Softmax,
    outputsToSave: [true],
    gradFunc: (dy, [y], attrs) => {
      const dim = (attrs as unknown as tf.SoftmaxAttrs).dim;
      return { logits: () => tf.mul(y!, tf.sub(dy as tf.Tensor, tf.sum(tf.mul(dy as tf.Tensor, y!), dim, true))) };
    },
  },
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy as tf.Tensor, x!.shape) }),
  },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, saved, attrs) => ({ x: () => tf.transpose(dy as tf.Tensor, inverse((attrs as unknown as tf.TransposeAttrs).perm)) }),
  },
  {
    kernelName: tf.Slice,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { begin, size } = attrs as unknown as { begin: number[]; size: number[] };
      const shape = x!.shape;
      const dyShape = (dy as tf.Tensor).shape;
      const paddings = shape.map((d, i) => [begin[i]!, d - begin[i]! - (size[i] === -1 ? d - begin[i]! : dyShape[i]!)] as [number, number]);
      return { x: () => tf.pad(dy as tf.Tensor, paddings) };
    },
  },
  {
    kernelName: tf.PadV2,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const paddings = (attrs as unknown as tf.PadV2Attrs).paddings;
      return {
        x: () =>
          tf.slice(
            dy as tf.Tensor,
            paddings.map((p) => p[0]),
            x!.shape,
          ),
      };
    },
  },
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axis = (attrs as unknown as tf.SumAttrs).axis;
      return { x: () => spread(dy as tf.Tensor, x!.shape, axis, 1) };
    },
  },
  {
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axis = (attrs as unknown as tf.MeanAttrs).axis;
      return { x: () => spread(dy as tf.Tensor, x!.shape, axis, 1 / reducedSize(x!.shape, axis)) };
    },
  },
  {
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], attrs) => {
      const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
      const g = dy as tf.Tensor;
      if (!transposeA && !transposeB) return { a: () => tf.matMul(g, b!, false, true), b: () => tf.matMul(a!, g, true, false) };
      if (!transposeA && transposeB) return { a: () => tf.matMul(g, b!, false, false), b: () => tf.matMul(g, a!, true, false) };
      if (transposeA && !transposeB) return { a: () => tf.matMul(b!, g, false, true), b: () => tf.matMul(a!, g, false, false) };
      return { a: () => tf.matMul(b!, g, true, true), b: () => tf.matMul(g, a!, true, true) };
    },
  },
];

let registered = false;

/** Registers the gradients above for every kernel that has none yet. Idempotent. */
export function registerPthNetGradients(): void {
  if (registered) return;
  registered = true;
  for (const config of GRADIENTS) {
    if (tf.getGradient(config.kernelName) == null) tf.registerGradient(config as tf.GradConfig);
  }
}
