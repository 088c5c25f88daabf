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

/** Something wrong with one clip, list line or folder; reading goes on past it. */
export interface IngestProblem {
  dataset: string;
  clipId?: string;
  path?: string;
  reason: string;
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
