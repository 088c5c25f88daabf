/** Label order of the reference code for FERV39k and DFEW (index = position). */
export const DEFAULT_LABELS: readonly string[] = ['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear'];

/** File extensions (lower case, with dot) taken as videos. */
export const VIDEO_EXTENSIONS: readonly string[] = ['.mp4', '.avi', '.mkv', '.mov', '.webm', '.m4v', '.mpg', '.mpeg', '.wmv', '.flv'];

/** FERV39k folder names as they are spelled in different copies; matched ignoring case. */
export const FERV39K_FOLDERS = {
  raw: ['0_7_LabelClips', '0_7_LabelClip'],
  face: ['2_ClipsforFaceCrop', '2_ClipforFaceCrop'],
  setups: ['4_setups'],
  allScenes: ['All_scenes'],
} as const;

export const FERV39K_SPLIT_FILES = { train: 'train_All.csv', test: 'test_All.csv' } as const;

export const DFEW_FOLDERS = {
  clip: 'Clip',
  raw: 'original',
  face: 'clip_224x224',
  splits: 'EmoLabel_DataSplit',
} as const;

export const DFEW_FOLD_COUNT = 5;

/** DFEW clip names are zero-padded to this many digits. */
export const DFEW_NAME_DIGITS = 5;

export const DEFAULT_SPLITS: ReadonlyArray<'train' | 'test'> = ['train', 'test'];

export const DEFAULT_SOURCE_ROLES: ReadonlyArray<'raw' | 'face'> = ['raw', 'face'];
