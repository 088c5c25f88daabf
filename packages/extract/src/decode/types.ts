export interface DecodeOptions {
  /**
   * Downscale (keeping the aspect ratio) so the longer side is at most this many pixels.
   * Default: none, native size. Not for feature extraction: the ViT resizes each frame itself.
   */
  maxSide?: number;
}

export interface DecodedClip {
  /** `n * height * width * 3` bytes: RGB24, frame after frame, rows top to bottom. */
  frames: Uint8Array;
  n: number;
  width: number;
  height: number;
}
