import type * as tf from '@tensorflow/tfjs-core';
import type { BackendPreference } from 'shared';
import type { BackboneTensorSource, VideoWindowBatch } from '../backbones/types.js';

/** The published VideoMAE v2 backbones (SPEC section 4). */
export type VitPresetName = 'vit-s16' | 'vit-b16' | 'vit-l16' | 'vit-h16' | 'vit-g14';

/** Per-channel (R, G, B) mean/std applied after scaling to [0, 1]. */
export interface VitNormalization {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** The shape of a VideoMAE v2 ViT, everything the forward pass needs. */
export interface VitShape {
  /** Spatial patch side `p` of the Conv3d patch embedding. */
  patchSize: number;
  /** Token width D. */
  embedDim: number;
  depth: number;
  numHeads: number;
  /** MLP hidden width is `floor(embedDim * mlpRatio)`. */
  mlpRatio: number;
  /** Side of the square frames the model sees (224 for every published checkpoint). */
  imageSize: number;
  /** Frames per window. */
  numFrames: number;
  /** Frames per tube: the temporal kernel and stride of the patch embedding. */
  tubeletSize: number;
}

/** A validated config with its derived sizes. */
export interface VitConfig extends VitShape {
  /** The preset it came from, or `custom`. */
  preset: VitPresetName | 'custom';
  /** `embedDim / numHeads`. */
  headDim: number;
  /** `floor(embedDim * mlpRatio)`. */
  mlpHidden: number;
  /** `imageSize / patchSize`: tokens per row and per column. */
  gridSize: number;
  /** `numFrames / tubeletSize`. */
  tubeCount: number;
  /** `tubeCount * gridSize^2`. */
  tokenCount: number;
  /** `null`: none, as in the reference feature extraction. */
  normalize: VitNormalization | null;
}

/**
 * What `resolveVitConfig` accepts: a preset (default `vit-g14`) with optional shape overrides,
 * or `preset: 'custom'` with the shape spelt out (`embedDim`, `depth`, `numHeads` required, the
 * rest defaulting to the ViT-B/16 values). Shape keys may also be written as in the pipeline
 * config (`patch`, `width`, `heads`, `frames`, `tubelet`) or as in the reference code
 * (`patch_size`, `embed_dim`, `num_heads`, `mlp_ratio`, `img_size`, `num_frames`, `tubelet_size`).
 */
export interface VitConfigInput extends Partial<VitShape> {
  preset?: VitPresetName | 'custom';
  normalize?: VitNormalization | { mean: readonly number[]; std: readonly number[] } | null;
}

/** What a checkpoint's shapes tell about the model (the head count and image size they cannot tell). */
export interface InferredVitShape {
  embedDim: number;
  patchSize: number;
  tubeletSize: number;
  inChannels: number;
  depth: number;
  mlpHidden: number;
}

/** Checkpoint tensors in PyTorch layout, read one at a time (see `BackboneTensorSource`). */
export type VitTensorSource = BackboneTensorSource;

/**
 * One attention head's projections, split out of `qkv.weight` at load so that each comes out of
 * its own 2-D matMul, already head-major: no slicing of activations (wasm's Slice copies its
 * whole input to JS first).
 */
export interface VitHeadWeights {
  /** `[D, headDim]`, the query rows of `qkv.weight` transposed and scaled by `headDim^-0.5`. */
  queryKernel: tf.Tensor2D;
  /** `q_bias` of this head, scaled by `headDim^-0.5`. */
  queryBias: tf.Tensor1D;
  /** `[D, headDim]`; keys have no bias (the reference concatenates zeros). */
  keyKernel: tf.Tensor2D;
  valueKernel: tf.Tensor2D;
  valueBias: tf.Tensor1D;
}

export interface VitBlockWeights {
  norm1Gamma: tf.Tensor1D;
  norm1Beta: tf.Tensor1D;
  heads: VitHeadWeights[];
  /** `[D, D]` = `proj.weight^T`. */
  projKernel: tf.Tensor2D;
  projBias: tf.Tensor1D;
  norm2Gamma: tf.Tensor1D;
  norm2Beta: tf.Tensor1D;
  /** `[D, hidden]`. */
  fc1Kernel: tf.Tensor2D;
  fc1Bias: tf.Tensor1D;
  /** `[hidden, D]`. */
  fc2Kernel: tf.Tensor2D;
  fc2Bias: tf.Tensor1D;
}

/** Weights in the layouts the forward pass multiplies with, on the active tfjs backend. */
export interface VitWeights {
  /** `[tubelet * p * p * 3, D]`, rows in (frame, row, column, channel) order. */
  patchKernel: tf.Tensor2D;
  patchBias: tf.Tensor1D;
  blocks: VitBlockWeights[];
  fcNormGamma: tf.Tensor1D;
  fcNormBeta: tf.Tensor1D;
}

export interface LoadVitWeightsOptions {
  /** `auto` (default) tells a torch zip from safetensors by the file's first bytes. */
  format?: 'auto' | 'torch' | 'safetensors';
}

/** How a model's weights sit on its backend: all of them, or streamed block by block from the checkpoint. */
export interface VitWeightPlan {
  streamed: boolean;
  /** Most weight bytes on the backend at once: the whole model, or the patch embedding, fc_norm and one block. */
  heldBytes: number;
  /** Bytes of all the weights. */
  totalBytes: number;
  /** `extract.backbone.weightBudget` in bytes; null: streamed only when the model would not fit the backend. */
  budget: number | null;
}

/** What one model (one worker) has held, measured as it ran. */
export interface VitMemoryStats {
  streamed: boolean;
  /** Most bytes of weight tensors on the backend at once (counted exactly). */
  weightBytesPeak: number;
  /** Most bytes of all tensors on the backend (`tf.memory().numBytes`), sampled after each block's weights came in and after each block ran. */
  tensorBytesPeak: number;
  /** Weight bytes brought onto the backend in all (streaming brings every block in once per pass). */
  weightBytesLoaded: number;
}

export interface VitModel {
  readonly config: VitConfig;
  readonly weightPlan: VitWeightPlan;
  /** One feature row per window: `[batch, embedDim]` row-major. */
  extractFeatures(windows: VideoWindowBatch): Promise<Float32Array>;
  memoryStats(): VitMemoryStats;
  /** Frees the weights (and closes a streamed model's checkpoint). */
  dispose(): Promise<void>;
}

/** Where a worker gets its weights: a checkpoint file, or seeded random ones (benchmarks). */
export type VitWeightsSpec = { path: string; format?: LoadVitWeightsOptions['format'] } | { randomSeed: number };

export interface VitWorkerPoolOptions {
  config: VitConfig | VitConfigInput | VitPresetName;
  /** Checkpoint to load in every worker; without it, `randomSeed` gives random weights. */
  weightsPath?: string;
  weightsFormat?: LoadVitWeightsOptions['format'];
  /** Seed of the random weights used when there is no `weightsPath`. Default 0. */
  randomSeed?: number;
  /** Worker threads, each with its own backend and its own copy of the weights. Default 2. */
  workers?: number;
  /** Backend each worker selects. Default `wasm`. */
  backend?: BackendPreference;
  /** Most weight bytes each worker holds at once (see `planVitWeights`); null or absent: stream only what would not fit. */
  weightBudget?: number | null;
}

export interface VitWorkerPool {
  readonly config: VitConfig;
  readonly workers: number;
  /** The backend each worker ended up on. */
  readonly backend: string;
  /** The same, for logs: with the matMul library on wasm (`describeBackend`). */
  readonly backendDetail: string;
  /** How each worker holds its weights. */
  readonly weightPlan: VitWeightPlan;
  /** Splits the batch across the idle workers; resolves to `[batch, embedDim]` row-major. */
  extractFeatures(windows: VideoWindowBatch): Promise<Float32Array>;
  /** Each worker's memory figures so far. */
  memoryStats(): Promise<VitMemoryStats[]>;
  close(): Promise<void>;
}
