import type { PthNetConfig } from '../../pthnet/types.js';

/**
 * The published FERV39k configuration (reference `main.py` defaults): 10,419,719 parameters,
 * the key set of `fixtures/shapes.json`. Also the defaults for config fields a checkpoint's
 * shapes cannot tell (max_len, scale_factor, use_pos, downsample_type, path_pdrop's value).
 */
export const PTHNET_FERV39K_CONFIG: Readonly<PthNetConfig> = Object.freeze({
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
} satisfies PthNetConfig);

/** GroupNorm groups in every SSD layer (fixed in the reference code). */
export const SSD_GROUP_NORM_GROUPS = 16;
/** Attention heads of the SSD cross-attention (fixed in the reference code). */
export const SSD_ATTENTION_HEADS = 8;
/** Kernel of the depthwise q/k/v convs inside the cross-attention (fixed in the reference code). */
export const CROSS_ATTENTION_CONV_KERNEL = 3;

/** Module lists of SSD layers, in registration order, with their `arch`/`thr_size` index. */
export const SSD_STAGES = [
  { prefix: 'stem', index: 1 },
  { prefix: 'branch_1', index: 2 },
  { prefix: 'branch_2', index: 3 },
] as const;

export const CHECKPOINT_FORMAT = 'pthnet-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** File suffixes of one checkpoint `<name>`. */
export const WEIGHTS_SUFFIX = '.safetensors';
export const OPTIMIZER_SUFFIX = '.optimizer.safetensors';
export const SIDECAR_SUFFIX = '.json';

/** Momentum buffers are named `optimizer.momentum_buffer.<parameter key>`. */
export const MOMENTUM_PREFIX = 'optimizer.momentum_buffer.';

/** safetensors `__metadata__` keys. */
export const METADATA_FORMAT = 'format';
export const METADATA_CHECKPOINT_ID = 'pthnet.checkpoint_id';
export const METADATA_CONFIG = 'pthnet.config';
export const METADATA_EPOCH = 'pthnet.epoch';

/** Root keys of a reference trainer checkpoint that are not metrics. */
export const TORCH_NON_METRIC_KEYS: readonly string[] = ['epoch', 'state_dict', 'optimizer', 'recorder', 'module', 'model', 'args'];
