import type { SourceKind } from '../layouts/types.js';

export interface MediaBinaries {
  ffmpeg: string;
  ffprobe: string;
}

export interface ProbeOptions {
  /** Decode the whole video to count its frames exactly (ffprobe `-count_frames`). Default true. */
  countFrames?: boolean;
  /** Compute the content hash. Default true. */
  hash?: boolean;
}

export interface ProbeResult {
  path: string;
  kind: SourceKind;
  frameCount: number;
  /** False when the count is the container's estimate (ffprobe could not count, or `countFrames` was off). */
  frameCountExact: boolean;
  /** Frames per second of a video; null for a folder of frames. */
  fps: number | null;
  /** Size of the decoded (upright) frames, as `decodeClip` returns them. */
  width: number;
  height: number;
  /** sha256, hex; undefined when `hash` was off. See `hashSource` for what a frame folder's hash covers. */
  contentHash?: string;
}
