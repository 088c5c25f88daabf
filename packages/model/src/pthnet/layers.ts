/**
 * The blocks of PTH-Net (SPEC section 5) on `[B, T, C]` tensors: time steps are rows, so every
 * 1x1 conv is one `[B*T, C]` matMul and every norm reduces the innermost axis. Masks are `[B, T, 1]`
 * floats (1 = real step). Everything here has a gradient on the wasm and cpu backends: temporal
 * convs are pad + slice + mul, pooling is pad + slice + maximum.
 *
 * Where the native addon is loaded on the wasm backend (`nativeKernelsActive()`), the norms, the
 * depthwise convs, the attention core, GELU and the embedding conv's tap sum each run as one
 * native kernel (forward and gradient) instead of a dozen tfjs ops: the same maths, in the same
 * layout, on every core.
 */
// biome-ignore-all lint/style/noNonNullAssertion: shapes are read only at axes the tensor has: depthwise kernels are rank-2 [k, C] parameters (pthnetParameterSpecs) and sumRows takes the last axis of a norm's [B, T, C] gradient; noUncheckedIndexedAccess cannot see a tensor's rank
import * as tf from '@tensorflow/tfjs-core';
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
  nativeTapSum,
} from 'shared';
import { ATTENTION_CONV_KERNEL, ATTENTION_HEADS, CHANNEL_NORM_EPS, GROUP_NORM_EPS, GROUP_NORM_GROUPS } from './constants.js';
import { registerPthNetGradients } from './gradients.js';
import { linear } from './linear.js';
import type { PyramidLevel } from './types.js';

registerPthNetGradients();

/** Reads a parameter (internal layout) by its reference name. */
export type ParamLookup = (name: string) => tf.Tensor;

function rows(x: tf.Tensor3D): tf.Tensor2D {
  return tf.reshape(x, [x.shape[0] * x.shape[1], x.shape[2]]);
}

/** 1x1 conv / linear on `[B, T, Cin]` with weight `[Cin, Cout]`. */
export function pointwise(x: tf.Tensor3D, w: tf.Tensor, b?: tf.Tensor, inputGrad = true): tf.Tensor3D {
  if (nativeKernelsActive()) return nativeLinear(x, w, { ...(b ? { bias: b } : {}), inputGrad });
  const [batch, steps] = x.shape;
  const y = linear(rows(x), w as tf.Tensor2D, b as tf.Tensor1D | undefined, { inputGrad });
  return tf.reshape(y, [batch, steps, y.shape[1]]);
}

/** Sum over every row of a `[..., C]` tensor as a `[C]` vector (a matMul: see `unbroadcast`). */
function sumRows(t: tf.Tensor): tf.Tensor1D {
  const channels = t.shape[t.rank - 1]!;
  const rowCount = t.size / channels;
  return tf.reshape(tf.matMul(tf.ones([1, rowCount]), tf.reshape(t, [rowCount, channels])), [channels]);
}

/**
 * Layer norm over channels at each step, eps 1e-5, affine `[C]`. One custom-gradient op:
 * `dx = rstd * (g - mean(g) - xhat * mean(g * xhat))` with `g = dy * w`.
 */
export function channelNorm(x: tf.Tensor3D, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor3D {
  if (nativeKernelsActive()) return nativeGroupNorm(x, weight, bias, { groups: 1, eps: CHANNEL_NORM_EPS, perStep: true });
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, w, b, save] = args as [tf.Tensor3D, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const centred = tf.sub(input, tf.mean(input, -1, true));
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), CHANNEL_NORM_EPS));
    const xhat = tf.mul(centred, rstd);
    save([xhat, rstd, w]);
    return {
      value: tf.add(tf.mul(xhat, w), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedXhat, savedRstd, savedW] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor];
        const g = tf.mul(dy, savedW);
        const dx = tf.mul(savedRstd, tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(savedXhat, tf.mean(tf.mul(g, savedXhat), -1, true))));
        return [dx, sumRows(tf.mul(dy, savedXhat)), sumRows(dy)];
      },
    };
  });
  return op(x, weight, bias) as tf.Tensor3D;
}

/** `[B, T, C]` -> `[B, groups, T * C / groups]`: each group's values in one row. */
function toGroups(x: tf.Tensor): tf.Tensor3D {
  const [batch, steps, channels] = x.shape as [number, number, number];
  const perGroup = channels / GROUP_NORM_GROUPS;
  return tf.reshape(tf.transpose(tf.reshape(x, [batch, steps, GROUP_NORM_GROUPS, perGroup]), [0, 2, 1, 3]), [
    batch,
    GROUP_NORM_GROUPS,
    steps * perGroup,
  ]);
}

/** Inverse of `toGroups`. */
function fromGroups(grouped: tf.Tensor, shape: [number, number, number]): tf.Tensor3D {
  const [batch, steps, channels] = shape;
  const perGroup = channels / GROUP_NORM_GROUPS;
  return tf.reshape(tf.transpose(tf.reshape(grouped, [batch, GROUP_NORM_GROUPS, steps, perGroup]), [0, 2, 1, 3]), shape);
}

/**
 * GroupNorm: statistics over (C / groups channels x all T) per sample, eps 1e-5, affine `[C]`.
 * One custom-gradient op, the same backward as `channelNorm` taken over each group's row.
 */
export function groupNorm(x: tf.Tensor3D, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor3D {
  if (nativeKernelsActive()) return nativeGroupNorm(x, weight, bias, { groups: GROUP_NORM_GROUPS, eps: GROUP_NORM_EPS, perStep: false });
  const shape = x.shape;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, w, b, save] = args as [tf.Tensor3D, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const grouped = toGroups(input);
    const centred = tf.sub(grouped, tf.mean(grouped, -1, true));
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), GROUP_NORM_EPS));
    const groupedXhat = tf.mul(centred, rstd);
    const xhat = fromGroups(groupedXhat, shape);
    save([xhat, groupedXhat, rstd, w]);
    return {
      value: tf.add(tf.mul(xhat, w), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedXhat, savedGroupedXhat, savedRstd, savedW] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor];
        const g = toGroups(tf.mul(dy, savedW));
        const dGrouped = tf.mul(
          savedRstd,
          tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(savedGroupedXhat, tf.mean(tf.mul(g, savedGroupedXhat), -1, true))),
        );
        return [fromGroups(dGrouped, shape), sumRows(tf.mul(dy, savedXhat)), sumRows(dy)];
      },
    };
  });
  return op(x, weight, bias) as tf.Tensor3D;
}

/**
 * The steps `t + shift` of a `[B, T, C]` tensor for shifts in `[-reach, reach]`, zero outside the
 * sequence: padded once, each shift sliced once, so the depthwise convs that read the same input
 * (the local convs and psi on u; the key and value convs on kv_in) share them.
 */
export class TimeShifts {
  private padded: tf.Tensor3D | null = null;
  private readonly cache = new Map<number, tf.Tensor3D>();

  constructor(
    readonly x: tf.Tensor3D,
    readonly reach: number,
  ) {}

  at(shift: number): tf.Tensor3D {
    if (shift === 0) return this.x;
    if (Math.abs(shift) > this.reach) throw new Error(`TimeShifts: shift ${shift} beyond reach ${this.reach}`);
    let tap = this.cache.get(shift);
    if (tap === undefined) {
      const [batch, steps, channels] = this.x.shape;
      this.padded ??= tf.pad(this.x, [
        [0, 0],
        [this.reach, this.reach],
        [0, 0],
      ]);
      tap = tf.slice(this.padded, [0, this.reach + shift, 0], [batch, steps, channels]);
      this.cache.set(shift, tap);
    }
    return tap;
  }
}

let inference = false;

/**
 * Runs `fn` (a forward pass no gradient will be taken of) with the depthwise convs on the
 * backend's own depthwise-conv kernel: one op where the pad/slice/mul form takes 3k, and the
 * kernel the training graph must avoid (the wasm backend has no gradient for it) is fine here.
 */
export function withInferenceKernels<T>(fn: () => T): T {
  const outer = inference;
  inference = true;
  try {
    return fn();
  } finally {
    inference = outer;
  }
}

/**
 * Depthwise conv along time, stride 1, zero "same" padding, weight `[k, C]`: tap j multiplies
 * step `t + j - k // 2`.
 */
export function depthwise(shifts: TimeShifts, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor3D {
  const k = weight.shape[0]!;
  const channels = weight.shape[1]!;
  if (nativeKernelsActive()) return nativeDepthwise(shifts.x, weight, bias);
  if (inference) {
    const [batch, steps] = shifts.x.shape;
    const out = tf.fused.depthwiseConv2d({
      x: tf.reshape<tf.Rank.R4>(shifts.x, [batch, steps, 1, channels]),
      filter: tf.reshape<tf.Rank.R4>(weight, [k, 1, channels, 1]),
      strides: 1,
      pad: 'same',
      ...(bias === undefined ? {} : { bias }),
    });
    return tf.reshape(out, [batch, steps, channels]);
  }
  const half = (k - 1) / 2;
  const tapWeight = (j: number): tf.Tensor =>
    k === 1 ? tf.reshape(weight, [channels]) : tf.reshape(tf.slice(weight, [j, 0], [1, channels]), [channels]);
  let out = tf.mul<tf.Tensor3D>(shifts.at(-half), tapWeight(0));
  for (let j = 1; j < k; j++) out = tf.add<tf.Tensor3D>(out, tf.mul<tf.Tensor3D>(shifts.at(j - half), tapWeight(j)));
  return bias === undefined ? out : tf.add<tf.Tensor3D>(out, bias);
}

/** One-off depthwise conv along time (see `depthwise`). */
export function temporalDepthwise(x: tf.Tensor3D, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor3D {
  return depthwise(new TimeShifts(x, (weight.shape[0]! - 1) / 2), weight, bias);
}

/** Two depthwise kernels `[k1, C]`, `[k2, C]` on the same input as one centred `[max(k1, k2), C]` kernel. */
export function sumKernels(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const k = Math.max(a.shape[0]!, b.shape[0]!);
  const centre = (w: tf.Tensor): tf.Tensor => {
    const pad = (k - w.shape[0]!) / 2;
    return pad === 0
      ? w
      : tf.pad(w, [
          [pad, pad],
          [0, 0],
        ]);
  };
  return tf.add(centre(a), centre(b));
}

/**
 * Full conv along time (kernel k, no bias) with weight `[Cin, k * Cout]`: one matMul gives every
 * tap's contribution at every step, then tap j is shifted into place. Output multiplied by the mask.
 */
export function maskedConv(x: tf.Tensor3D, weight: tf.Tensor, kernel: number, mask: tf.Tensor3D, inputGrad: boolean): tf.Tensor3D {
  const [batch, steps] = x.shape;
  const taps = pointwise(x, weight, undefined, inputGrad);
  if (nativeKernelsActive()) return nativeTapSum(taps, kernel, mask);
  const cout = taps.shape[2] / kernel;
  const pad = (kernel - 1) / 2;
  const padded =
    pad > 0
      ? tf.pad(taps, [
          [0, 0],
          [pad, pad],
          [0, 0],
        ])
      : taps;
  let out = tf.slice(padded, [0, 0, 0], [batch, steps, cout]);
  for (let j = 1; j < kernel; j++) out = tf.add<tf.Tensor3D>(out, tf.slice(padded, [0, j, j * cout], [batch, steps, cout]));
  return tf.mul<tf.Tensor3D>(out, mask);
}

/** Additive attention mask `[B, 1, 1, T]`: 0 on real steps, -inf on padding. */
export function keyMaskBias(mask: tf.Tensor3D): tf.Tensor4D {
  const [batch, steps] = mask.shape;
  const real = tf.reshape(tf.greater(mask, 0), [batch, 1, 1, steps]);
  return tf.where(real, tf.zeros([batch, 1, 1, steps]), tf.fill([batch, 1, 1, steps], -Infinity)) as tf.Tensor4D;
}

/**
 * CrossAttention: q from `qIn`, k and v from `kvIn`, each through a masked depthwise conv
 * (kernel 3, no bias), a channel norm and a 1x1 conv; 8 heads, masked keys get -inf, values
 * and output are masked. `maskBias` is `keyMaskBias(mask)` (made here when not given).
 */
export function crossAttention(
  param: ParamLookup,
  prefix: string,
  qIn: tf.Tensor3D,
  kvIn: tf.Tensor3D,
  mask: tf.Tensor3D,
  maskBias?: tf.Tensor4D,
): tf.Tensor3D {
  const [batch, steps, channels] = qIn.shape;
  const headDim = channels / ATTENTION_HEADS;
  if (nativeKernelsActive()) {
    const project = (input: tf.Tensor3D, name: 'query' | 'key' | 'value'): tf.Tensor3D => {
      const conv = nativeDepthwise(input, param(`${prefix}${name}_conv.conv.weight`), undefined, mask);
      const normed = channelNorm(conv, param(`${prefix}${name}_norm.weight`), param(`${prefix}${name}_norm.bias`));
      return pointwise(normed, param(`${prefix}${name}.weight`), param(`${prefix}${name}.bias`));
    };
    const mixed = nativeAttention(project(qIn, 'query'), project(kvIn, 'key'), project(kvIn, 'value'), mask, {
      heads: ATTENTION_HEADS,
      scale: 1 / Math.sqrt(headDim),
    });
    return nativeLinear(mixed, param(`${prefix}proj.weight`), { bias: param(`${prefix}proj.bias`), mask });
  }
  const qShifts = new TimeShifts(qIn, (ATTENTION_CONV_KERNEL - 1) / 2);
  const kvShifts = qIn === kvIn ? qShifts : new TimeShifts(kvIn, (ATTENTION_CONV_KERNEL - 1) / 2);
  const project = (input: TimeShifts, name: 'query' | 'key' | 'value'): tf.Tensor3D => {
    const conv = tf.mul<tf.Tensor3D>(depthwise(input, param(`${prefix}${name}_conv.conv.weight`)), mask);
    const normed = channelNorm(conv, param(`${prefix}${name}_norm.weight`), param(`${prefix}${name}_norm.bias`));
    return pointwise(normed, param(`${prefix}${name}.weight`), param(`${prefix}${name}.bias`));
  };
  const heads = (t: tf.Tensor3D, perm: number[]): tf.Tensor3D =>
    tf.reshape(tf.transpose(tf.reshape(t, [batch, steps, ATTENTION_HEADS, headDim]), perm), [
      batch * ATTENTION_HEADS,
      perm[2] === 1 ? steps : headDim,
      perm[2] === 1 ? headDim : steps,
    ]);
  const q = heads(tf.mul<tf.Tensor3D>(project(qShifts, 'query'), 1 / Math.sqrt(headDim)), [0, 2, 1, 3]);
  const k = heads(project(kvShifts, 'key'), [0, 2, 3, 1]);
  const v = heads(tf.mul<tf.Tensor3D>(project(kvShifts, 'value'), mask), [0, 2, 1, 3]);
  const scores = tf.reshape(tf.matMul(q, k), [batch, ATTENTION_HEADS, steps, steps]);
  const attention = tf.reshape(tf.softmax(tf.add<tf.Tensor4D>(scores, maskBias ?? keyMaskBias(mask))), [
    batch * ATTENTION_HEADS,
    steps,
    steps,
  ]);
  const mixed = tf.reshape(tf.transpose(tf.reshape(tf.matMul(attention, v), [batch, ATTENTION_HEADS, steps, headDim]), [0, 2, 1, 3]), [
    batch,
    steps,
    channels,
  ]) as tf.Tensor3D;
  return tf.mul<tf.Tensor3D>(pointwise(mixed, param(`${prefix}proj.weight`), param(`${prefix}proj.bias`)), mask);
}

export interface DropPathSetting {
  /** Probability of dropping a sample's residual branch (0: only the learnable scale). */
  prob: number;
  rng: () => number;
}

/** Stochastic depth's per-sample factors, `floor(p_keep + u) / p_keep` (null when nothing is dropped). */
function keepFactors(batch: number, drop: DropPathSetting | null): Float32Array | null {
  if (drop === null || drop.prob === 0) return null;
  const keepProb = 1 - drop.prob;
  const keep = new Float32Array(batch);
  for (let i = 0; i < batch; i++) keep[i] = Math.floor(keepProb + drop.rng()) / keepProb;
  return keep;
}

/** Learnable per-channel scale, then per-sample stochastic depth when `drop` is given. */
export function dropPath(x: tf.Tensor3D, scale: tf.Tensor, drop: DropPathSetting | null): tf.Tensor3D {
  const scaled = tf.mul<tf.Tensor3D>(x, scale);
  const batch = x.shape[0];
  const keep = keepFactors(batch, drop);
  return keep === null ? scaled : tf.mul<tf.Tensor3D>(scaled, tf.tensor3d(keep, [batch, 1, 1]));
}

/**
 * One SSD layer. `dropPaths` is null where the reference has identity drop paths (the stem);
 * in the branches it carries the stochastic-depth setting (null prob in eval). `maskBias` as in
 * `crossAttention`.
 */
export function ssdLayer(
  param: ParamLookup,
  prefix: string,
  x: tf.Tensor3D,
  mask: tf.Tensor3D,
  maskBias: tf.Tensor4D | undefined,
  level: PyramidLevel,
  dropPaths: { drop: DropPathSetting | null } | null,
): tf.Tensor3D {
  const p = (name: string): tf.Tensor => param(prefix + name);
  if (nativeKernelsActive()) return nativeSsdLayer(p, param, prefix, x, mask, level, dropPaths);
  const u = channelNorm(x, p('ln.weight'), p('ln.bias'));
  // convw(u) + convkw(u) is one conv with the two kernels added (centred)
  const localKernel = sumKernels(p(`convw_${level}.weight`), p(`convkw_${level}.weight`));
  const psiKernel = p('psi.weight');
  const uShifts = new TimeShifts(u, (Math.max(localKernel.shape[0]!, psiKernel.shape[0]!) - 1) / 2);
  const local = depthwise(uShifts, localKernel, tf.add(p(`convw_${level}.bias`), p(`convkw_${level}.bias`)));
  const qIn = tf.mul<tf.Tensor3D>(local, depthwise(uShifts, psiKernel, p('psi.bias')));
  const glob = tf.relu(temporalDepthwise(tf.mean(u, 1, true), p('global_fc.weight'), p('global_fc.bias')));
  const kvIn = tf.mul<tf.Tensor3D>(temporalDepthwise(u, p('fc.weight'), p('fc.bias')), glob);
  const attended = tf.add<tf.Tensor3D>(crossAttention(param, `${prefix}cross_att.`, qIn, kvIn, mask, maskBias), u);
  const y = tf.add<tf.Tensor3D>(
    tf.mul<tf.Tensor3D>(x, mask),
    dropPaths === null ? attended : dropPath(attended, p('drop_path_out.scale'), dropPaths.drop),
  );
  const mlp = pointwise(
    gelu(pointwise(groupNorm(y, p('gn.weight'), p('gn.bias')), p('mlp.0.weight'), p('mlp.0.bias'))),
    p('mlp.2.weight'),
    p('mlp.2.bias'),
  );
  return tf.add<tf.Tensor3D>(y, dropPaths === null ? mlp : dropPath(mlp, p('drop_path_mlp.scale'), dropPaths.drop));
}

/** `ssdLayer` on the native kernels: the same maths, with the gate and the residual joins as one kernel each. */
function nativeSsdLayer(
  p: (name: string) => tf.Tensor,
  param: ParamLookup,
  prefix: string,
  x: tf.Tensor3D,
  mask: tf.Tensor3D,
  level: PyramidLevel,
  dropPaths: { drop: DropPathSetting | null } | null,
): tf.Tensor3D {
  const u = channelNorm(x, p('ln.weight'), p('ln.bias'));
  const localKernel = sumKernels(p(`convw_${level}.weight`), p(`convkw_${level}.weight`));
  const local = nativeDepthwise(u, localKernel, tf.add(p(`convw_${level}.bias`), p(`convkw_${level}.bias`)));
  const qIn = tf.mul<tf.Tensor3D>(local, nativeDepthwise(u, p('psi.weight'), p('psi.bias')));
  const kvIn = nativeGate(u, p('fc.weight'), p('fc.bias'), p('global_fc.weight'), p('global_fc.bias'));
  const attended = crossAttention(param, `${prefix}cross_att.`, qIn, kvIn, mask);
  // the drop paths draw their keep factors in the same order as dropPath: the attention's, then the MLP's
  const droppedBy = (scaleName: string) => {
    if (dropPaths === null) return {};
    const keep = keepFactors(x.shape[0], dropPaths.drop);
    return { scale: p(scaleName), ...(keep === null ? {} : { keep: tf.tensor1d(keep) }) };
  };
  const y = nativeResidual(x, attended, { mask, b: u, ...droppedBy('drop_path_out.scale') });
  const mlp = pointwise(
    gelu(pointwise(groupNorm(y, p('gn.weight'), p('gn.bias')), p('mlp.0.weight'), p('mlp.0.bias'))),
    p('mlp.2.weight'),
    p('mlp.2.bias'),
  );
  return nativeResidual(y, mlp, droppedBy('drop_path_mlp.scale'));
}

/**
 * GELU, exact form `x * Phi(x)` as in `nn.GELU()`, with its gradient `Phi(x) + x * phi(x)`
 * written out (the MLP's hidden activations are the largest tensors of the layer).
 */
export function gelu(x: tf.Tensor3D): tf.Tensor3D {
  if (nativeKernelsActive()) return nativeGelu(x);
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, save] = args as [tf.Tensor3D, tf.GradSaveFunc];
    const cdf = tf.mul(tf.add(tf.erf(tf.mul(input, Math.SQRT1_2)), 1), 0.5);
    save([input, cdf]);
    return {
      value: tf.mul(input, cdf),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedCdf] = saved as [tf.Tensor3D, tf.Tensor3D];
        const pdf = tf.mul(tf.exp(tf.mul(tf.square(savedX), -0.5)), 1 / Math.sqrt(2 * Math.PI));
        return tf.mul(dy, tf.add(savedCdf, tf.mul(savedX, pdf)));
      },
    };
  });
  return op(x) as tf.Tensor3D;
}

/** One embedding stage: masked full conv (no bias), channel norm, ReLU. */
export function embedding(
  param: ParamLookup,
  index: number,
  x: tf.Tensor3D,
  mask: tf.Tensor3D,
  kernel: number,
  inputGrad: boolean,
): tf.Tensor3D {
  const conv = maskedConv(x, param(`embd.${index}.conv.weight`), kernel, mask, inputGrad);
  return tf.relu(channelNorm(conv, param(`embd_norm.${index}.weight`), param(`embd_norm.${index}.bias`)));
}

/**
 * Max-pool kernel 3, stride 2, padding 1 (padding never wins), and the mask's every second step.
 * Output step i is the max of steps 2i-1, 2i, 2i+1; ties go to the earliest, as in PyTorch.
 */
export function downsample(x: tf.Tensor3D, mask: tf.Tensor3D): { x: tf.Tensor3D; mask: tf.Tensor3D } {
  const [batch, steps, channels] = x.shape;
  const half = steps / 2;
  const maskPairs = tf.reshape(mask, [batch, half, 2, 1]);
  const halvedMask = tf.reshape(tf.slice(maskPairs, [0, 0, 0, 0], [batch, half, 1, 1]), [batch, half, 1]) as tf.Tensor3D;
  if (nativeKernelsActive()) return { x: nativeMaxPool(x), mask: halvedMask };
  const pairs = tf.reshape(x, [batch, half, 2, channels]);
  const even = tf.reshape(tf.slice(pairs, [0, 0, 0, 0], [batch, half, 1, channels]), [batch, half, channels]);
  const odd = tf.reshape(tf.slice(pairs, [0, 0, 1, 0], [batch, half, 1, channels]), [batch, half, channels]);
  const previousOdd = tf.slice(
    tf.pad(
      odd,
      [
        [0, 0],
        [1, 0],
        [0, 0],
      ],
      -Infinity,
    ),
    [0, 0, 0],
    [batch, half, channels],
  );
  const pooled = tf.maximum<tf.Tensor3D>(tf.maximum(previousOdd, even), odd);
  return { x: pooled, mask: halvedMask };
}

/** Masked sum over time divided by all T (padding counts), then Linear(C, classes). */
export function head(param: ParamLookup, x: tf.Tensor3D, mask: tf.Tensor3D): tf.Tensor2D {
  const pooled = tf.mean(tf.mul<tf.Tensor3D>(x, mask), 1);
  return linear(pooled as tf.Tensor2D, param('head.weight') as tf.Tensor2D, param('head.bias') as tf.Tensor1D);
}
