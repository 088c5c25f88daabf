import type { VitPresetName, VitShape } from './types.js';

/** Sizes of the published VideoMAE v2 backbones (SPEC section 4); all see 16 frames of 224 x 224 in tubes of 2. */
export const VIT_PRESETS: Readonly<Record<VitPresetName, Readonly<VitShape>>> = {
  'vit-s16': { patchSize: 16, embedDim: 384, depth: 12, numHeads: 6, mlpRatio: 4, imageSize: 224, numFrames: 16, tubeletSize: 2 },
  'vit-b16': { patchSize: 16, embedDim: 768, depth: 12, numHeads: 12, mlpRatio: 4, imageSize: 224, numFrames: 16, tubeletSize: 2 },
  'vit-l16': { patchSize: 16, embedDim: 1024, depth: 24, numHeads: 16, mlpRatio: 4, imageSize: 224, numFrames: 16, tubeletSize: 2 },
  'vit-h16': { patchSize: 16, embedDim: 1280, depth: 32, numHeads: 16, mlpRatio: 4, imageSize: 224, numFrames: 16, tubeletSize: 2 },
  // 48/11 makes the hidden width exactly 6144 (int(1408 * 48 / 11)), as in the ViT-g checkpoint.
  'vit-g14': { patchSize: 14, embedDim: 1408, depth: 40, numHeads: 16, mlpRatio: 48 / 11, imageSize: 224, numFrames: 16, tubeletSize: 2 },
};

export const VIT_PRESET_NAMES = Object.keys(VIT_PRESETS) as VitPresetName[];

/** The pipeline's default backbone: the one behind the published PTH-Net features. */
export const DEFAULT_VIT_PRESET: VitPresetName = 'vit-g14';

/** Defaults of a `custom` shape for the keys it leaves out (embedDim, depth and numHeads have none). */
export const VIT_CUSTOM_DEFAULTS: Readonly<Pick<VitShape, 'patchSize' | 'mlpRatio' | 'imageSize' | 'numFrames' | 'tubeletSize'>> = {
  patchSize: 16,
  mlpRatio: 4,
  imageSize: 224,
  numFrames: 16,
  tubeletSize: 2,
};

/** Other spellings of the shape keys: the pipeline config's `custom` block and the reference code's kwargs. */
export const VIT_SHAPE_KEY_ALIASES: Readonly<Record<string, keyof VitShape>> = {
  patch: 'patchSize',
  patch_size: 'patchSize',
  width: 'embedDim',
  embed_dim: 'embedDim',
  heads: 'numHeads',
  num_heads: 'numHeads',
  mlp_ratio: 'mlpRatio',
  img_size: 'imageSize',
  image_size: 'imageSize',
  frames: 'numFrames',
  num_frames: 'numFrames',
  tubelet: 'tubeletSize',
  tubelet_size: 'tubeletSize',
};

/** Keys of the reference config that say nothing about the backbone's features and are accepted and ignored. */
export const VIT_IGNORED_CONFIG_KEYS: readonly string[] = ['num_classes', 'numClasses'];

/** LayerNorm epsilon of every norm in VideoMAE v2 (`partial(nn.LayerNorm, eps=1e-6)`). */
export const VIT_LAYER_NORM_EPS = 1e-6;

/** Base of the sinusoid position table. */
export const VIT_POSITION_TABLE_BASE = 10000;

/** RGB. */
export const VIT_IN_CHANNELS = 3;

/** State-dict prefixes left by training wrappers (DataParallel, timm EMA holders); removed when every key has one. */
export const VIT_STATE_DICT_PREFIXES: readonly string[] = ['module.', 'model.'];

/** Containers the official checkpoints keep their state dict under (or none: a bare state dict). */
export const VIT_STATE_DICT_CONTAINERS: readonly string[] = ['module', 'model', 'state_dict'];

/** Keys that do not feed the features: the classification head. */
export const VIT_IGNORED_WEIGHT_PREFIXES: readonly string[] = ['head.'];

/** Standard deviation of the random weights used by benchmarks (timm's trunc_normal_ std). */
export const VIT_RANDOM_WEIGHT_STD = 0.02;

/** Workers of a pool when not told: one per core of the 2-core reference machine. */
export const DEFAULT_VIT_POOL_WORKERS = 2;

/** Largest heap the tfjs 4.22 wasm backend can grow to (its `getHeapMax()`: 4 GiB less one 64 KiB page). */
export const WASM_HEAP_MAX_BYTES = 4_294_901_760;
