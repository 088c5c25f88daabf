/** Label order of the reference code for FERV39k and DFEW (index = position). */
export const DEFAULT_LABELS: readonly string[] = ['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear'];

/** File extensions (lower case, with dot) taken as videos. */
export const VIDEO_EXTENSIONS: readonly string[] = ['.mp4', '.avi', '.mkv', '.mov', '.webm', '.m4v', '.mpg', '.mpeg', '.wmv', '.flv'];

/** The split names of FERV39k and DFEW. */
export const DEFAULT_SPLITS: ReadonlyArray<'train' | 'test'> = ['train', 'test'];

/** Both versions of each clip: as filmed and face-cropped. */
export const DEFAULT_SOURCE_ROLES: ReadonlyArray<'raw' | 'face'> = ['raw', 'face'];
