import type { PthNetConfig, PyramidLevel } from './types.js';

/** The published FERV39k configuration (ViT-g features): 10,419,719 parameters. */
export const DEFAULT_PTHNET_CONFIG: Readonly<PthNetConfig> = Object.freeze<PthNetConfig>({
  n_in: 1408,
  n_embd: 512,
  mlp_dim: 768,
  max_len: 16,
  arch: [2, 2, 1, 1],
  scale_factor: 2,
  with_ln: true,
  path_pdrop: 0.1,
  downsample_type: 'max',
  thr_size: [3, 1, 3, 3],
  k: [1, 3, 5],
  use_pos: false,
  num_classes: 7,
});

export const PYRAMID_LEVELS: readonly PyramidLevel[] = ['L', 'M', 'H'];

/** Index of each level in `config.k` ([L, M, H]). */
export const LEVEL_KERNEL_INDEX: Record<PyramidLevel, number> = { L: 0, M: 1, H: 2 };

export const CHANNEL_NORM_EPS = 1e-5;
export const GROUP_NORM_EPS = 1e-5;
export const GROUP_NORM_GROUPS = 16;
export const ATTENTION_HEADS = 8;
/** Kernel of the masked depthwise convs in front of q, k and v (fixed in the reference). */
export const ATTENTION_CONV_KERNEL = 3;
/** Initial value of the learnable drop-path scales. */
export const DROP_PATH_SCALE_INIT = 1e-4;
/** Each level goes through two stride-2 max-pools, so its length must divide by this. */
export const LEVEL_LENGTH_MULTIPLE = 4;
/** Seed of the initial weights and of stochastic depth when none is given. */
export const DEFAULT_PTHNET_SEED = 0;
