import * as tf from '@tensorflow/tfjs-core';
import { InputError } from 'shared';
import { VIT_IN_CHANNELS } from './constants.js';
import type { VideoWindowBatch } from '../backbones/types.js';
import type { VitConfig } from './types.js';

/** Checks a window batch against the config: `[batch, numFrames, height, width, 3]` uint8, data length matching. */
export function checkWindowBatch(windows: VideoWindowBatch, config: VitConfig): void {
  const { data, shape } = windows;
  if (!(data instanceof Uint8Array)) {
    throw new InputError(`windows.data: expected a Uint8Array of RGB bytes, got ${Object.prototype.toString.call(data)}`);
  }
  if (!Array.isArray(shape) || shape.length !== 5 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new InputError(
      `windows.shape: expected [batch, ${config.numFrames}, height, width, 3] of positive integers, got ${JSON.stringify(shape)}`,
    );
  }
  const [, frames, , , channels] = shape;
  if (frames !== config.numFrames || channels !== VIT_IN_CHANNELS) {
    throw new InputError(`windows.shape: expected [batch, ${config.numFrames}, height, width, 3], got ${JSON.stringify(shape)}`);
  }
  const expected = shape.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new InputError(`windows.data: expected ${expected} bytes for shape ${JSON.stringify(shape)}, got ${data.length}`);
  }
}

/**
 * One window as the model sees it (SPEC 4): bytes / 255, each frame resized bilinearly to
 * `imageSize` with half-pixel centres and no antialiasing (PyTorch `interpolate(mode='bilinear',
 * align_corners=False)`), then the optional mean/std. Returns `[numFrames, imageSize, imageSize, 3]`:
 * channels-last, the layout the tube reshape wants; the reference's `[3, T, H, W]` is its transpose.
 */
export function preprocessWindow(windows: VideoWindowBatch, index: number, config: VitConfig): tf.Tensor4D {
  const [, frames, height, width, channels] = windows.shape;
  const frameBytes = frames * height * width * channels;
  const bytes = windows.data.subarray(index * frameBytes, (index + 1) * frameBytes);
  return tf.tidy(() => {
    const scaled = tf.div(tf.tensor4d(bytes, [frames, height, width, channels], 'float32'), 255) as tf.Tensor4D;
    // Resizing to the same size samples every pixel at its own centre: skip it.
    const resized =
      height === config.imageSize && width === config.imageSize
        ? scaled
        : tf.image.resizeBilinear(scaled, [config.imageSize, config.imageSize], false, true);
    if (config.normalize === null) return resized;
    return tf.div(tf.sub(resized, tf.tensor1d([...config.normalize.mean])), tf.tensor1d([...config.normalize.std])) as tf.Tensor4D;
  });
}

/** The whole batch preprocessed, `[batch, numFrames, imageSize, imageSize, 3]` (tests and tools; the model goes window by window). */
export function preprocessWindows(windows: VideoWindowBatch, config: VitConfig): tf.Tensor5D {
  checkWindowBatch(windows, config);
  return tf.tidy(() => tf.stack(Array.from({ length: windows.shape[0] }, (_, b) => preprocessWindow(windows, b, config))) as tf.Tensor5D);
}
