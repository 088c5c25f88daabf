import type { IngestIssueReason } from 'shared';
/** How a clip is stored: one video file, or a folder of frame images (jpg/jpeg/png). */
export type SourceKind = 'video' | 'frames';

export interface SourceRef {
  path: string;
  kind: SourceKind;
}

/** `raw`: the clip as filmed; `face`: face-cropped (or aligned) frames of the same clip. */
export type SourceRole = 'raw' | 'face';

export interface LabelEntry {
  index: number;
  name: string;
}

/** One clip found by a layout reader: raw and face-crop versions of a clip are one candidate. */
export interface ClipCandidate {
  /** Stable within the dataset: FERV39k `<Scene>/<Emotion>/<ID>`, DFEW the 5-digit name, generic `<split>/<label>/<clip>`. */
  id: string;
  dataset: string;
  /** The clip's own split (FERV39k `train`); null where it belongs to folds, which `splits` lists. */
  split: string | null;
  /** Every split of every fold the clip is in (DFEW, MAFW: `set_1_train`, `set_2_test`, ...), see `foldSplit`. */
  splits?: string[];
  label: number;
  labelName: string;
  sources: { raw?: SourceRef; face?: SourceRef };
  /** Frame count a reference list states for the clip (to compare with what probing finds). */
  expectedFrames?: number;
}

/**
 * What is wrong, as ingest records it (the manifest's `ingest_issues.reason`). A reader says
 * which; nothing downstream guesses it from the wording of the text.
 * - `missing_file`: a listed clip with no file (or folder) for a source, or a missing list file
 * - `missing_folder`: a folder the layout needs (a source role's folder, a split folder)
 * - `malformed_line`: a list line that does not parse
 * - `unknown_label`: a label that is not in the label map
 * - `duplicate`: a clip listed (or stored) twice
 * - `split_conflict`: a clip listed in two splits (train/test leakage)
 * - `path_escape`: a clip id or listed path that is absolute or climbs out of its root with `..`
 * - `not_a_clip`: an entry that is neither a video file nor a folder of frames
 * - `unreadable`: a file that exists but cannot be read or decoded
 * - `zero_length`: a video or frame folder without a single frame
 */
/** What is wrong with an item a layout reader or the probe gives up on (the manifest's one list of codes). */
export type IngestProblemCode = Exclude<IngestIssueReason, 'missing_from_list' | 'bad_features' | 'unpackable_features'>;

/** Something wrong with one clip, list line or folder; reading goes on past it. */
export interface IngestProblem {
  dataset: string;
  code: IngestProblemCode;
  clipId?: string;
  /** The file or folder concerned: for a list line, the list file. */
  path?: string;
  /** 1-based line of `path` the problem comes from, for a list line. */
  line?: number;
  /** What a person reads: where (`train_All.csv:7`) and what is wrong. */
  detail: string;
}

export interface LayoutResult {
  /** Label index -> name, stored with the data because other loaders use other orders. */
  labelMap: LabelEntry[];
  clips: ClipCandidate[];
  problems: IngestProblem[];
}

/** What every layout's validated options hold: its name and the dataset's root folder. */
export interface LayoutConfigBase {
  layout: string;
  /** Absolute once validated with a context; relative paths resolve against the context's `cwd`. */
  root: string;
}

/** How a layout's options are read: where relative paths start. Without it, paths are taken as given. */
export interface LayoutContext {
  cwd: string;
}

/**
 * One dataset layout: its name, the validator of its options and its reader, all in one file
 * under `layouts/`, registered with one line in `layouts/registry.ts`.
 */
export interface LayoutDefinition<Config extends LayoutConfigBase = LayoutConfigBase> {
  /** The `layout` value of an `ingest.datasets` entry that picks it. */
  readonly name: string;
  /** What it reads, in a few words (ingest's --help). */
  readonly summary: string;
  /**
   * Checks the options (an `ingest.datasets` entry: `name` comes as `dataset`, unknown keys are
   * ignored) and fills the defaults; throws `ConfigError` "layout.<key>: expected X, got Y".
   */
  validate(options: Record<string, unknown>, context?: LayoutContext): Config;
  /** Clips and problems of the dataset; throws only when there is nothing to read (no root). */
  read(config: Config): Promise<LayoutResult>;
}

/** What a reader function takes: the required keys, everything else defaulted by its validator. */
export type LayoutOptionsOf<C extends LayoutConfigBase, Required extends keyof C> = Pick<C, Required> &
  Partial<Omit<C, 'layout' | Required>>;

/** What `readLayout` takes: `layout` names the reader, the rest are that reader's options. */
export type LayoutOptions = { layout: string; root: string } & Record<string, unknown>;
