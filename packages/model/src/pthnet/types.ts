/**
 * Configuration of a PTH-Net, named as in the reference code (`expected.json` "config" in
 * the golden fixtures) so that a reference config round-trips unchanged.
 */
export interface PthNetConfig {
  /** Feature width of the backbone (1408 for ViT-g). */
  n_in: number;
  /** Channel width C of the temporal network. */
  n_embd: number;
  /** Hidden width of the SSD-layer MLP. */
  mlp_dim: number;
  /** Length of level H (the others are max_len / 2 and / 4). */
  max_len: number;
  /** [embedding convs, stem layers, branch-1 layers, branch-2 layers]. */
  arch: [number, number, number, number];
  /** Temporal downsampling factor between levels. */
  scale_factor: number;
  with_ln: boolean;
  /** Drop-path probability in the branches (also decides where the learnable scales exist). */
  path_pdrop: number;
  downsample_type: 'max';
  /** Kernel sizes: [embedding, stem, branch 1, branch 2]. */
  thr_size: [number, number, number, number];
  /** Level-specific kernels [L, M, H]. */
  k: [number, number, number];
  use_pos: boolean;
  num_classes: number;
}

export type PyramidLevel = 'H' | 'M' | 'L';

/** A parameter as stored in a checkpoint: reference (PyTorch) shape, row-major data. */
export interface ParameterTensor {
  shape: number[];
  data: Float32Array;
}

/** Parameters keyed by reference name, in reference order. */
export type StateDict = Map<string, ParameterTensor>;

/**
 * How a parameter is laid out inside the network, next to its reference layout. The big
 * matrices are kept in the orientation the matMul kernel wants, so that no step has to
 * transpose them: transposed matMuls fall off the fast (XNNPACK) path of the wasm backend.
 */
export type ParameterLayout =
  /** `[Cout, Cin, k]` full conv kept as `[Cin, k * Cout]` (column `j * Cout + o` holds tap j). */
  | 'conv'
  /** `[Cout, Cin, 1]` 1x1 conv or `[Cout, Cin]` linear kept as `[Cin, Cout]`. */
  | 'matrix'
  /** `[C, 1, k]` depthwise conv kept as `[k, C]`. */
  | 'depthwise'
  /** `[1, C, 1]` or `[C]` per-channel vector kept as `[C]`. */
  | 'vector'
  /** Never read by the forward pass (`pos_embed*`): kept exactly as in the reference. */
  | 'unused';

export interface ParameterSpec {
  /** Reference name, e.g. `stem.1.cross_att.query.weight`. */
  name: string;
  /** Reference (PyTorch) shape, as in checkpoints and `shapes.json`. */
  shape: number[];
  /** Shape of the tf.Variable that holds it. */
  internalShape: number[];
  layout: ParameterLayout;
  /** What the reference initialises it to (conv/linear weights: uniform of bound 1/sqrt(fanIn)). */
  init: { kind: 'uniform'; fanIn: number } | { kind: 'constant'; value: number };
}

/** The three pyramid levels of one batch, `[B, C, T]` features and `[B, 1, T]` masks. */
export interface PyramidBatch<T> {
  x_L: T;
  x_M: T;
  x_H: T;
  m_L: T;
  m_M: T;
  m_H: T;
}

export interface ForwardOptions {
  /** Train mode: stochastic depth in the branches (when the drop-path probability is > 0). */
  training: boolean;
  /** Uniform [0, 1) source for stochastic depth; defaults to the network's seeded generator. */
  dropPathRng?: () => number;
  /** Overrides the network's drop-path probability for this call (0 turns stochastic depth off). */
  dropPathProb?: number;
}

export interface PyramidLogits<T> {
  p_L: T;
  p_M: T;
  p_H: T;
}

export interface PthNetLoss<T> {
  loss: T;
  loss_ce: T;
  loss_kl_L: T;
  loss_kl_M: T;
}
