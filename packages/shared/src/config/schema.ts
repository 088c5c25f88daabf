import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { BACKENDS, DEFAULT_DATA_DIR, DIRECTIONS, SOURCES, WINDOW_RULES } from './constants.js';
import { parseByteSize } from './size.js';

/**
 * The pipeline config: one typed object for every stage, read from `pthnet.config.json`
 * and overridden by flags. Every field has a documented default, so an empty file (or none)
 * is a valid config: the published FERV39k recipe with the ViT-g backbone.
 */

const positiveInt = z.number().int().positive();
const nonNegative = z.number().nonnegative();

/**
 * One dataset to ingest. The layout and its options (`splits`, `sources`, `fold`, `lists`,
 * `checkFiles`, `labels`, ...) pass through to the extract package's layout registry, which
 * knows the layout names, fills the defaults and names a bad key.
 */
export const datasetSourceSchema = z.looseObject({
  /** Name used in the manifest (`clips.dataset`). */
  name: z.string().min(1),
  /** How the root is laid out: the name of a layout registered in the extract package (`pthnet ingest --help` lists them). */
  layout: z.string().min(1),
  /** Dataset root (relative paths resolve against the working directory). */
  root: z.string().min(1),
});

/**
 * The feature backbone. `name` picks one registered in the extract package (default there:
 * `videomae-v2`), which validates the rest and names a bad key.
 */
export const backboneSchema = z.strictObject({
  /** A registered backbone (`pthnet extract --help` lists them); unset: the VideoMAE v2 ViT. */
  name: z.string().min(1).optional(),
  /** The ViT's `vit-s16`, `vit-b16`, `vit-l16`, `vit-h16`, `vit-g14` (its default), or `custom` (then `custom` holds the shape). */
  preset: z.string().optional(),
  /** Backbone weights: for the ViT an official VideoMAE v2 `.pth` or a `.safetensors` file. */
  checkpoint: z.string().optional(),
  /** Shape overrides (the ViT's patch, width, depth, heads, mlpRatio, imageSize), the whole shape when preset is `custom`. */
  custom: z.record(z.string(), z.number()).optional(),
  /** Mean/std normalisation after scaling to [0, 1]; the reference extraction uses none. */
  normalize: z
    .object({ mean: z.array(z.number()).length(3), std: z.array(z.number()).length(3) })
    .nullable()
    .default(null),
  /**
   * Most bytes of backbone weights one worker (or the calling thread) holds at once: a model
   * larger than this is streamed from its checkpoint block by block. Bytes, or a size such as
   * `512MiB`; null: stream only what would not fit the backend (ViT-g/14 on wasm).
   */
  weightBudget: z
    .unknown()
    .default(null)
    .transform((value, ctx): number | null => {
      if (value === null) return null;
      const bytes = parseByteSize(value);
      if (bytes === null) {
        ctx.addIssue({ code: 'custom', message: 'expected a positive size such as 512MiB, 2GiB or a number of bytes' });
        return z.NEVER;
      }
      return bytes;
    }),
});

export const pipelineConfigSchema = z.strictObject({
  /** Working directory of manifests and artifacts. */
  dataDir: z.string().min(1).default(DEFAULT_DATA_DIR),
  /** TensorFlow.js backend: `auto` picks node-gpu > node > wasm > cpu, whichever loads. */
  backend: z.enum(BACKENDS).default('auto'),
  /**
   * Worker threads for CPU-bound stages (each runs its own backend). Bounded by the cores: more
   * threads than cores only adds memory (each holds a backend and its weights) and contention.
   */
  workers: positiveInt
    .max(availableParallelism(), { error: `expected at most ${availableParallelism()} (the CPU cores of this machine)` })
    .default(Math.min(2, availableParallelism())),
  /**
   * The dataset of the manifest that `datasets`, `train`, `eval` and `predict` work on
   * (`--dataset`); null: the only one there (with several, they ask which).
   */
  dataset: z.string().min(1).nullable().default(null),
  /**
   * Where the manifest lives: a SQLite file (relative to the current directory) or a PostgreSQL
   * database (`postgres://user@host:port/db`) that processes on several machines share; null:
   * `<dataDir>/manifest.sqlite`. `$PTHNET_MANIFEST_URL` overrides it.
   */
  manifest: z
    .string()
    .min(1)
    .refine((value) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /^postgres(ql)?:\/\//i.test(value), {
      error: (issue) => `expected a postgres:// URL or a SQLite file path, got ${JSON.stringify(issue.input)}`,
    })
    .nullable()
    .default(null),
  ingest: z
    .strictObject({
      datasets: z.array(datasetSourceSchema).default([]),
    })
    .prefault({}),
  extract: z
    .strictObject({
      backbone: backboneSchema.prefault({}),
      /** Feature folder prefix, as in the reference layout `th14_vit_g_16_<stride>`. */
      tag: z.string().min(1).default('th14_vit_g'),
      strides: z.array(positiveInt).min(1).default([4, 8, 16]),
      windowLength: positiveInt.default(16),
      rule: z.enum(WINDOW_RULES).default('cover'),
      directions: z.array(z.enum(DIRECTIONS)).min(1).default(['forward', 'reversed']),
      sources: z.array(z.enum(SOURCES)).min(1).default(['raw']),
      /** Windows per backbone batch. */
      batchSize: positiveInt.default(16),
      /** Clips decoded at once. */
      decodeConcurrency: positiveInt.default(2),
    })
    .prefault({}),
  datasets: z
    .strictObject({
      /** Which feature source the datasets are built from. */
      source: z.enum(SOURCES).default('raw'),
      /** Stride of each pyramid level (SPEC section 5): H, M, L. */
      strides: z.strictObject({ H: positiveInt, M: positiveInt, L: positiveInt }).default({ H: 4, M: 8, L: 16 }),
      /** Split used for validation during training and for evaluation. */
      testSplit: z.string().default('test'),
      trainSplit: z.string().default('train'),
    })
    .prefault({}),
  train: z
    .strictObject({
      epochs: positiveInt.default(20),
      batchSize: positiveInt.default(32),
      lr: z.number().positive().default(0.005),
      milestones: z
        .array(positiveInt)
        .refine((ms) => ms.every((m, i) => i === 0 || m > (ms[i - 1] ?? 0)), { error: 'expected strictly increasing epochs' })
        .default([5, 10, 15]),
      gamma: z.number().positive().max(1).default(0.1),
      momentum: nonNegative.max(1).default(0.9),
      weightDecay: nonNegative.default(1e-4),
      direction: z.enum(['forward', 'reversed', 'both']).default('both'),
      seed: z.number().int().nonnegative().default(0),
      shuffle: z.boolean().default(true),
      noise: nonNegative.default(0.0005),
      dropPath: nonNegative.max(0.99).default(0.1),
      /** Initial weights: one of our checkpoints or a reference `.pth`. */
      init: z.string().nullable().default(null),
      /** Output folder of runs (relative to dataDir). */
      out: z.string().default('runs'),
      /** PTH-Net size overrides (defaults: the published FERV39k config). */
      model: z.record(z.string(), z.unknown()).default({}),
    })
    .prefault({}),
  demo: z
    .strictObject({
      /** Seed of the generated demo clips. */
      seed: z.number().int().nonnegative().default(7),
      /** Clips per class and split of the demo set. */
      clipsPerClass: z.strictObject({ train: positiveInt.default(24), test: positiveInt.default(8) }).prefault({}),
    })
    .prefault({}),
  eval: z
    .strictObject({
      mu: z.number().min(0).max(1).default(0.7),
      sweep: z.boolean().default(false),
      /** Report folder (relative to dataDir). */
      out: z.string().default('reports/latest'),
    })
    .prefault({}),
  cv: z
    .strictObject({
      /** The folds `pthnet cv` runs (splits `set_<k>_train` / `set_<k>_test`); DFEW and MAFW have five. */
      folds: z
        .array(positiveInt)
        .min(1)
        .refine((folds) => new Set(folds).size === folds.length, { error: 'expected distinct fold numbers' })
        .default([1, 2, 3, 4, 5]),
      /** The cross-validation report's folder (relative to dataDir); fold k's own report goes in `<out>/set_<k>`. */
      out: z.string().default('reports/cv'),
    })
    .prefault({}),
});

/** The validated config with every default filled in. */
export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;
/** What a config file or a set of flags may contain. */
export type PipelineConfigInput = z.input<typeof pipelineConfigSchema>;
export type DatasetSourceConfig = z.infer<typeof datasetSourceSchema>;
