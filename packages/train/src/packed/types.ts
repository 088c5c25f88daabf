import type { FeatureProblemCode } from '../feature-check/types.js';
import type { Level } from '../sampling/types.js';

/** One clip to pack: its id, label and the `.npy` feature file `[windows, D]` of each level. */
export interface PackedClipSource {
  readonly id: string;
  readonly label: number;
  readonly levels: Readonly<Record<Level, string>>;
  /** Row counts the list announced (`<windows>`); a file that disagrees is reported, the file wins. */
  readonly windows?: Readonly<Partial<Record<Level, number>>>;
}

export interface BuildPackedDatasetOptions {
  readonly clips: readonly PackedClipSource[];
  /** Folder of the packed files (created if missing). */
  readonly outDir: string;
  /** Base name of the files, e.g. `train_All.forward`: letters, digits, `.`, `_`, `-`. */
  readonly name: string;
  /** Label names by index, stored with the data (other loaders use other label orders). */
  readonly labelNames?: readonly string[];
  /**
   * Feature stride of each level's files, recorded in the index (`datasets.strides`); default
   * the published 4, 8, 16 (`LEVEL_STRIDES`).
   */
  readonly strides?: Readonly<Record<Level, number>>;
  /** Called after each clip of each pass. */
  readonly onProgress?: (progress: { phase: 'probe' | Level; done: number; total: number }) => void;
}

/** Why a clip was left out of a packed dataset. */
export interface SkippedClip {
  readonly id: string;
  readonly level: Level;
  readonly path: string;
  readonly reason: 'missing-file' | 'empty' | 'unreadable';
  /** The check that failed (`import-features` uses the same codes); absent in indexes written before there were codes. */
  readonly check?: FeatureProblemCode;
  readonly detail: string;
}

export interface RowCountMismatch {
  readonly id: string;
  readonly level: Level;
  readonly path: string;
  readonly listed: number;
  readonly actual: number;
}

export interface BuildPackedDatasetResult {
  readonly indexPath: string;
  readonly dataPaths: Readonly<Record<Level, string>>;
  /** Clips packed. */
  readonly size: number;
  readonly D: number;
  readonly rows: Readonly<Record<Level, number>>;
  /** One entry per missing or unusable level file; the clip is left out. */
  readonly skipped: readonly SkippedClip[];
  readonly rowCountMismatches: readonly RowCountMismatch[];
}

/** Per level in the index: the data file and where each clip's rows are. */
export interface PackedLevelIndex {
  /** Data file name, relative to the index's folder. */
  readonly file: string;
  /** Total rows in the data file. */
  readonly rows: number;
  /** First row of clip i. */
  readonly offsets: readonly number[];
  /** Row count of clip i (>= 1). */
  readonly counts: readonly number[];
}

/** `<name>.index.json`, the entry point of a packed dataset (see packed.ts for the layout). */
export interface PackedIndex {
  readonly format: string;
  readonly version: number;
  readonly name: string;
  readonly buildId: string;
  readonly createdAt: string;
  readonly dtype: '<f4';
  readonly D: number;
  readonly size: number;
  readonly clipIds: readonly string[];
  readonly labels: readonly number[];
  readonly labelNames: readonly string[] | null;
  /** Feature stride of each level: the strides its level files were extracted at. */
  readonly strides: Readonly<Record<Level, number>>;
  readonly levels: Readonly<Record<Level, PackedLevelIndex>>;
  readonly skipped: readonly SkippedClip[];
}

export interface OpenPackedDatasetOptions {
  /**
   * Read each level's data file into memory once (one sequential read; `rows` returns views).
   * When false, or when a file is larger than one ArrayBuffer can hold, `rows` does a
   * positional read per call. Default true.
   */
  readonly preload?: boolean;
}

export interface PackedDataset {
  readonly name: string;
  readonly dir: string;
  readonly size: number;
  readonly D: number;
  readonly clipIds: readonly string[];
  readonly labels: Int32Array;
  readonly labelNames: readonly string[] | null;
  /** Feature stride of each level (from the index). */
  readonly strides: Readonly<Record<Level, number>>;
  /** Number of feature rows of clip `i` at `level`. */
  rowCount(level: Level, i: number): number;
  /**
   * Clip `i`'s rows at `level`, row-major `[n, D]`: a view into the preloaded data (do not
   * write to it), or a fresh array read from disk when not preloaded.
   */
  rows(level: Level, i: number): Float32Array;
  /** Releases open files (positional mode); the dataset cannot be read afterwards. */
  close(): Promise<void>;
}

/** What a packed dataset's index says it holds (`packedDatasetContents`), without its data. */
export interface PackedDatasetContents {
  /** Clips packed. */
  readonly size: number;
  /** Feature width. */
  readonly D: number;
  readonly labelNames: readonly string[] | null;
  /** The largest label packed (-1 when empty). */
  readonly maxLabel: number;
  /** Clips left out, and why. */
  readonly skipped: readonly SkippedClip[];
}

/** One line of a reference feature list: `<npy path> <windows> <label>`. */
export interface FeatureListEntry {
  /** Clip id: the path after the `<tag>_16_<stride>[_face][_rv]` folder, without `.npy`. */
  readonly clipId: string;
  /** The path as written in the list. */
  readonly rawPath: string;
  /** The path resolved against the list's base folder. */
  readonly path: string;
  readonly windows: number;
  readonly label: number;
  /** 1-based line number in the list. */
  readonly line: number;
}

export interface FeatureList {
  /** The list file. */
  readonly source: string;
  readonly entries: readonly FeatureListEntry[];
}

export interface ReadFeatureListOptions {
  /** Folder that relative feature paths start from. Default: the current working folder, as in the reference loaders. */
  readonly baseDir?: string;
}

export interface JoinedFeatureClip extends PackedClipSource {
  readonly windows: Readonly<Record<Level, number>>;
}

export interface JoinedFeatureLists {
  /** Clips present once in every level with one label, in the order of the H list. */
  readonly clips: readonly JoinedFeatureClip[];
  /** Clips absent from some level (left out). */
  readonly missing: ReadonlyArray<{ readonly id: string; readonly missingFrom: readonly Level[] }>;
  /** Clips whose levels give different labels (left out). */
  readonly labelConflicts: ReadonlyArray<{ readonly id: string; readonly labels: Readonly<Record<Level, number>> }>;
  /** Clips listed more than once in one level (left out). */
  readonly duplicates: ReadonlyArray<{ readonly id: string; readonly level: Level; readonly lines: readonly number[] }>;
}
