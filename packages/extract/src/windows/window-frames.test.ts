import { InputError } from 'shared';
import { describe, expect, it } from 'vitest';
import { copyWindowFrames } from './window-frames.js';
import { planWindows } from './windows.js';

/** A clip of `n` frames of 2 x 1 pixels whose every byte says which frame it belongs to: 10 * frame + byte. */
function numberedClip(n: number) {
  const frames = Uint8Array.from({ length: n * 6 }, (_, i) => 10 * Math.floor(i / 6) + (i % 6));
  return { frames, n, width: 2, height: 1 };
}

describe('copyWindowFrames', () => {
  it("copies a window's frames in window order, repeated frames included", () => {
    expect([...copyWindowFrames(numberedClip(3), [2, 0, 2])]).toEqual([20, 21, 22, 23, 24, 25, 0, 1, 2, 3, 4, 5, 20, 21, 22, 23, 24, 25]);
  });

  it('gives the frames of planned windows: reversed, and a short clip padded with its last frame', () => {
    const clip = numberedClip(5);
    const firstByte = (window: Uint8Array) => Array.from({ length: window.length / 6 }, (_, k) => window[k * 6]);
    const reversed = planWindows(5, [4], 'cover', 'reversed', 8).windows;
    expect(reversed).toHaveLength(1);
    // Reversed order 4, 3, 2, 1, 0, then the last position (frame 0) repeated up to 8 frames.
    expect(firstByte(copyWindowFrames(clip, reversed[0]!.frames))).toEqual([40, 30, 20, 10, 0, 0, 0, 0]);
    const forward = planWindows(5, [1], 'cover', 'forward', 3).windows;
    expect(forward.map((w) => firstByte(copyWindowFrames(clip, w.frames)))).toEqual([
      [0, 10, 20],
      [10, 20, 30],
      [20, 30, 40],
    ]);
  });

  it('rejects a frame index outside the clip and a clip whose bytes do not match its size', () => {
    expect(() => copyWindowFrames(numberedClip(3), [0, 3])).toThrow(InputError);
    expect(() => copyWindowFrames(numberedClip(3), [0, 3])).toThrow('window frame 1: expected a frame index in 0..2, got 3');
    expect(() => copyWindowFrames({ ...numberedClip(3), n: 4 }, [0])).toThrow('expected 4 frames of 2x1 RGB (24 bytes), got 18 bytes');
  });
});
