import { ATTENTION_CONV_KERNEL, DEFAULT_PTHNET_CONFIG } from '../../pthnet/constants.js';
import type { PthNetConfig } from '../../pthnet/types.js';

/**
 * The published FERV39k configuration (reference `main.py` defaults): 10,419,719 parameters,
 * the key set of `fixtures/shapes.json`. Also the defaults for config fields a checkpoint's
 * shapes cannot tell (max_len, scale_factor, use_pos, downsample_type, path_pdrop's value).
 * It is the network's own default config.
 */
export const PTHNET_FERV39K_CONFIG: Readonly<PthNetConfig> = DEFAULT_PTHNET_CONFIG;

/** The q/k/v conv kernel of every SSD layer (fixed in the reference code). */
export { ATTENTION_CONV_KERNEL as CROSS_ATTENTION_CONV_KERNEL };

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

/** `<base>.prev.*`: the previous complete set, kept while a new one is written (`savePthNetCheckpoint`'s `keepPrevious`). */
export const PREVIOUS_SUFFIX = '.prev';
