/**
 * PTH-Net's layers as native kernels of the wasm backend. The wasm backend runs each element-wise
 * op in one thread with 128-bit SIMD, and a layer norm, a depthwise conv or an attention head is a
 * dozen such ops (each a pass over memory and a trip through the engine). Here each is one kernel
 * of the native addon, in place on the wasm heap, split over the addon's threads, with its
 * gradient one kernel too:
 *
 *   PthnetGroupNorm     [x, weight, bias] -> y: norm over C/groups channels of each step (perStep)
 *                       or of all steps of a sample, eps, affine per channel
 *   PthnetDepthwise     [x, weight, bias?, mask?] -> y: depthwise conv along T, zero "same" padding
 *   PthnetAttention     [q, k, v, mask] -> out: softmax attention per sample and head, masked keys
 *                       get -inf and masked values 0, queries scaled
 *   PthnetGelu          [x] -> x * Phi(x)
 *   PthnetTapSum        [taps, mask?] -> y: the K shifted taps of a full conv along T, summed
 *   PthnetMaxPool       [x] -> y: max-pool along T, kernel 3, stride 2, padding 1
 *   PthnetLinear        [x, weight, bias?, mask?] -> (x W + bias) * mask: a 1x1 conv, its three
 *                       gradients in one kernel (the input's only where asked for)
 *   PthnetGate          [u, wf, bf, wg, bg] -> (u * wf + bf) * relu(mean_T(u) * wg + bg): an SSD
 *                       layer's kv input from its fc and global_fc (kernel 1)
 *   PthnetResidual      [x, a, mask?, b?, scale?, keep?] -> x * mask + ((a + b) * scale) * keep:
 *                       an SSD layer's residual joins, with the drop-path scale and keep factors
 *   PthnetSgd           [p, g] -> p': one SGD update (PyTorch's momentum and weight decay), the
 *                       momentum buffer (host memory) updated in place; no gradient
 *
 * The wasm backend's Add and Multiply are swapped for native ones where both operands are float32
 * and one has the other's shape or its trailing dimensions (a per-channel vector); other cases, and
 * every other element-wise op, run the wasm kernel.
 *
 * Tensors are `[B, T, C]`, masks `[B, T, 1]` of 0/1. The kernels exist only where the addon is
 * loaded (see `enableNativeGemm`); `nativeKernelsActive()` says whether the ops below can run, and
 * the network takes its tfjs-op path otherwise.
 */
// biome-ignore-all lint/style/noNonNullAssertion: kernel inputs are read at the positions their op passes them (checked by count), shapes at axes whose rank is checked first; noUncheckedIndexedAccess cannot see either
import * as tf from '@tensorflow/tfjs-core';
import { restoreWasmKernel, swapWasmKernel } from './kernel-swaps.js';
import type { NativeGemmAddon } from './types.js';

const KERNEL = {
  groupNorm: 'PthnetGroupNorm',
  groupNormGrad: 'PthnetGroupNormGrad',
  depthwise: 'PthnetDepthwise',
  depthwiseGrad: 'PthnetDepthwiseGrad',
  attention: 'PthnetAttention',
  attentionGrad: 'PthnetAttentionGrad',
  gelu: 'PthnetGelu',
  geluGrad: 'PthnetGeluGrad',
  tapSum: 'PthnetTapSum',
  tapSumGrad: 'PthnetTapSumGrad',
  maxPool: 'PthnetMaxPool',
  maxPoolGrad: 'PthnetMaxPoolGrad',
  linear: 'PthnetLinear',
  linearGrad: 'PthnetLinearGrad',
  gate: 'PthnetGate',
  gateGrad: 'PthnetGateGrad',
  residual: 'PthnetResidual',
  residualGrad: 'PthnetResidualGrad',
  sgd: 'PthnetSgd',
} as const;

const KERNEL_NAMES = Object.values(KERNEL);

/** What the kernels need of tfjs-backend-wasm's backend object (public on the class). */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

interface NormAttrs {
  groups: number;
  eps: number;
  /** Statistics per (sample, step) over the channels of a group (channel norm), else per sample over all steps. */
  perStep: boolean;
}

interface DepthwiseAttrs {
  hasBias: boolean;
  hasMask: boolean;
}

interface AttentionAttrs {
  heads: number;
  scale: number;
}

interface TapSumAttrs {
  kernel: number;
  hasMask: boolean;
}

interface LinearAttrs {
  hasBias: boolean;
  hasMask: boolean;
  /** Whether the input gets a gradient (not the first layer's, whose input is the data). */
  inputGrad: boolean;
}

interface ResidualAttrs {
  hasMask: boolean;
  hasB: boolean;
  hasScale: boolean;
  hasKeep: boolean;
}

/** Positions of a residual join's optional inputs after x and a, in the order mask, b, scale, keep. */
function residualSlots(attrs: ResidualAttrs): { mask: number; b: number; scale: number; keep: number; count: number } {
  let next = 2;
  const slot = (present: boolean) => (present ? next++ : -1);
  const mask = slot(attrs.hasMask);
  const b = slot(attrs.hasB);
  const scale = slot(attrs.hasScale);
  const keep = slot(attrs.hasKeep);
  return { mask, b, scale, keep, count: next };
}

export interface SgdAttrs {
  lr: number;
  momentum: number;
  weightDecay: number;
  /** The parameter's first update: the buffer is set to the gradient instead of decayed into. */
  first: boolean;
  /** The momentum buffer (any Float32Array of the parameter's size, updated in place); null without momentum. */
  buffer: Float32Array | null;
}

function fail(kernel: string, message: string): never {
  throw new Error(`${kernel}: ${message}`);
}

/** The kernel's inputs (passed as an array: optional ones are left out), each float32. */
function inputList(kernel: string, inputs: tf.NamedTensorInfoMap, count: number): tf.TensorInfo[] {
  const list: tf.TensorInfo[] = [];
  for (let i = 0; i < count; i++) {
    const input = inputs[String(i)];
    if (input === undefined) fail(kernel, `expected ${count} inputs, input ${i} is missing`);
    if (input.dtype !== 'float32') fail(kernel, `input ${i}: expected float32, got ${input.dtype}`);
    list.push(input);
  }
  return list;
}

/** `[B, T, C]` of a rank-3 tensor. */
function btc(kernel: string, x: tf.TensorInfo): [number, number, number] {
  if (x.shape.length !== 3) fail(kernel, `expected a [B, T, C] tensor, got shape [${x.shape.join(', ')}]`);
  return x.shape as [number, number, number];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function expectShape(kernel: string, name: string, x: tf.TensorInfo, shape: readonly number[]): void {
  if (!sameShape(x.shape, shape)) fail(kernel, `${name}: expected shape [${shape.join(', ')}], got [${x.shape.join(', ')}]`);
}

/** Views of the inputs and outputs, taken after every output is allocated (an allocation may grow the heap). */
function views(backend: WasmHeapBackend, infos: Array<tf.TensorInfo | null>): Array<Float32Array | null> {
  return infos.map((info) => (info === null ? null : backend.typedArrayFromHeap(info)));
}

/** An optional input's view: null where the input is absent. */
function optional(view: Float32Array | null | undefined): Float32Array | null {
  return view ?? null;
}

type KernelMaker = (addon: NativeGemmAddon) => tf.KernelFunc;

/** `x [..., K]` times `weight [K, N]`, with `mask` one value per row of x. */
function linearSizes(kernel: string, x: tf.TensorInfo, weight: tf.TensorInfo, mask: tf.TensorInfo | null) {
  if (x.shape.length < 2) fail(kernel, `x: expected rank 2 or more, got shape [${x.shape.join(', ')}]`);
  const k = x.shape[x.shape.length - 1]!;
  if (weight.shape.length !== 2 || weight.shape[0] !== k)
    fail(kernel, `weight: expected shape [${k}, N], got [${weight.shape.join(', ')}]`);
  const n = weight.shape[1]!;
  const rows = x.shape.slice(0, -1).reduce((p, d) => p * d, 1);
  if (mask !== null && mask.shape.reduce((p, d) => p * d, 1) !== rows)
    fail(kernel, `mask: expected ${rows} values (one per row), got shape [${mask.shape.join(', ')}]`);
  return { rows, k, n, outShape: [...x.shape.slice(0, -1), n] };
}

function residualShapes(
  kernel: string,
  [b, t, c]: [number, number, number],
  mask: tf.TensorInfo | null,
  second: tf.TensorInfo | null,
  scale: tf.TensorInfo | null,
  keep: tf.TensorInfo | null,
): void {
  if (mask !== null) expectShape(kernel, 'mask', mask, [b, t, 1]);
  if (second !== null) expectShape(kernel, 'b', second, [b, t, c]);
  if (scale !== null) expectShape(kernel, 'scale', scale, [c]);
  if (keep !== null) expectShape(kernel, 'keep', keep, [b]);
}

const normSizes = (x: [number, number, number], attrs: NormAttrs) => {
  const [b, t, c] = x;
  return attrs.perStep ? { n: b * t, s: 1, c } : { n: b, s: t, c };
};

const KERNELS: Record<(typeof KERNEL)[keyof typeof KERNEL], KernelMaker> = {
  [KERNEL.groupNorm]: (addon) => (args) => {
    const [x, weight, bias] = inputList(KERNEL.groupNorm, args.inputs, 3);
    const attrs = args.attrs as unknown as NormAttrs;
    const shape = btc(KERNEL.groupNorm, x!);
    expectShape(KERNEL.groupNorm, 'weight', weight!, [shape[2]]);
    expectShape(KERNEL.groupNorm, 'bias', bias!, [shape[2]]);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput([...shape], 'float32');
    const [xv, wv, bv, ov] = views(backend, [x!, weight!, bias!, out]);
    const { n, s, c } = normSizes(shape, attrs);
    addon.groupNorm(xv!, wv!, bv!, ov!, n, s, c, attrs.groups, attrs.eps);
    return out;
  },
  [KERNEL.groupNormGrad]: (addon) => (args) => {
    const [dy, x, weight] = inputList(KERNEL.groupNormGrad, args.inputs, 3);
    const attrs = args.attrs as unknown as NormAttrs;
    const shape = btc(KERNEL.groupNormGrad, x!);
    expectShape(KERNEL.groupNormGrad, 'dy', dy!, shape);
    expectShape(KERNEL.groupNormGrad, 'weight', weight!, [shape[2]]);
    const backend = args.backend as unknown as WasmHeapBackend;
    const dx = backend.makeOutput([...shape], 'float32');
    const dw = backend.makeOutput([shape[2]], 'float32');
    const db = backend.makeOutput([shape[2]], 'float32');
    const [dyv, xv, wv, dxv, dwv, dbv] = views(backend, [dy!, x!, weight!, dx, dw, db]);
    const { n, s, c } = normSizes(shape, attrs);
    addon.groupNormGrad(dyv!, xv!, wv!, dxv!, dwv!, dbv!, n, s, c, attrs.groups, attrs.eps);
    return [dx, dw, db];
  },
  [KERNEL.depthwise]: (addon) => (args) => {
    const attrs = args.attrs as unknown as DepthwiseAttrs;
    const inputs = inputList(KERNEL.depthwise, args.inputs, 2 + Number(attrs.hasBias) + Number(attrs.hasMask));
    const [x, weight] = inputs;
    const bias = attrs.hasBias ? inputs[2]! : null;
    const mask = attrs.hasMask ? inputs[inputs.length - 1]! : null;
    const [b, t, c] = btc(KERNEL.depthwise, x!);
    if (weight!.shape.length !== 2 || weight!.shape[1] !== c)
      fail(KERNEL.depthwise, `weight: expected shape [K, ${c}], got [${weight!.shape.join(', ')}]`);
    if (bias !== null) expectShape(KERNEL.depthwise, 'bias', bias, [c]);
    if (mask !== null) expectShape(KERNEL.depthwise, 'mask', mask, [b, t, 1]);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput([b, t, c], 'float32');
    const [xv, wv, bv, mv, ov] = views(backend, [x!, weight!, bias, mask, out]);
    addon.depthwise(xv!, wv!, optional(bv), optional(mv), ov!, b, t, c, weight!.shape[0]!);
    return out;
  },
  [KERNEL.depthwiseGrad]: (addon) => (args) => {
    const attrs = args.attrs as unknown as DepthwiseAttrs;
    const inputs = inputList(KERNEL.depthwiseGrad, args.inputs, 3 + Number(attrs.hasMask));
    const [dy, x, weight] = inputs;
    const mask = attrs.hasMask ? inputs[3]! : null;
    const [b, t, c] = btc(KERNEL.depthwiseGrad, x!);
    expectShape(KERNEL.depthwiseGrad, 'dy', dy!, [b, t, c]);
    if (weight!.shape.length !== 2 || weight!.shape[1] !== c)
      fail(KERNEL.depthwiseGrad, `weight: expected shape [K, ${c}], got [${weight!.shape.join(', ')}]`);
    if (mask !== null) expectShape(KERNEL.depthwiseGrad, 'mask', mask, [b, t, 1]);
    const backend = args.backend as unknown as WasmHeapBackend;
    const dx = backend.makeOutput([b, t, c], 'float32');
    const dw = backend.makeOutput([...weight!.shape], 'float32');
    const db = attrs.hasBias ? backend.makeOutput([c], 'float32') : null;
    const [dyv, xv, wv, mv, dxv, dwv, dbv] = views(backend, [dy!, x!, weight!, mask, dx, dw, db]);
    addon.depthwiseGrad(dyv!, xv!, wv!, optional(mv), optional(dxv), dwv!, optional(dbv), b, t, c, weight!.shape[0]!);
    return db === null ? [dx, dw] : [dx, dw, db];
  },
  [KERNEL.attention]: (addon) => (args) => {
    const [q, k, v, mask] = inputList(KERNEL.attention, args.inputs, 4);
    const attrs = args.attrs as unknown as AttentionAttrs;
    const shape = btc(KERNEL.attention, q!);
    expectShape(KERNEL.attention, 'k', k!, shape);
    expectShape(KERNEL.attention, 'v', v!, shape);
    expectShape(KERNEL.attention, 'mask', mask!, [shape[0], shape[1], 1]);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput([...shape], 'float32');
    const [qv, kv, vv, mv, ov] = views(backend, [q!, k!, v!, mask!, out]);
    addon.attention(qv!, kv!, vv!, mv!, ov!, shape[0], shape[1], shape[2], attrs.heads, attrs.scale);
    return out;
  },
  [KERNEL.attentionGrad]: (addon) => (args) => {
    const [dout, q, k, v, mask] = inputList(KERNEL.attentionGrad, args.inputs, 5);
    const attrs = args.attrs as unknown as AttentionAttrs;
    const shape = btc(KERNEL.attentionGrad, q!);
    for (const [name, t] of [
      ['dout', dout!],
      ['k', k!],
      ['v', v!],
    ] as const)
      expectShape(KERNEL.attentionGrad, name, t, shape);
    expectShape(KERNEL.attentionGrad, 'mask', mask!, [shape[0], shape[1], 1]);
    const backend = args.backend as unknown as WasmHeapBackend;
    const dq = backend.makeOutput([...shape], 'float32');
    const dk = backend.makeOutput([...shape], 'float32');
    const dv = backend.makeOutput([...shape], 'float32');
    const [dov, qv, kv, vv, mv, dqv, dkv, dvv] = views(backend, [dout!, q!, k!, v!, mask!, dq, dk, dv]);
    addon.attentionGrad(dov!, qv!, kv!, vv!, mv!, dqv!, dkv!, dvv!, shape[0], shape[1], shape[2], attrs.heads, attrs.scale);
    return [dq, dk, dv];
  },
  [KERNEL.gelu]: (addon) => (args) => {
    const [x] = inputList(KERNEL.gelu, args.inputs, 1);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput([...x!.shape], 'float32');
    const [xv, ov] = views(backend, [x!, out]);
    addon.gelu(xv!, ov!);
    return out;
  },
  [KERNEL.geluGrad]: (addon) => (args) => {
    const [dy, x] = inputList(KERNEL.geluGrad, args.inputs, 2);
    expectShape(KERNEL.geluGrad, 'dy', dy!, x!.shape);
    const backend = args.backend as unknown as WasmHeapBackend;
    const dx = backend.makeOutput([...x!.shape], 'float32');
    const [dyv, xv, dxv] = views(backend, [dy!, x!, dx]);
    addon.geluGrad(dyv!, xv!, dxv!);
    return dx;
  },
  [KERNEL.tapSum]: (addon) => (args) => {
    const attrs = args.attrs as unknown as TapSumAttrs;
    const inputs = inputList(KERNEL.tapSum, args.inputs, 1 + Number(attrs.hasMask));
    const [taps] = inputs;
    const mask = attrs.hasMask ? inputs[1]! : null;
    const [b, t, kc] = btc(KERNEL.tapSum, taps!);
    if (kc % attrs.kernel !== 0) fail(KERNEL.tapSum, `taps: expected a multiple of ${attrs.kernel} channels, got ${kc}`);
    const c = kc / attrs.kernel;
    if (mask !== null) expectShape(KERNEL.tapSum, 'mask', mask, [b, t, 1]);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput([b, t, c], 'float32');
    const [tv, mv, ov] = views(backend, [taps!, mask, out]);
    addon.tapSum(tv!, optional(mv), ov!, b, t, c, attrs.kernel);
    return out;
  },
  [KERNEL.tapSumGrad]: (addon) => (args) => {
    const attrs = args.attrs as unknown as TapSumAttrs;
    const inputs = inputList(KERNEL.tapSumGrad, args.inputs, 1 + Number(attrs.hasMask));
    const [dout] = inputs;
    const mask = attrs.hasMask ? inputs[1]! : null;
    const [b, t, c] = btc(KERNEL.tapSumGrad, dout!);
    if (mask !== null) expectShape(KERNEL.tapSumGrad, 'mask', mask, [b, t, 1]);
    const backend = args.backend as unknown as WasmHeapBackend;
    const dtaps = backend.makeOutput([b, t, c * attrs.kernel], 'float32');
    const [dv, mv, tv] = views(backend, [dout!, mask, dtaps]);
    addon.tapSumGrad(dv!, optional(mv), tv!, b, t, c, attrs.kernel);
    return dtaps;
  },
  [KERNEL.maxPool]: (addon) => (args) => {
    const [x] = inputList(KERNEL.maxPool, args.inputs, 1);
    const [b, t, c] = btc(KERNEL.maxPool, x!);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput([b, Math.ceil(t / 2), c], 'float32');
    const [xv, ov] = views(backend, [x!, out]);
    addon.maxPool(xv!, ov!, b, t, c);
    return out;
  },
  [KERNEL.maxPoolGrad]: (addon) => (args) => {
    const [dy, x] = inputList(KERNEL.maxPoolGrad, args.inputs, 2);
    const [b, t, c] = btc(KERNEL.maxPoolGrad, x!);
    expectShape(KERNEL.maxPoolGrad, 'dy', dy!, [b, Math.ceil(t / 2), c]);
    const backend = args.backend as unknown as WasmHeapBackend;
    const dx = backend.makeOutput([b, t, c], 'float32');
    const [dyv, xv, dxv] = views(backend, [dy!, x!, dx]);
    addon.maxPoolGrad(dyv!, xv!, dxv!, b, t, c);
    return dx;
  },
  [KERNEL.linear]: (addon) => (args) => {
    const attrs = args.attrs as unknown as LinearAttrs;
    const inputs = inputList(KERNEL.linear, args.inputs, 2 + Number(attrs.hasBias) + Number(attrs.hasMask));
    const [x, weight] = inputs;
    const bias = attrs.hasBias ? inputs[2]! : null;
    const mask = attrs.hasMask ? inputs[inputs.length - 1]! : null;
    const { rows, k, n, outShape } = linearSizes(KERNEL.linear, x!, weight!, mask);
    if (bias !== null) expectShape(KERNEL.linear, 'bias', bias, [n]);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput(outShape, 'float32');
    const [xv, wv, bv, mv, ov] = views(backend, [x!, weight!, bias, mask, out]);
    addon.linear(xv!, wv!, optional(bv), optional(mv), ov!, rows, k, n);
    return out;
  },
  [KERNEL.linearGrad]: (addon) => (args) => {
    const attrs = args.attrs as unknown as LinearAttrs;
    const inputs = inputList(KERNEL.linearGrad, args.inputs, 3 + Number(attrs.hasMask));
    const [dy, x, weight] = inputs;
    const mask = attrs.hasMask ? inputs[3]! : null;
    const { rows, k, n, outShape } = linearSizes(KERNEL.linearGrad, x!, weight!, mask);
    expectShape(KERNEL.linearGrad, 'dy', dy!, outShape);
    const backend = args.backend as unknown as WasmHeapBackend;
    const dx = attrs.inputGrad ? backend.makeOutput([...x!.shape], 'float32') : null;
    const dw = backend.makeOutput([k, n], 'float32');
    const db = attrs.hasBias ? backend.makeOutput([n], 'float32') : null;
    const [dyv, xv, wv, mv, dxv, dwv, dbv] = views(backend, [dy!, x!, weight!, mask, dx, dw, db]);
    addon.linearGrad(dyv!, xv!, wv!, optional(mv), optional(dxv), dwv!, optional(dbv), rows, k, n);
    return [...(dx ? [dx] : []), dw, ...(db ? [db] : [])];
  },
  [KERNEL.gate]: (addon) => (args) => {
    const [u, wf, bf, wg, bg] = inputList(KERNEL.gate, args.inputs, 5);
    const [b, t, c] = btc(KERNEL.gate, u!);
    expectShape(KERNEL.gate, 'wf', wf!, [1, c]);
    expectShape(KERNEL.gate, 'wg', wg!, [1, c]);
    expectShape(KERNEL.gate, 'bf', bf!, [c]);
    expectShape(KERNEL.gate, 'bg', bg!, [c]);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput([b, t, c], 'float32');
    const [uv, wfv, bfv, wgv, bgv, ov] = views(backend, [u!, wf!, bf!, wg!, bg!, out]);
    addon.gate(uv!, wfv!, bfv!, wgv!, bgv!, ov!, b, t, c);
    return out;
  },
  [KERNEL.gateGrad]: (addon) => (args) => {
    const [dout, u, wf, bf, wg, bg] = inputList(KERNEL.gateGrad, args.inputs, 6);
    const [b, t, c] = btc(KERNEL.gateGrad, u!);
    expectShape(KERNEL.gateGrad, 'dout', dout!, [b, t, c]);
    for (const [name, v, shape] of [
      ['wf', wf!, [1, c]],
      ['wg', wg!, [1, c]],
      ['bf', bf!, [c]],
      ['bg', bg!, [c]],
    ] as const)
      expectShape(KERNEL.gateGrad, name, v, shape);
    const backend = args.backend as unknown as WasmHeapBackend;
    const du = backend.makeOutput([b, t, c], 'float32');
    const grads = [
      backend.makeOutput([1, c], 'float32'),
      backend.makeOutput([c], 'float32'),
      backend.makeOutput([1, c], 'float32'),
      backend.makeOutput([c], 'float32'),
    ];
    const [dov, uv, wfv, bfv, wgv, bgv, duv, dwfv, dbfv, dwgv, dbgv] = views(backend, [dout!, u!, wf!, bf!, wg!, bg!, du, ...grads]);
    addon.gateGrad(dov!, uv!, wfv!, bfv!, wgv!, bgv!, duv!, dwfv!, dbfv!, dwgv!, dbgv!, b, t, c);
    return [du, ...grads];
  },
  [KERNEL.residual]: (addon) => (args) => {
    const attrs = args.attrs as unknown as ResidualAttrs;
    const slots = residualSlots(attrs);
    const inputs = inputList(KERNEL.residual, args.inputs, slots.count);
    const at = (i: number) => (i < 0 ? null : inputs[i]!);
    const [x, a] = inputs;
    const [b, t, c] = btc(KERNEL.residual, x!);
    expectShape(KERNEL.residual, 'a', a!, [b, t, c]);
    residualShapes(KERNEL.residual, [b, t, c], at(slots.mask), at(slots.b), at(slots.scale), at(slots.keep));
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput([b, t, c], 'float32');
    const [xv, av, mv, bv, sv, kv, ov] = views(backend, [x!, a!, at(slots.mask), at(slots.b), at(slots.scale), at(slots.keep), out]);
    addon.residual(xv!, optional(mv), av!, optional(bv), optional(sv), optional(kv), ov!, b, t, c);
    return out;
  },
  [KERNEL.residualGrad]: (addon) => (args) => {
    const attrs = args.attrs as unknown as ResidualAttrs;
    const slots = residualSlots(attrs);
    // [dout, a, ...the forward's optional inputs]
    const inputs = inputList(KERNEL.residualGrad, args.inputs, slots.count);
    const at = (i: number) => (i < 0 ? null : inputs[i]!);
    const [dout, a] = inputs;
    const [b, t, c] = btc(KERNEL.residualGrad, dout!);
    expectShape(KERNEL.residualGrad, 'a', a!, [b, t, c]);
    residualShapes(KERNEL.residualGrad, [b, t, c], at(slots.mask), at(slots.b), at(slots.scale), at(slots.keep));
    const backend = args.backend as unknown as WasmHeapBackend;
    const dx = backend.makeOutput([b, t, c], 'float32');
    const da = backend.makeOutput([b, t, c], 'float32');
    const ds = attrs.hasScale ? backend.makeOutput([c], 'float32') : null;
    const [dov, av, mv, bv, sv, kv, dxv, dav, dsv] = views(backend, [
      dout!,
      a!,
      at(slots.mask),
      at(slots.b),
      at(slots.scale),
      at(slots.keep),
      dx,
      da,
      ds,
    ]);
    addon.residualGrad(dov!, optional(mv), av!, optional(bv), optional(sv), optional(kv), dxv!, dav!, optional(dsv), b, t, c);
    return ds ? [dx, da, ds] : [dx, da];
  },
  [KERNEL.sgd]: (addon) => (args) => {
    const [p, g] = inputList(KERNEL.sgd, args.inputs, 2);
    const attrs = args.attrs as unknown as SgdAttrs;
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput([...p!.shape], 'float32');
    const [pv, gv, ov] = views(backend, [p!, g!, out]);
    addon.sgd(pv!, gv!, attrs.buffer, ov!, attrs.lr, attrs.momentum, attrs.weightDecay, attrs.first);
    return out;
  },
};

function run(kernel: string, inputs: tf.Tensor[], attrs: object): tf.Tensor | tf.Tensor[] {
  return tf.engine().runKernel(kernel, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap);
}

/** Gradients of the forward kernels; each runs its gradient kernel once and hands out the parts. */
const GRADIENTS: tf.GradConfig[] = [
  {
    kernelName: KERNEL.groupNorm,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const [x, weight] = saved;
      const [dx, dw, db] = run(KERNEL.groupNormGrad, [dy as tf.Tensor, x!, weight!], attrs) as tf.Tensor[];
      return { 0: () => dx!, 1: () => dw!, 2: () => db! };
    },
  },
  {
    kernelName: KERNEL.depthwise,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const { hasBias, hasMask } = attrs as unknown as DepthwiseAttrs;
      const [x, weight] = saved;
      const mask = hasMask ? saved[saved.length - 1]! : null;
      const grads = run(KERNEL.depthwiseGrad, [dy as tf.Tensor, x!, weight!, ...(mask ? [mask] : [])], attrs) as tf.Tensor[];
      const out: Record<string, () => tf.Tensor> = { 0: () => grads[0]!, 1: () => grads[1]! };
      if (hasBias) out[2] = () => grads[2]!;
      if (mask) out[String(saved.length - 1)] = () => tf.zerosLike(mask);
      return out;
    },
  },
  {
    kernelName: KERNEL.attention,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const [q, k, v, mask] = saved;
      const [dq, dk, dv] = run(KERNEL.attentionGrad, [dy as tf.Tensor, q!, k!, v!, mask!], attrs) as tf.Tensor[];
      return { 0: () => dq!, 1: () => dk!, 2: () => dv!, 3: () => tf.zerosLike(mask!) };
    },
  },
  {
    kernelName: KERNEL.gelu,
    saveAllInputs: true,
    gradFunc: (dy, saved) => {
      const dx = run(KERNEL.geluGrad, [dy as tf.Tensor, saved[0]!], {}) as tf.Tensor;
      return { 0: () => dx };
    },
  },
  {
    kernelName: KERNEL.linear,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const { hasBias, hasMask, inputGrad } = attrs as unknown as LinearAttrs;
      const [x, weight] = saved;
      const mask = hasMask ? saved[saved.length - 1]! : null;
      const grads = run(KERNEL.linearGrad, [dy as tf.Tensor, x!, weight!, ...(mask ? [mask] : [])], attrs) as tf.Tensor[];
      const dx = inputGrad ? grads.shift()! : null;
      const [dw, db] = grads;
      const out: Record<string, () => tf.Tensor> = {
        0: () => {
          if (dx === null)
            throw new Error(`${KERNEL.linear}: the input's gradient was not asked for (inputGrad: false), but the input needs one`);
          return dx;
        },
        1: () => dw!,
      };
      if (hasBias) out[2] = () => db!;
      if (mask) out[String(saved.length - 1)] = () => tf.zerosLike(mask);
      return out;
    },
  },
  {
    kernelName: KERNEL.gate,
    saveAllInputs: true,
    gradFunc: (dy, saved) => {
      const grads = run(KERNEL.gateGrad, [dy as tf.Tensor, ...saved], {}) as tf.Tensor[];
      return Object.fromEntries(grads.map((g, i) => [String(i), () => g]));
    },
  },
  {
    kernelName: KERNEL.residual,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const slots = residualSlots(attrs as unknown as ResidualAttrs);
      const [, a, ...rest] = saved;
      const grads = run(KERNEL.residualGrad, [dy as tf.Tensor, a!, ...rest], attrs) as tf.Tensor[];
      const [dx, da, ds] = grads;
      const out: Record<string, () => tf.Tensor> = { 0: () => dx!, 1: () => da! };
      // a and b get the same gradient: a separate tensor for b (the tape may dispose a's when it sums more into it)
      if (slots.b >= 0) out[slots.b] = () => tf.clone(da!);
      if (slots.scale >= 0) out[slots.scale] = () => ds!;
      for (const slot of [slots.mask, slots.keep]) if (slot >= 0) out[slot] = () => tf.zerosLike(saved[slot]!);
      return out;
    },
  },
  {
    kernelName: KERNEL.maxPool,
    saveAllInputs: true,
    gradFunc: (dy, saved) => {
      const dx = run(KERNEL.maxPoolGrad, [dy as tf.Tensor, saved[0]!], {}) as tf.Tensor;
      return { 0: () => dx };
    },
  },
  {
    kernelName: KERNEL.tapSum,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const { hasMask } = attrs as unknown as TapSumAttrs;
      const mask = hasMask ? saved[1]! : null;
      const dtaps = run(KERNEL.tapSumGrad, [dy as tf.Tensor, ...(mask ? [mask] : [])], attrs) as tf.Tensor;
      const out: Record<string, () => tf.Tensor> = { 0: () => dtaps };
      if (mask) out[1] = () => tf.zerosLike(mask);
      return out;
    },
  },
];

/** The wasm kernels swapped for native element-wise ones, with the addon's operation code. */
const ELEMENTWISE = { Add: 0, Multiply: 1 } as const;

/** Whether `small` is `large`'s shape or its trailing dimensions (leading 1s ignored): repeated along large. */
function repeatsAlong(large: readonly number[], small: readonly number[]): boolean {
  let start = 0;
  while (start < small.length - 1 && small[start] === 1) start++;
  const tail = small.slice(start);
  return tail.length <= large.length && tail.every((d, i) => d === large[large.length - tail.length + i]);
}

function elementwiseKernel(op: 0 | 1, original: tf.KernelConfig, addon: NativeGemmAddon): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original.kernelFunc(args);
    // both orders are the same operation: the repeated operand goes second
    const [large, small] = repeatsAlong(a.shape, b.shape) ? [a, b] : repeatsAlong(b.shape, a.shape) ? [b, a] : [null, null];
    if (large === null || small === null || tf.util.sizeFromShape(small.shape) === 0) return original.kernelFunc(args);
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    // e.g. [C] against [1, 1, C]: the output has the larger rank
    if (tf.util.sizeFromShape(shape) !== tf.util.sizeFromShape(large.shape)) return original.kernelFunc(args);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput(shape, 'float32');
    const [lv, sv, ov] = views(backend, [large, small, out]);
    addon.binary(op, lv!, sv!, ov!);
    return out;
  };
}

let gradientsRegistered = false;
let registered = false;

/** Registers the kernels for the wasm backend on `addon` (idempotent), and their gradients once. */
export function registerNativeKernels(addon: NativeGemmAddon): void {
  if (!gradientsRegistered) {
    for (const config of GRADIENTS) if (tf.getGradient(config.kernelName) == null) tf.registerGradient(config);
    gradientsRegistered = true;
  }
  if (registered) return;
  for (const name of KERNEL_NAMES) {
    if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: KERNELS[name](addon) });
  }
  for (const [name, op] of Object.entries(ELEMENTWISE)) swapWasmKernel(name, (original) => elementwiseKernel(op, original, addon));
  registered = true;
}

/** Removes the kernels (the network then takes its tfjs-op path) and puts the wasm Add and Multiply back. */
export function unregisterNativeKernels(): void {
  if (!registered) return;
  for (const name of KERNEL_NAMES) if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
  for (const name of Object.keys(ELEMENTWISE)) restoreWasmKernel(name);
  registered = false;
}

/** Whether the ops below can run now: the wasm backend is active and the native kernels are registered. */
export function nativeKernelsActive(): boolean {
  return registered && tf.getBackend() === 'wasm';
}

/**
 * Group norm of `x [B, T, C]` with affine `weight`, `bias` `[C]`: statistics per sample and group
 * of C/groups channels over all T, or with `perStep` per sample and step (a layer norm over the
 * channels when groups is 1).
 */
export function nativeGroupNorm(x: tf.Tensor3D, weight: tf.Tensor, bias: tf.Tensor, attrs: NormAttrs): tf.Tensor3D {
  return run(KERNEL.groupNorm, [x, weight, bias], attrs) as tf.Tensor3D;
}

/**
 * Depthwise conv along T of `x [B, T, C]` with `weight [K, C]` (K odd, tap j reads step
 * `t + j - K // 2`, zero outside), plus `bias [C]`, times `mask [B, T, 1]`.
 */
export function nativeDepthwise(x: tf.Tensor3D, weight: tf.Tensor, bias?: tf.Tensor, mask?: tf.Tensor3D): tf.Tensor3D {
  const inputs = [x, weight, ...(bias ? [bias] : []), ...(mask ? [mask] : [])];
  return run(KERNEL.depthwise, inputs, { hasBias: bias !== undefined, hasMask: mask !== undefined }) as tf.Tensor3D;
}

/**
 * Softmax attention of `q`, `k`, `v` `[B, T, C]` in `heads` heads of C/heads channels: scores
 * `(q * scale) k^T`, keys where `mask [B, T, 1]` is 0 get -inf, values are multiplied by the mask.
 * Returns the heads side by side, `[B, T, C]`.
 */
export function nativeAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor3D, attrs: AttentionAttrs): tf.Tensor3D {
  return run(KERNEL.attention, [q, k, v, mask], attrs) as tf.Tensor3D;
}

/** GELU, `x * Phi(x)` (erf to about 4e-7). */
export function nativeGelu<T extends tf.Tensor>(x: T): T {
  return run(KERNEL.gelu, [x], {}) as T;
}

/**
 * A full conv along T from its taps: `taps [B, T, K * C]` holds, per step, every tap's product
 * (tap j in channels j*C to (j+1)*C); output step t sums tap j of step `t + j - K // 2` (zero
 * outside the sequence), times `mask [B, T, 1]`.
 */
export function nativeTapSum(taps: tf.Tensor3D, kernel: number, mask?: tf.Tensor3D): tf.Tensor3D {
  return run(KERNEL.tapSum, [taps, ...(mask ? [mask] : [])], { kernel, hasMask: mask !== undefined }) as tf.Tensor3D;
}

/**
 * A 1x1 conv on `x [..., K]` with `weight [K, N]`: `(x W + bias) * mask` (mask `[B, T, 1]` for x
 * `[B, T, K]`). `inputGrad: false` computes no gradient for x (the network's first layer, whose
 * input is the data); using one then is an error.
 */
export function nativeLinear<T extends tf.Tensor>(
  x: T,
  weight: tf.Tensor,
  options: { bias?: tf.Tensor; mask?: tf.Tensor; inputGrad?: boolean } = {},
): T {
  const { bias, mask } = options;
  const attrs: LinearAttrs = { hasBias: bias !== undefined, hasMask: mask !== undefined, inputGrad: options.inputGrad ?? true };
  return run(KERNEL.linear, [x, weight, ...(bias ? [bias] : []), ...(mask ? [mask] : [])], attrs) as T;
}

/** An SSD layer's kv input: `(u * wf + bf) * relu(mean over T of u * wg + bg)`, weights `[1, C]` (depthwise kernel 1), biases `[C]`. */
export function nativeGate(u: tf.Tensor3D, wf: tf.Tensor, bf: tf.Tensor, wg: tf.Tensor, bg: tf.Tensor): tf.Tensor3D {
  return run(KERNEL.gate, [u, wf, bf, wg, bg], {}) as tf.Tensor3D;
}

/**
 * A residual join on `[B, T, C]`: `x * mask + ((a + b) * scale) * keep`, each of mask `[B, T, 1]`,
 * b, scale `[C]` and keep `[B]` (one factor per sample) optional.
 */
export function nativeResidual(
  x: tf.Tensor3D,
  a: tf.Tensor3D,
  options: { mask?: tf.Tensor3D; b?: tf.Tensor3D; scale?: tf.Tensor; keep?: tf.Tensor1D } = {},
): tf.Tensor3D {
  const { mask, b, scale, keep } = options;
  const attrs: ResidualAttrs = {
    hasMask: mask !== undefined,
    hasB: b !== undefined,
    hasScale: scale !== undefined,
    hasKeep: keep !== undefined,
  };
  const optionalInputs = [mask, b, scale, keep].filter((t): t is tf.Tensor => t !== undefined);
  return run(KERNEL.residual, [x, a, ...optionalInputs], attrs) as tf.Tensor3D;
}

/**
 * Max-pool along T of `x [B, T, C]`: kernel 3, stride 2, padding 1 (padding never wins), output
 * step i the max of steps 2i-1, 2i, 2i+1; ties to the earliest step, a NaN wins (PyTorch's rules).
 */
export function nativeMaxPool(x: tf.Tensor3D): tf.Tensor3D {
  return run(KERNEL.maxPool, [x], {}) as tf.Tensor3D;
}

/**
 * One SGD update of parameter `p` with gradient `g` (PyTorch's semantics, the same arithmetic as
 * the host loop of the model's SGD): returns the new values; `attrs.buffer` is updated in place.
 */
export function nativeSgdStep(p: tf.Tensor, g: tf.Tensor, attrs: SgdAttrs): tf.Tensor {
  if (attrs.buffer !== null && attrs.buffer.length !== p.size) {
    throw new Error(`${KERNEL.sgd}: buffer: expected ${p.size} values, got ${attrs.buffer.length}`);
  }
  return run(KERNEL.sgd, [p, g], attrs) as tf.Tensor;
}
