import path from 'node:path';
import { ConfigError } from 'shared';
import { describe, expect, it } from 'vitest';
import { demoContentConfig, validateDemoConfig } from './config.js';
import { DEMO_LABELS, RENDER } from './constants.js';
import { planDemoDataset } from './plan.js';
import { demoFrameSize, renderDemoClip } from './render.js';
import type { DemoClipPlan } from './types.js';

const content = { seed: 3, clipsPerClass: { train: 6, test: 3 }, size: 48, minFrames: 8, maxFrames: 48, fps: 25 };

describe('validateDemoConfig', () => {
  it('fills the documented defaults', () => {
    const config = validateDemoConfig({ root: 'some/where' });
    expect(demoContentConfig(config)).toEqual({
      seed: 0,
      clipsPerClass: { train: 24, test: 8 },
      size: 48,
      minFrames: 8,
      maxFrames: 48,
      fps: 25,
    });
    expect(config.root).toBe(path.resolve('some/where'));
    expect(config.concurrency).toBe(2);
  });

  it('names the bad key and what was expected', () => {
    expect(() => validateDemoConfig({ root: '' })).toThrow(ConfigError);
    expect(() => validateDemoConfig({ root: '' })).toThrow('demo config root: expected a non-empty path, got ""');
    expect(() => validateDemoConfig({ root: 'r', seed: -1 })).toThrow(/seed: expected an integer in \[0, \d+\], got -1/);
    expect(() => validateDemoConfig({ root: 'r', size: 47 })).toThrow('demo config size: expected an even number of pixels, got 47');
    expect(() => validateDemoConfig({ root: 'r', clipsPerClass: { train: 0 } })).toThrow(
      'demo config clipsPerClass.train: expected an integer in [1, 9999], got 0',
    );
    expect(() => validateDemoConfig({ root: 'r', minFrames: 20, maxFrames: 10 })).toThrow(
      'demo config maxFrames: expected at least minFrames (20), got 10',
    );
    expect(() => validateDemoConfig({ root: 'r', fps: 0 })).toThrow('demo config fps: expected a number in (0, 1000], got 0');
  });
});

describe('planDemoDataset', () => {
  const plans = planDemoDataset(content);

  it('makes the requested clips per class and split, with unique FERV39k ids', () => {
    expect(plans).toHaveLength(7 * 9);
    for (let label = 0; label < 7; label++) {
      expect(plans.filter((p) => p.label === label && p.split === 'train')).toHaveLength(6);
      expect(plans.filter((p) => p.label === label && p.split === 'test')).toHaveLength(3);
    }
    expect(new Set(plans.map((p) => p.id)).size).toBe(plans.length);
    for (const plan of plans) {
      expect(plan.id).toMatch(new RegExp(`^(Street|Office|Party)/${DEMO_LABELS[plan.label]}/\\d{4}$`));
      expect(plan.id.startsWith(`${plan.scene}/`)).toBe(true);
      expect(plan.frames).toBeGreaterThanOrEqual(8);
      expect(plan.frames).toBeLessThanOrEqual(48);
    }
    expect(plans[0]?.id).toBe('Street/Happy/0001');
  });

  it('mixes videos and frame folders in both views within every class and split', () => {
    for (let label = 0; label < 7; label++) {
      for (const split of ['train', 'test'] as const) {
        const group = plans.filter((p) => p.label === label && p.split === split);
        expect(new Set(group.map((p) => p.rawStorage))).toEqual(new Set(['video', 'frames']));
        expect(new Set(group.map((p) => p.faceStorage))).toEqual(new Set(['video', 'frames']));
      }
    }
  });

  it('spreads every class over all scenes and lengths', () => {
    for (let label = 0; label < 7; label++) {
      const group = plans.filter((p) => p.label === label);
      expect(new Set(group.map((p) => p.scene)).size).toBe(3);
    }
    const lengths = plans.map((p) => p.frames);
    expect(Math.min(...lengths)).toBeLessThan(16);
    expect(Math.max(...lengths)).toBeGreaterThan(40);
  });

  it('draws lengths peaked in the middle of the range, as in FERV39k', () => {
    const lengths = planDemoDataset({ ...content, clipsPerClass: { train: 24, test: 8 } }).map((p) => p.frames);
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    const singleWindow = lengths.filter((n) => n <= 16).length / lengths.length;
    // Triangular over [8, 48]: mean 28, P(n <= 16) = 2 * (8.5 / 40)^2 = 0.09 (FERV39k: 0.12).
    expect(mean).toBeGreaterThan(25);
    expect(mean).toBeLessThan(31);
    expect(singleWindow).toBeGreaterThan(0.03);
    expect(singleWindow).toBeLessThan(0.18);
  });

  it('keeps train clips unchanged when only the test count changes', () => {
    const more = planDemoDataset({ ...content, clipsPerClass: { train: 6, test: 5 } });
    const train = (list: DemoClipPlan[]): unknown[] => list.filter((p) => p.split === 'train').map(({ index: _index, ...rest }) => rest);
    expect(train(more)).toEqual(train(plans));
    expect(planDemoDataset({ ...content, seed: 4 }).map((p) => p.frames)).not.toEqual(plans.map((p) => p.frames));
  });
});

describe('renderDemoClip', () => {
  const plans = planDemoDataset(content);

  it('renders both views at the documented sizes, deterministically', () => {
    const plan = plans[5] as DemoClipPlan;
    const first = renderDemoClip(plan, 48);
    const second = renderDemoClip(plan, 48);
    expect(demoFrameSize('raw', 48)).toEqual({ width: 64, height: 48 });
    expect(first.raw.size).toEqual({ width: 64, height: 48 });
    expect(first.face.size).toEqual({ width: 48, height: 48 });
    expect(first.raw.rgb.length).toBe(plan.frames * 64 * 48 * 3);
    expect(first.face.rgb.length).toBe(plan.frames * 48 * 48 * 3);
    expect(Buffer.from(first.raw.rgb).equals(Buffer.from(second.raw.rgb))).toBe(true);
    expect(Buffer.from(first.face.rgb).equals(Buffer.from(second.face.rgb))).toBe(true);
  });

  it('moves the face colour along the tint axis as the class pattern says', () => {
    // A Happy clip (tint rises): the face centre gets redder (R - B up) from the first to the last frame,
    // a Sad clip the other way. These 6 x 6 pixels just below the face crop's centre are all skin.
    const redMinusBlue = (plan: DemoClipPlan, frame: number): number => {
      const face = renderDemoClip(plan, 48).face;
      let sum = 0;
      for (let y = 22; y < 28; y++) {
        for (let x = 21; x < 27; x++) {
          const i = ((frame * 48 + y) * 48 + x) * 3;
          sum += (face.rgb[i] ?? 0) - (face.rgb[i + 2] ?? 0);
        }
      }
      return sum / 36;
    };
    const happy = plans.find((p) => p.label === 0 && p.frames >= 16) as DemoClipPlan;
    const sad = plans.find((p) => p.label === 1 && p.frames >= 16) as DemoClipPlan;
    // Tint swings R - B by (58 + 34) levels per unit, over about 2 units, at amplitude >= 0.75.
    const minimumSwing = 0.75 * (RENDER.tintAxis[0] - RENDER.tintAxis[2]) * 1.2;
    expect(redMinusBlue(happy, happy.frames - 1) - redMinusBlue(happy, 0)).toBeGreaterThan(minimumSwing);
    expect(redMinusBlue(sad, 0) - redMinusBlue(sad, sad.frames - 1)).toBeGreaterThan(minimumSwing);
  });
});
