import type { BackendPreference, JsonValue, PipelineConfig } from 'shared';

/**
 * What `extract.backbone` holds: the backbone's registered `name`, its `preset`, `custom` shape,
 * `normalize`, `checkpoint` and `weightBudget` (bytes; absent or null: the backbone decides).
 */
export type BackboneConfig = Omit<PipelineConfig['extract']['backbone'], 'weightBudget'> & { weightBudget?: number | null };

/** A batch of video windows: RGB uint8, row-major `[batch, frames, height, width, 3]`. */
export interface VideoWindowBatch {
  data: Uint8Array;
  shape: readonly [number, number, number, number, number];
}

/**
 * Checkpoint tensors in the layout the checkpoint stores them (PyTorch's for the ViT), read one
 * at a time: a loader converts each and drops it before reading the next.
 */
export interface BackboneTensorSource {
  /** Every key and shape (a wrapper prefix such as `module.` already removed). */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** The values of one key, row-major float32. */
  read(key: string): Promise<Float32Array>;
  close(): Promise<void>;
  /** Shown in error messages. */
  readonly description: string;
  /** The file behind it, when there is one (carried by `CheckpointError.path`). */
  readonly path?: string;
}

/**
 * What a configured backbone is, before any weights: enough to plan extraction, check what the
 * next stage gets and key the feature cache.
 */
export interface BackboneSpec {
  /** The registered backbone's name (`extract.backbone.name`). */
  readonly backbone: string;
  /** Which variant, for logs: the ViT's preset (`vit-s16`, ..., `custom`). */
  readonly label: string;
  /** Width of one feature row. */
  readonly featureDim: number;
  /** The windows it takes: `frames` per window; frames of any size are resized to `height` x `width`. */
  readonly window: { readonly frames: number; readonly height: number; readonly width: number };
  /**
   * What, besides the checkpoint's hash, decides its features: part of every feature file's cache
   * key, under a key of the backbone's own (the ViT's is `vit`), so changing it redoes the features.
   */
  readonly cacheParams: Readonly<Record<string, JsonValue>>;
  /** The checkpoint it loads, in words, for errors: "a VideoMAE v2 checkpoint (.pth or .safetensors)". */
  readonly checkpointKind: string;
  /** Floating-point operations of one window (a multiply-add counts 2), for the benchmark's GFLOP/s. */
  readonly flopsPerWindow: number;
}

/** Where weights come from: a checkpoint file, seeded random values, or tensors at hand (in this thread only). */
export type BackboneWeights = { checkpoint: string } | { randomSeed: number } | { tensors: BackboneTensorSource };

export interface OpenBackboneOptions {
  weights: BackboneWeights;
  /**
   * Worker threads, each with its own tfjs backend and its own weights (or, streamed, its own
   * turn through them). Without it the backbone runs in this thread, on the backend already selected.
   */
  workers?: number;
  /** The backend each worker selects. Default `wasm`. */
  backend?: BackendPreference;
}

/** A loaded backbone: windows in, one feature row per window out. */
export interface Backbone {
  readonly spec: BackboneSpec;
  /** Worker threads it runs on; 0 when it runs in this thread. */
  readonly workers: number;
  /** The tfjs backend it runs on (as `selectBackend` names it). */
  readonly backend: string;
  /** The same, for logs: with the matMul library on wasm (`describeBackend`). */
  readonly backendDetail: string;
  /** How the weights are held, for logs (e.g. streamed block by block); absent when there is nothing to say. */
  readonly weightsDetail?: string;
  /** Features of every window: `[batch, spec.featureDim]` row-major. The caller's buffer is left as it was. */
  extractFeatures(windows: VideoWindowBatch): Promise<Float32Array>;
  /** Frees the weights and stops the workers. */
  close(): Promise<void>;
}

/**
 * One kind of backbone network: one file under `backbones/`, registered with one line in
 * `backbones/registry.ts`.
 */
export interface BackboneDefinition<Spec extends BackboneSpec = BackboneSpec> {
  /** The value of `extract.backbone.name` that picks it. */
  readonly name: string;
  /** What it is, in a few words (errors, --help). */
  readonly summary: string;
  /** Values `extract.backbone.preset` may take. */
  readonly presets: readonly string[];
  /** Validates `extract.backbone` (preset, custom, normalize) and fills the defaults; `ConfigError` naming the bad key. */
  resolve(config: BackboneConfig): Spec;
  /**
   * Checks a checkpoint against the spec (format, keys, shapes) without loading its weights:
   * `extract` calls it before anything is planned or recorded, so that a bad checkpoint is
   * refused without touching the manifest. Throws `CheckpointError` naming the file.
   */
  check(spec: Spec, checkpoint: string): Promise<void>;
  /** Loads the weights (checking them against the spec) and gets ready to extract. */
  open(spec: Spec, options: OpenBackboneOptions): Promise<Backbone>;
  /** Seeded random weights in checkpoint layout, the same on every machine (benchmarks, the demo's backbone). */
  randomTensors(spec: Spec, seed: number): BackboneTensorSource;
}
