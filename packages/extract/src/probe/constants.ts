/** Frame image extensions (lower case, with dot) read from a frame folder. */
export const FRAME_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png'];

/** Environment variables that, when set, name the binaries outright (fluent-ffmpeg's own convention). */
export const FFMPEG_PATH_ENV = 'FFMPEG_PATH';
export const FFPROBE_PATH_ENV = 'FFPROBE_PATH';

export const DEFAULT_PROBE_OPTIONS = { countFrames: true, hash: true } as const;
