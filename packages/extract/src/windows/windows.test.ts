import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, InputError } from 'shared';
import { describe, expect, it } from 'vitest';
import { referenceDataDir } from '../layouts/testing.js';
import { frameOrder, planWindows, windowCount, windowFrameIndices, windowStarts } from './windows.js';

// Hand-computed: n = 47 leaves a span of 31 frames after the first window.
const EXPECTED_STARTS: Record<'cover' | 'inside', Record<number, Record<number, number[]>>> = {
  cover: {
    1: { 4: [0], 8: [0], 16: [0] },
    15: { 4: [0], 8: [0], 16: [0] },
    16: { 4: [0], 8: [0], 16: [0] },
    17: { 4: [0, 1], 8: [0, 1], 16: [0, 1] },
    47: { 4: [0, 4, 8, 12, 16, 20, 24, 28, 31], 8: [0, 8, 16, 24, 31], 16: [0, 16, 31] },
  },
  inside: {
    1: { 4: [0], 8: [0], 16: [0] },
    15: { 4: [0], 8: [0], 16: [0] },
    16: { 4: [0], 8: [0], 16: [0] },
    17: { 4: [0], 8: [0], 16: [0] },
    47: { 4: [0, 4, 8, 12, 16, 20, 24, 28], 8: [0, 8, 16, 24], 16: [0, 16] },
  },
};

describe('windowCount / windowStarts', () => {
  for (const rule of ['cover', 'inside'] as const) {
    for (const [n, byStride] of Object.entries(EXPECTED_STARTS[rule])) {
      for (const [stride, starts] of Object.entries(byStride)) {
        it(`${rule}: n=${n} stride=${stride} -> ${starts.length} windows at ${starts.join(',')}`, () => {
          expect(windowCount(Number(n), Number(stride), rule)).toBe(starts.length);
          expect(windowStarts(Number(n), Number(stride), rule)).toEqual(starts);
        });
      }
    }
  }

  it('defaults to the cover rule (n=47 gives 9, 5, 3; n=17 gives 2, 2, 2)', () => {
    expect([4, 8, 16].map((s) => windowCount(47, s))).toEqual([9, 5, 3]);
    expect([4, 8, 16].map((s) => windowCount(17, s))).toEqual([2, 2, 2]);
  });

  it('honours another window length', () => {
    expect(windowStarts(10, 3, 'cover', 4)).toEqual([0, 3, 6]);
    expect(windowStarts(11, 3, 'cover', 4)).toEqual([0, 3, 6, 7]);
    expect(windowStarts(11, 3, 'inside', 4)).toEqual([0, 3, 6]);
  });

  it('rejects bad arguments with typed errors', () => {
    expect(() => windowCount(0, 4)).toThrow(InputError);
    expect(() => windowCount(20, 0)).toThrow(/stride: expected a positive integer, got 0/);
    expect(() => windowCount(20, 4, 'middle' as 'cover')).toThrow(ConfigError);
  });
});

describe('windowFrameIndices / frameOrder', () => {
  it('clamps a short clip to its last frame', () => {
    expect(windowFrameIndices(0, 15)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 14]);
    expect(windowFrameIndices(0, 1)).toEqual(new Array(16).fill(0));
    expect(windowFrameIndices(31, 47)).toEqual(Array.from({ length: 16 }, (_, i) => 31 + i));
  });

  it('reverses the frame order', () => {
    expect(frameOrder(5, 'forward')).toEqual([0, 1, 2, 3, 4]);
    expect(frameOrder(5, 'reversed')).toEqual([4, 3, 2, 1, 0]);
  });
});

describe('planWindows', () => {
  it('shares windows between strides (n=47, cover)', () => {
    const plan = planWindows(47, [4, 8, 16], 'cover', 'forward');
    expect(plan.windows.map((w) => w.start)).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 31]);
    expect(plan.strides).toEqual([
      { stride: 4, windowIds: [0, 1, 2, 3, 4, 5, 6, 7, 8] },
      { stride: 8, windowIds: [0, 2, 4, 6, 8] },
      { stride: 16, windowIds: [0, 4, 8] },
    ]);
    expect(plan.passesWithoutSharing).toBe(17);
    expect(plan.passesSaved).toBe(8);
    expect(plan.windows[8]?.frames).toEqual(Array.from({ length: 16 }, (_, i) => 31 + i));
  });

  it('shares windows under the inside rule (n=47)', () => {
    const plan = planWindows(47, [4, 8, 16], 'inside', 'forward');
    expect(plan.windows).toHaveLength(8);
    expect(plan.strides.map((s) => s.windowIds)).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7],
      [0, 2, 4, 6],
      [0, 4],
    ]);
    expect(plan.passesWithoutSharing).toBe(14);
    expect(plan.passesSaved).toBe(6);
  });

  it('plans n=17 and n=15 with their sharing counts', () => {
    const plan17 = planWindows(17, [4, 8, 16]);
    expect(plan17.windows.map((w) => w.start)).toEqual([0, 1]);
    expect(plan17.strides.map((s) => s.windowIds)).toEqual([
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
    expect(plan17.passesSaved).toBe(4);
    const plan15 = planWindows(15, [4, 8, 16]);
    expect(plan15.windows).toHaveLength(1);
    expect(plan15.passesWithoutSharing).toBe(3);
    expect(plan15.passesSaved).toBe(2);
  });

  it('applies the same windows to the reversed frame order', () => {
    const plan = planWindows(17, [4], 'cover', 'reversed');
    expect(plan.windows.map((w) => w.start)).toEqual([0, 1]);
    expect(plan.windows[0]?.frames).toEqual([16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(plan.windows[1]?.frames).toEqual([15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    const short = planWindows(15, [4, 8], 'cover', 'reversed');
    // The repeated frame is the last one played, i.e. frame 0 of the stored clip.
    expect(short.windows[0]?.frames).toEqual([14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0]);
  });

  it('rejects repeated or missing strides', () => {
    expect(() => planWindows(20, [4, 4])).toThrow(/expected distinct strides, got 4, 4/);
    expect(() => planWindows(20, [])).toThrow(ConfigError);
  });
});

describe('cover rule against the FERV39k reference feature lists', () => {
  const annotations = path.join(referenceDataDir(), 'annotations', 'ferv39k');
  const clipKey = (listPath: string) =>
    listPath
      .replace(/\.npy$/, '')
      .split('/')
      .slice(-3)
      .join('/');
  const frameCounts = new Map<string, number>();
  for (const line of readFileSync(path.join(annotations, 'test_All.txt'), 'utf8').split('\n')) {
    const [clip, frames] = line.trim().split(/\s+/);
    if (clip && frames) frameCounts.set(clipKey(clip), Number(frames));
  }

  for (const stride of [4, 8, 16]) {
    for (const suffix of ['', '_rv']) {
      it(`reproduces every row count of th14_vit_g_16_${stride}${suffix}/test_All.txt`, () => {
        const lines = readFileSync(path.join(annotations, `th14_vit_g_16_${stride}${suffix}`, 'test_All.txt'), 'utf8')
          .split('\n')
          .filter((line) => line.trim() !== '');
        expect(lines).toHaveLength(7847);
        let matched = 0;
        const mismatches: string[] = [];
        for (const line of lines) {
          const [npy, rows] = line.trim().split(/\s+/);
          const frames = frameCounts.get(clipKey(npy ?? ''));
          if (frames === undefined) {
            mismatches.push(`${npy}: not in test_All.txt`);
          } else if (windowCount(frames, stride, 'cover') !== Number(rows)) {
            mismatches.push(`${npy}: ${frames} frames, ${rows} rows`);
          } else {
            matched += 1;
          }
        }
        expect(mismatches).toEqual([]);
        expect(matched).toBe(7847);
      });
    }
  }
});
