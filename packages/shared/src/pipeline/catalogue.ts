/**
 * The artifact catalogue: every kind of artifact the pipeline makes, the stage that makes it,
 * how it is laid out on disk, the version of the code that makes it, its identity constructor
 * and its path. Stages, the manifest and `pthnet status` all take names from here; nothing
 * else spells an artifact's identity.
 */
import path from 'node:path';
import { cacheKey, cacheKeyOfInput } from '../cache/cache-key.js';
import type { CacheKeyInput } from '../cache/types.js';
import { ConfigError } from '../errors/index.js';
import { insideEach } from '../paths/confine.js';
import type { ClipSourceKind, Direction } from '../manifest/constants.js';

/** The pipeline's stages in run order (`pthnet status` lists them in this order). */
export const PIPELINE_STAGES = ['ingest', 'extract', 'import-features', 'datasets', 'train', 'eval', 'cv'] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

/** Each artifact kind and the stage that makes it; `ARTIFACT_CATALOGUE` has one entry per kind. */
interface KindStages {
  features: 'extract';
  'packed-dataset': 'datasets';
  'training-run': 'train';
  report: 'eval';
  'cv-report': 'cv';
}
export type ArtifactKind = keyof KindStages;

/**
 * `file`: the artifact is one file, written to a temp file and renamed into place.
 * `folder`: the artifact is a folder of files; a record file listing each file with its size and
 * sha256 is written last (atomically), and that record is what the manifest points at (see
 * `produceArtifact`).
 */
export type ArtifactLayout = 'file' | 'folder';

/** The parts that tell artifacts of one kind apart; which ones a kind uses is up to its constructor. */
interface IdentityParts {
  /** Null for artifacts that are not per clip (datasets, training runs, reports). */
  clipId?: string | null;
  direction?: Direction | null;
  stride?: number | null;
  source?: ClipSourceKind | null;
  /** Anything else that names it (a split, a report folder). Default ''. */
  variant?: string;
  /** The dataset it is made from, for artifacts made from a whole dataset; null for per-clip ones. */
  dataset?: string | null;
}

/** The identity of an artifact of kind `K`: its stage is the catalogue's for that kind. */
export type ArtifactIdentityOf<K extends ArtifactKind> = { kind: K; stage: KindStages[K] } & IdentityParts;

/**
 * What an artifact is. Two artifacts with the same identity are the same thing made at
 * different times (possibly from different inputs); the cache key tells those apart.
 */
export type ArtifactIdentity = { [K in ArtifactKind]: ArtifactIdentityOf<K> }[ArtifactKind];

/** The file a folder artifact's record is written to, inside the folder; the manifest records this file. */
export const ARTIFACT_RECORD_FILE = 'artifact.json';

/** The folder of a `folder` artifact, from the path the manifest records for it (its record file). */
export function artifactFolderOf(recordedPath: string): string {
  return path.dirname(recordedPath);
}

/** A path relative to the data directory, or absolute. */
function underDataDir(dataDir: string, p: string): string {
  return path.isAbsolute(p) ? p : path.join(dataDir, p);
}

// ------------------------------------------------------------------- features

export interface FeatureFolder {
  tag: string;
  windowLength: number;
  stride: number;
  source: ClipSourceKind;
  direction: Direction;
}

/** `<tag>_<window>_<stride>[_face][_rv]`, the reference feature folder name (SPEC section 3). */
export function featureFolderName(f: FeatureFolder): string {
  return `${f.tag}_${f.windowLength}_${f.stride}${f.source === 'face' ? '_face' : ''}${f.direction === 'reversed' ? '_rv' : ''}`;
}

/** Inverse of `featureFolderName`; undefined for a folder that is not a feature folder. */
export function parseFeatureFolderName(name: string): FeatureFolder | undefined {
  const m = /^(.+)_(\d+)_(\d+)((?:_face|_rv)*)$/.exec(name);
  if (!m) return undefined;
  const flags = m[4] ?? '';
  return {
    // biome-ignore lint/style/noNonNullAssertion: group 1, (.+), takes part in every match of the pattern
    tag: m[1]!,
    windowLength: Number(m[2]),
    stride: Number(m[3]),
    source: flags.includes('_face') ? 'face' : 'raw',
    direction: flags.includes('_rv') ? 'reversed' : 'forward',
  };
}

/** The identity of one clip's features at one stride, direction and source (made by `extract`, or registered by `import-features`). */
export function featureIdentity(
  clipId: string,
  direction: Direction,
  stride: number,
  source: ClipSourceKind,
): ArtifactIdentityOf<'features'> {
  return { stage: 'extract', kind: 'features', clipId, direction, stride, source };
}

/**
 * `<dataDir>/features/<tag>_16_<stride>[_face][_rv]/<clip id>.npy`, the reference layout. A clip
 * id that would leave that folder (absolute, or `..` climbing out) is an `InputError`
 * (`path_escape`): ids come from lists, and a list never decides where a file is written.
 */
export function featurePath(dataDir: string, clipId: string, folder: FeatureFolder): string {
  // biome-ignore lint/style/noNonNullAssertion: one folder, one path
  return featurePathsOf(dataDir, [folder])(clipId)[0]!;
}

/** `featurePath` of a clip in each of several feature folders, for many clips (a whole plan): the folders are resolved once and each clip id confined once. */
export function featurePathsOf(dataDir: string, folders: readonly FeatureFolder[]): (clipId: string) => string[] {
  const inside = insideEach(folders.map((folder) => path.join(dataDir, 'features', featureFolderName(folder))));
  return (clipId) => inside(`${clipId}.npy`, `clip id "${clipId}"`);
}

// ------------------------------------------------------------------- datasets

/**
 * The dataset of the manifest a stage works on (`--dataset`, see `resolveDataset`). Packed
 * datasets, training runs and reports belong to one dataset: it is part of their identity. With
 * one dataset in the manifest they go where they always went; once it holds several, each
 * dataset's go in a folder named after it, so that two datasets never share a path.
 */
export interface DatasetScope {
  /** The dataset's name, as in `clips.dataset`. */
  name: string;
  /** The manifest holds other datasets too: this one's artifacts go in a folder of its own. */
  ownFolder: boolean;
}

/** `base`, or `base/<dataset>` when the dataset needs a folder of its own. */
function inDatasetFolder(base: string, scope: DatasetScope): string {
  if (!scope.ownFolder) return base;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(scope.name)) {
    throw new ConfigError(
      `dataset ${JSON.stringify(scope.name)}: expected a name usable as a folder (letters, digits, '.', '_', '-') to keep it apart from the other datasets of the manifest`,
    );
  }
  return path.join(base, scope.name);
}

// ------------------------------------------------------------------- folds

/**
 * The split of fold `fold` (1-based) in `role`: `set_<fold>_train`, `set_<fold>_test`. Layouts
 * with folds (DFEW, MAFW) record every fold's members under these names, and `pthnet cv` packs,
 * trains and evaluates on them; `foldOfSplit` (import-features) reads `set_<k>` back from them.
 */
export function foldSplit(fold: number, role: 'train' | 'test'): string {
  return `${foldName(fold)}_${role}`;
}

/** `set_<fold>`: the folder a fold's training runs and report go in. */
export function foldName(fold: number): string {
  return `set_${fold}`;
}

// ------------------------------------------------------------------- packed datasets

/** One packed dataset: a split's clips in one direction, from one feature source. */
export interface PackedDatasetSpec {
  split: string;
  direction: Direction;
  source: ClipSourceKind;
}

/** `<source>_<direction>_<split>`: the packed dataset's name (its folder and file prefix). */
export function packedDatasetName(spec: PackedDatasetSpec): string {
  return `${spec.source}_${spec.direction}_${spec.split}`;
}

export function packedDatasetIdentity(dataset: string, spec: PackedDatasetSpec): ArtifactIdentityOf<'packed-dataset'> {
  return { stage: 'datasets', kind: 'packed-dataset', dataset, direction: spec.direction, source: spec.source, variant: spec.split };
}

/** `<dataDir>/datasets/[<dataset>/]<name>/`. */
export function packedDatasetFolder(dataDir: string, scope: DatasetScope, spec: PackedDatasetSpec): string {
  return path.join(inDatasetFolder(path.join(dataDir, 'datasets'), scope), packedDatasetName(spec));
}

// ------------------------------------------------------------------- training runs

/** One training run: a network trained on one direction of one feature source (of one fold, under `pthnet cv`). */
export interface TrainingRunSpec {
  direction: Direction;
  source: ClipSourceKind;
  /** The fold (1-based) whose train split it learns, for the runs of `pthnet cv`; absent for `pthnet train`'s. */
  fold?: number;
}

export function trainingRunIdentity(dataset: string, spec: TrainingRunSpec): ArtifactIdentityOf<'training-run'> {
  return {
    stage: 'train',
    kind: 'training-run',
    dataset,
    direction: spec.direction,
    source: spec.source,
    ...(spec.fold === undefined ? {} : { variant: foldName(spec.fold) }),
  };
}

/**
 * `<out>/[<dataset>/][set_<fold>/]<source>_<direction>/`, `out` (`train.out`) relative to the
 * data directory unless absolute.
 */
export function trainingRunFolder(dataDir: string, out: string, scope: DatasetScope, spec: TrainingRunSpec): string {
  const base = inDatasetFolder(underDataDir(dataDir, out), scope);
  return path.join(spec.fold === undefined ? base : path.join(base, foldName(spec.fold)), `${spec.source}_${spec.direction}`);
}

/** The best checkpoint's weights of a done training run, from the path the manifest records for it. */
export function bestCheckpointOf(recordedPath: string): string {
  return path.join(artifactFolderOf(recordedPath), 'best.safetensors');
}

// ------------------------------------------------------------------- reports

/** The report of `eval` on a dataset into the folder `out` (`eval.out`, as configured). */
export function reportIdentity(dataset: string, out: string): ArtifactIdentityOf<'report'> {
  return { stage: 'eval', kind: 'report', dataset, variant: out };
}

/** `<out>[/<dataset>]`, `out` relative to the data directory unless absolute. */
export function reportFolder(dataDir: string, out: string, scope: DatasetScope): string {
  return inDatasetFolder(underDataDir(dataDir, out), scope);
}

// ------------------------------------------------------------------- cross-validation reports

/** The report of `pthnet cv` on a dataset into the folder `out` (`cv.out`); each fold's own report is a `report` in `<out>/set_<k>`. */
export function cvReportIdentity(dataset: string, out: string): ArtifactIdentityOf<'cv-report'> {
  return { stage: 'cv', kind: 'cv-report', dataset, variant: out };
}

/** `<out>[/<dataset>]`, `out` relative to the data directory unless absolute (as `reportFolder`). */
export function cvReportFolder(dataDir: string, out: string, scope: DatasetScope): string {
  return inDatasetFolder(underDataDir(dataDir, out), scope);
}

// ------------------------------------------------------------------- the catalogue

export interface CatalogueEntry<K extends ArtifactKind> {
  stage: KindStages[K];
  layout: ArtifactLayout;
  /**
   * Version of the code that makes this kind, part of every cache key: bump it when a change
   * alters the output, and exactly these artifacts (and what depends on them) are redone.
   */
  codeVersion: string;
  /** What one artifact of this kind is, for messages and docs. */
  summary: string;
  /** The identity constructor (each kind takes its own arguments). */
  identity: (...args: never[]) => ArtifactIdentityOf<K>;
  /** Where an artifact of this kind goes: its file, or its folder for the `folder` layout. */
  path: (...args: never[]) => string;
}

/** One entry per artifact kind, in pipeline order. */
export const ARTIFACT_CATALOGUE = {
  features: {
    stage: 'extract',
    layout: 'file',
    codeVersion: 'extract/1',
    summary: "one clip's features at one stride, direction and source: float32 [windows, D] .npy",
    identity: featureIdentity,
    path: featurePath,
  },
  'packed-dataset': {
    stage: 'datasets',
    layout: 'folder',
    // 2: the packed index records the strides its features were picked at (`datasets.strides`)
    codeVersion: 'datasets/2',
    summary: "a split's H, M and L features in one direction, packed: one float32 file per level and an index",
    identity: packedDatasetIdentity,
    path: packedDatasetFolder,
  },
  'training-run': {
    stage: 'train',
    layout: 'folder',
    codeVersion: 'train/1',
    summary: 'a PTH-Net training run: best and last checkpoints, log.jsonl, curves.png',
    identity: trainingRunIdentity,
    path: trainingRunFolder,
  },
  report: {
    stage: 'eval',
    layout: 'folder',
    codeVersion: 'eval/1',
    summary: 'an evaluation report: metrics.json, predictions.csv, report.md, charts',
    identity: reportIdentity,
    path: reportFolder,
  },
  'cv-report': {
    stage: 'cv',
    layout: 'folder',
    codeVersion: 'cv/1',
    summary: "a k-fold cross-validation report: per-fold and mean UAR/WAR, the folds' chart, the summed confusion matrix",
    identity: cvReportIdentity,
    path: cvReportFolder,
  },
} as const satisfies { [K in ArtifactKind]: CatalogueEntry<K> };

export const ARTIFACT_KINDS = Object.keys(ARTIFACT_CATALOGUE) as ArtifactKind[];

/** Whether `kind` is one of the catalogue's kinds. */
export function isArtifactKind(kind: unknown): kind is ArtifactKind {
  return typeof kind === 'string' && Object.hasOwn(ARTIFACT_CATALOGUE, kind);
}

/** Position of a stage in the pipeline, for sorting; unknown stages go last. */
export function stageRank(stage: string): number {
  const rank = (PIPELINE_STAGES as readonly string[]).indexOf(stage);
  return rank === -1 ? PIPELINE_STAGES.length : rank;
}

/** The cache key of an artifact of `kind`: its stage and code version come from the catalogue. */
export function artifactCacheKey(kind: ArtifactKind, input: Pick<CacheKeyInput, 'params' | 'inputs'>): string {
  const entry = ARTIFACT_CATALOGUE[kind];
  return cacheKey({ stage: entry.stage, kind, params: input.params, inputs: input.inputs, codeVersion: entry.codeVersion });
}

/** `artifactCacheKey` for many artifacts of `kind` that differ in one input's hash alone (see `cacheKeyOfInput`). */
export function artifactCacheKeyOfInput(kind: ArtifactKind, params: CacheKeyInput['params'], role: string): (hash: string) => string {
  const entry = ARTIFACT_CATALOGUE[kind];
  return cacheKeyOfInput({ stage: entry.stage, kind, params, codeVersion: entry.codeVersion }, role);
}
