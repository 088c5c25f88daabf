import { InputError } from 'shared';
import type { DecodedClip } from '../decode/types.js';

/**
 * One window's frames copied out of a decoded clip, in the order of `frames` (a planned window's
 * `frames`: forward or reversed, the last frame repeated in a short clip): `frames.length *
 * height * width * 3` RGB bytes, the backbone's input layout `[T, height, width, 3]`.
 */
export function copyWindowFrames(clip: DecodedClip, frames: readonly number[]): Uint8Array {
  const frameBytes = clip.width * clip.height * 3;
  if (clip.frames.length !== clip.n * frameBytes) {
    throw new InputError(
      `decoded clip: expected ${clip.n} frames of ${clip.width}x${clip.height} RGB (${clip.n * frameBytes} bytes), got ${clip.frames.length} bytes`,
    );
  }
  const window = new Uint8Array(frames.length * frameBytes);
  frames.forEach((frame, k) => {
    if (!Number.isInteger(frame) || frame < 0 || frame >= clip.n) {
      throw new InputError(`window frame ${k}: expected a frame index in 0..${clip.n - 1}, got ${String(frame)}`);
    }
    window.set(clip.frames.subarray(frame * frameBytes, (frame + 1) * frameBytes), k * frameBytes);
  });
  return window;
}
