import { ConfigError, InputError } from 'shared';
import { DEFAULT_WINDOW_LENGTH, DEFAULT_WINDOW_RULE, WINDOW_RULES } from './constants.js';
import type { Direction, PlannedWindow, StrideWindows, WindowPlan, WindowRule } from './types.js';

function checkPositiveInteger(key: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${key}: expected a positive integer, got ${String(value)}`);
  }
}

function checkFrameCount(frameCount: number): void {
  if (!Number.isInteger(frameCount) || frameCount < 1) {
    throw new InputError(`frame count: expected a positive integer, got ${String(frameCount)}`);
  }
}

function checkRule(rule: WindowRule): void {
  if (!WINDOW_RULES.includes(rule)) {
    throw new ConfigError(`window rule: expected one of ${WINDOW_RULES.join(', ')}, got ${String(rule)}`);
  }
}

/** Number of windows (= feature rows) for a clip of `frameCount` frames at `stride`. */
export function windowCount(
  frameCount: number,
  stride: number,
  rule: WindowRule = DEFAULT_WINDOW_RULE,
  windowLength: number = DEFAULT_WINDOW_LENGTH,
): number {
  checkFrameCount(frameCount);
  checkPositiveInteger('stride', stride);
  checkPositiveInteger('window length', windowLength);
  checkRule(rule);
  // A clip shorter than one window still gets one (its last frame repeated): the reference
  // script gave such clips no window at all, which left empty feature files behind.
  if (frameCount <= windowLength) return 1;
  const span = frameCount - windowLength;
  return rule === 'cover' ? Math.ceil(span / stride) + 1 : Math.floor(span / stride) + 1;
}

/** First-frame positions of the windows, in row order. */
export function windowStarts(
  frameCount: number,
  stride: number,
  rule: WindowRule = DEFAULT_WINDOW_RULE,
  windowLength: number = DEFAULT_WINDOW_LENGTH,
): number[] {
  const count = windowCount(frameCount, stride, rule, windowLength);
  const lastStart = Math.max(0, frameCount - windowLength);
  // Under `cover` the final window is pulled back so it ends on the last frame.
  return Array.from({ length: count }, (_, k) => Math.min(k * stride, lastStart));
}

/** The `windowLength` positions a window starting at `start` covers, clamped to the last frame. */
export function windowFrameIndices(start: number, frameCount: number, windowLength: number = DEFAULT_WINDOW_LENGTH): number[] {
  checkFrameCount(frameCount);
  checkPositiveInteger('window length', windowLength);
  if (!Number.isInteger(start) || start < 0 || start >= frameCount) {
    throw new ConfigError(`window start: expected an integer in 0..${frameCount - 1}, got ${String(start)}`);
  }
  return Array.from({ length: windowLength }, (_, i) => Math.min(start + i, frameCount - 1));
}

/** Frame indices in playing order: 0..n-1 forward, n-1..0 reversed. */
export function frameOrder(frameCount: number, direction: Direction): number[] {
  checkFrameCount(frameCount);
  if (direction !== 'forward' && direction !== 'reversed') {
    throw new ConfigError(`direction: expected forward or reversed, got ${String(direction)}`);
  }
  return Array.from({ length: frameCount }, (_, i) => (direction === 'forward' ? i : frameCount - 1 - i));
}

/**
 * The windows every stride needs, each distinct frame tuple listed once: windows at strides 8
 * and 16 mostly coincide with stride-4 windows, and one backbone pass is the expensive part.
 */
export function planWindows(
  frameCount: number,
  strides: readonly number[],
  rule: WindowRule = DEFAULT_WINDOW_RULE,
  direction: Direction = 'forward',
  windowLength: number = DEFAULT_WINDOW_LENGTH,
): WindowPlan {
  if (strides.length === 0) throw new ConfigError('strides: expected at least one stride, got none');
  if (new Set(strides).size !== strides.length) {
    throw new ConfigError(`strides: expected distinct strides, got ${strides.join(', ')}`);
  }
  const order = frameOrder(frameCount, direction);
  const startsByStride = strides.map((stride) => windowStarts(frameCount, stride, rule, windowLength));

  const distinctStarts = [...new Set(startsByStride.flat())].sort((a, b) => a - b);
  const windows: PlannedWindow[] = [];
  const idByTuple = new Map<string, number>();
  const idByStart = new Map<number, number>();
  for (const start of distinctStarts) {
    const frames = windowFrameIndices(start, frameCount, windowLength).map((position) => order[position] as number);
    const tuple = frames.join(',');
    let id = idByTuple.get(tuple);
    if (id === undefined) {
      id = windows.length;
      idByTuple.set(tuple, id);
      windows.push({ id, start, frames });
    }
    idByStart.set(start, id);
  }

  const strideWindows: StrideWindows[] = strides.map((stride, i) => ({
    stride,
    windowIds: (startsByStride[i] ?? []).map((start) => idByStart.get(start) as number),
  }));
  const passesWithoutSharing = startsByStride.reduce((sum, starts) => sum + starts.length, 0);
  return {
    frameCount,
    direction,
    rule,
    windowLength,
    windows,
    strides: strideWindows,
    passesWithoutSharing,
    passesSaved: passesWithoutSharing - windows.length,
  };
}
