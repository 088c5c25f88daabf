/** What a caller may ask for: `auto` tries the fastest first and falls back quietly. */
export type BackendPreference = 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';

/** A concrete backend of ours (the tfjs registry name differs for the node ones: `tensorflow`). */
export type BackendName = Exclude<BackendPreference, 'auto'>;

export interface BackendAttempt {
  name: BackendName;
  /** Why it did not load; absent for the one that runs. */
  error?: string;
}

export interface SelectedBackend {
  /** The backend that now runs every tfjs op. */
  name: BackendName;
  /** The name tfjs-core knows it by (`tf.getBackend()`). */
  tfjsName: string;
  /** Every backend tried, in order, the last one being `name`. */
  tried: BackendAttempt[];
  /** On wasm: whether its matMuls run on OpenBLAS (see native-gemm.ts). */
  gemm?: NativeGemmStatus;
}

/** The OpenBLAS binding in `packages/shared/native` (see native-gemm.ts). */
export interface NativeGemmAddon {
  gemm(
    transposeA: boolean,
    transposeB: boolean,
    batch: number,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    strideA: number,
    b: Float32Array,
    strideB: number,
    out: Float32Array,
    bias: Float32Array | null,
  ): void;
  /** Threads (the calling one included) of this thread's pool, which runs the products and the kernels below. */
  setThreads(threads: number): void;
  info(): { config: string; core: string; threads: number };
  /** Norm of `x [N, S, C]` over S x C/groups values per (n, group), affine per channel. */
  groupNorm(
    x: Float32Array,
    weight: Float32Array,
    bias: Float32Array,
    out: Float32Array,
    n: number,
    s: number,
    c: number,
    groups: number,
    eps: number,
  ): void;
  groupNormGrad(
    dy: Float32Array,
    x: Float32Array,
    weight: Float32Array,
    dx: Float32Array | null,
    dweight: Float32Array,
    dbias: Float32Array,
    n: number,
    s: number,
    c: number,
    groups: number,
    eps: number,
  ): void;
  /** Depthwise conv along T of `x [B, T, C]`, weight `[K, C]`, zero "same" padding, then bias, then times `mask [B, T]`. */
  depthwise(
    x: Float32Array,
    weight: Float32Array,
    bias: Float32Array | null,
    mask: Float32Array | null,
    out: Float32Array,
    b: number,
    t: number,
    c: number,
    k: number,
  ): void;
  depthwiseGrad(
    dy: Float32Array,
    x: Float32Array,
    weight: Float32Array,
    mask: Float32Array | null,
    dx: Float32Array | null,
    dweight: Float32Array,
    dbias: Float32Array | null,
    b: number,
    t: number,
    c: number,
    k: number,
  ): void;
  /** Softmax attention per sample and head on `[B, T, C]` (heads of C/heads channels), masked keys and values. */
  attention(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    mask: Float32Array,
    out: Float32Array,
    b: number,
    t: number,
    c: number,
    heads: number,
    scale: number,
  ): void;
  attentionGrad(
    dout: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    mask: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    b: number,
    t: number,
    c: number,
    heads: number,
    scale: number,
  ): void;
  gelu(x: Float32Array, out: Float32Array): void;
  geluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  /** Sum of the K shifted taps of a full conv along T (`taps [B, T, K * C]`), times `mask [B, T]`. */
  tapSum(taps: Float32Array, mask: Float32Array | null, out: Float32Array, b: number, t: number, c: number, k: number): void;
  tapSumGrad(dout: Float32Array, mask: Float32Array | null, dtaps: Float32Array, b: number, t: number, c: number, k: number): void;
  /** Max-pool along T of `x [B, T, C]`, kernel 3, stride 2, padding 1: `out [B, ceil(T / 2), C]`. */
  maxPool(x: Float32Array, out: Float32Array, b: number, t: number, c: number): void;
  maxPoolGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, b: number, t: number, c: number): void;
  /** `out [rows, N] = (x [rows, K] weight [K, N] + bias) * mask[row]` */
  linear(
    x: Float32Array,
    weight: Float32Array,
    bias: Float32Array | null,
    mask: Float32Array | null,
    out: Float32Array,
    rows: number,
    k: number,
    n: number,
  ): void;
  linearGrad(
    dy: Float32Array,
    x: Float32Array,
    weight: Float32Array,
    mask: Float32Array | null,
    dx: Float32Array | null,
    dweight: Float32Array,
    dbias: Float32Array | null,
    rows: number,
    k: number,
    n: number,
  ): void;
  /** `out = (u * wf + bf) * relu(mean over T of u * wg + bg)` on `u [B, T, C]`. */
  gate(
    u: Float32Array,
    wf: Float32Array,
    bf: Float32Array,
    wg: Float32Array,
    bg: Float32Array,
    out: Float32Array,
    b: number,
    t: number,
    c: number,
  ): void;
  gateGrad(
    dout: Float32Array,
    u: Float32Array,
    wf: Float32Array,
    bf: Float32Array,
    wg: Float32Array,
    bg: Float32Array,
    du: Float32Array,
    dwf: Float32Array,
    dbf: Float32Array,
    dwg: Float32Array,
    dbg: Float32Array,
    b: number,
    t: number,
    c: number,
  ): void;
  /** `out = x * mask + ((a + b) * scale) * keep` on `[B, T, C]`, mask `[B, T]`, scale `[C]`, keep `[B]`. */
  residual(
    x: Float32Array,
    mask: Float32Array | null,
    a: Float32Array,
    b: Float32Array | null,
    scale: Float32Array | null,
    keep: Float32Array | null,
    out: Float32Array,
    batch: number,
    t: number,
    c: number,
  ): void;
  residualGrad(
    dout: Float32Array,
    mask: Float32Array | null,
    a: Float32Array,
    b: Float32Array | null,
    scale: Float32Array | null,
    keep: Float32Array | null,
    dx: Float32Array,
    da: Float32Array,
    dscale: Float32Array | null,
    batch: number,
    t: number,
    c: number,
  ): void;
  /** `out = a + b` (op 0) or `a * b` (op 1), `b` repeated along `a` (its length divides a's). */
  binary(op: 0 | 1, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** One SGD update with PyTorch's momentum and weight decay (`buffer` null without momentum). */
  sgd(
    p: Float32Array,
    g: Float32Array,
    buffer: Float32Array | null,
    out: Float32Array,
    lr: number,
    momentum: number,
    weightDecay: number,
    first: boolean,
  ): void;
}

/** Whether the wasm backend's matMuls run on OpenBLAS, and why not when they do not. */
export type NativeGemmStatus = { active: true; library: string; core: string; threads: number } | { active: false; reason: string };
