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
  split: string;
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
 * - `not_a_clip`: an entry that is neither a video file nor a folder of frames
 * - `unreadable`: a file that exists but cannot be read or decoded
 * - `zero_length`: a video or frame folder without a single frame
 */
export type IngestProblemCode =
  | 'missing_file'
  | 'missing_folder'
  | 'malformed_line'
  | 'unknown_label'
  | 'duplicate'
  | 'not_a_clip'
  | 'unreadable'
  | 'zero_length';

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

export type LayoutName = 'ferv39k' | 'dfew' | 'reference-list' | 'generic';

export interface Ferv39kLayoutConfig {
  layout: 'ferv39k';
  /** Folder holding `0_7_LabelClips`, `2_ClipsforFaceCrop` and `4_setups` (any letter case). */
  root: string;
  /** Default `['train', 'test']`, read from `4_setups/All_scenes/{train_All,test_All}.csv`. */
  splits: Array<'train' | 'test'>;
  /** Which versions of each clip to look for. Default `['raw', 'face']`. */
  sources: SourceRole[];
  /** Check that each source exists (from directory listings). Default true. */
  checkFiles: boolean;
}

export interface DfewLayoutConfig {
  layout: 'dfew';
  /** Folder holding `Clip/` and `EmoLabel_DataSplit/`. */
  root: string;
  /** Which of the five single-label folds (`set_<fold>.csv`). Default 1. */
  fold: number;
  /** Default `['train', 'test']`. */
  splits: Array<'train' | 'test'>;
  /** Default `['raw', 'face']`: `Clip/original/` and `Clip/clip_224x224/`. */
  sources: SourceRole[];
  /** Default true. */
  checkFiles: boolean;
}

export interface ReferenceListFile {
  split: string;
  path: string;
}

export interface ReferenceListLayoutConfig {
  layout: 'reference-list';
  /** Folder under which each list path's trailing `<Scene>/<Emotion>/<ID>` is resolved. */
  root: string;
  /** `<path> <frames> <label>` lists, one per split. */
  lists: ReferenceListFile[];
  /** Default `'ferv39k'`. */
  dataset: string;
  /** Label names in index order. Default the FERV39k/DFEW seven. */
  labels: string[];
  /** Default `'face'`: the reference lists count face-crop frames. */
  sourceRole: SourceRole;
  /** What to assume when `checkFiles` is false; with checks on, whatever exists is used. Default `'frames'`. */
  sourceKind: SourceKind;
  /** Default true. */
  checkFiles: boolean;
}

export interface GenericLayoutConfig {
  layout: 'generic';
  /** Folder holding `<split>/<label>/<clip>`: clip = a video file or a folder of frames. */
  root: string;
  /** Default `'generic'`. */
  dataset: string;
  /** Default: every folder under `root`, sorted. */
  splits?: string[];
  /** Label names in index order. Default: the label folder names of all splits, sorted. */
  labels?: string[];
  /** Default `'raw'`. */
  sourceRole: SourceRole;
}

export type LayoutConfig = Ferv39kLayoutConfig | DfewLayoutConfig | ReferenceListLayoutConfig | GenericLayoutConfig;

type OptionsOf<C extends LayoutConfig, Required extends keyof C> = Pick<C, Required> & Partial<Omit<C, 'layout' | Required>>;

/** What a reader takes: the required keys, everything else defaulted by `validateLayoutConfig`. */
export type Ferv39kLayoutOptions = OptionsOf<Ferv39kLayoutConfig, 'root'>;
export type DfewLayoutOptions = OptionsOf<DfewLayoutConfig, 'root'>;
export type ReferenceListLayoutOptions = OptionsOf<ReferenceListLayoutConfig, 'root' | 'lists'>;
export type GenericLayoutOptions = OptionsOf<GenericLayoutConfig, 'root'>;

/** What `readLayout` takes: one reader's options plus `layout` to pick it. */
export type LayoutOptions =
  | (Ferv39kLayoutOptions & { layout: 'ferv39k' })
  | (DfewLayoutOptions & { layout: 'dfew' })
  | (ReferenceListLayoutOptions & { layout: 'reference-list' })
  | (GenericLayoutOptions & { layout: 'generic' });
