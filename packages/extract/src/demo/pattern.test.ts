import { InputError } from 'shared';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PATTERN_PARAMS, DEMO_LABELS } from './constants.js';
import { demoClassPattern, demoClipSignal } from './pattern.js';
import type { DemoSignal } from './types.js';

const STEPS = 2001;
const CHANNELS: ReadonlyArray<keyof DemoSignal> = ['tint', 'growth'];

/** The pattern sampled on a fine grid over t in [0, 1]. */
function trajectory(label: number): DemoSignal[] {
  return Array.from({ length: STEPS }, (_, i) => demoClassPattern(label, i / (STEPS - 1)));
}

/** Trapezoid-rule mean over [0, 1]. */
function mean(values: number[]): number {
  let sum = 0;
  for (let i = 1; i < values.length; i++) sum += ((values[i - 1] ?? 0) + (values[i] ?? 0)) / 2;
  return sum / (values.length - 1);
}

describe('demoClassPattern', () => {
  it('gives every class the same mean (0) on both channels', () => {
    for (let label = 0; label < DEMO_LABELS.length; label++) {
      const points = trajectory(label);
      for (const channel of CHANNELS) expect(Math.abs(mean(points.map((p) => p[channel])))).toBeLessThan(1e-6);
    }
  });

  it('makes every pair of classes differ over time', () => {
    const all = DEMO_LABELS.map((_, label) => trajectory(label));
    for (let a = 0; a < all.length; a++) {
      for (let b = a + 1; b < all.length; b++) {
        const squared = (all[a] ?? []).map((p, i) => {
          const q = (all[b] ?? [])[i] as DemoSignal;
          return (p.tint - q.tint) ** 2 + (p.growth - q.growth) ** 2;
        });
        // RMS distance between trajectories; the closest pairs (e.g. Neutral vs Happy) are at ~0.7.
        expect(Math.sqrt(mean(squared)), `${DEMO_LABELS[a]} vs ${DEMO_LABELS[b]}`).toBeGreaterThan(0.5);
      }
    }
  });

  it('follows the documented shapes', () => {
    expect(demoClassPattern(0, 0)).toEqual({ tint: -1, growth: 0 });
    expect(demoClassPattern(0, 1).tint).toBeCloseTo(1, 12);
    expect(demoClassPattern(1, 0).tint).toBeCloseTo(1, 12);
    expect(demoClassPattern(2, 0.3)).toEqual({ tint: 0, growth: 0 });
    expect(demoClassPattern(3, 0.5).tint).toBeCloseTo(1, 12);
    expect(demoClassPattern(5, 0.5).tint).toBeCloseTo(-1, 12);
    // Surprise: flat at -1 until just before stepAt (0.5, width 0.08), +1 just after.
    expect(demoClassPattern(4, 0.45).growth).toBe(-1);
    expect(demoClassPattern(4, 0.5).growth).toBeCloseTo(0, 12);
    expect(demoClassPattern(4, 0.55).growth).toBe(1);
    // Fear: cos(2 pi 1.5 t): +1, -1, +1, -1 at t = 0, 1/3, 2/3, 1.
    expect(demoClassPattern(6, 1 / 3).growth).toBeCloseTo(-1, 12);
    expect(demoClassPattern(6, 1).growth).toBeCloseTo(-1, 12);
  });

  it('turns Happy into Sad and keeps Angry when played backwards', () => {
    for (const t of [0, 0.1, 0.37, 0.5, 0.8, 1]) {
      expect(demoClassPattern(0, 1 - t).tint).toBeCloseTo(demoClassPattern(1, t).tint, 12);
      expect(demoClassPattern(3, 1 - t).tint).toBeCloseTo(demoClassPattern(3, t).tint, 12);
    }
  });

  it('applies per-clip start, end and step params', () => {
    const params = { ...DEFAULT_PATTERN_PARAMS, start: -0.25, end: 1, stepAt: 0.3 };
    // Pattern time is clamped: the first fifth of the clip sits at the pattern's start.
    expect(demoClassPattern(0, 0, params).tint).toBe(-1);
    expect(demoClassPattern(0, 0.2, params).tint).toBe(-1);
    expect(demoClassPattern(0, 0.6, params).tint).toBeCloseTo(-Math.cos(Math.PI * 0.5), 12);
    expect(demoClassPattern(4, 0.6, params).growth).toBe(1);
  });

  it('rejects a label outside 0..6', () => {
    expect(() => demoClassPattern(7, 0.5)).toThrow(InputError);
    expect(() => demoClassPattern(7, 0.5)).toThrow(/expected a label index in 0\.\.6, got 7/);
  });
});

describe('demoClipSignal', () => {
  it('samples one value per frame and removes the clip mean exactly', () => {
    const params = { start: -0.1, end: 1.05, stepAt: 0.4, cycles: 1.7, phase: 0.3 };
    for (let label = 0; label < DEMO_LABELS.length; label++) {
      for (const frames of [1, 8, 23, 48]) {
        const signal = demoClipSignal(label, frames, params);
        expect(signal.tint.length).toBe(frames);
        for (const channel of [signal.tint, signal.growth]) {
          expect(Math.abs(channel.reduce((a, b) => a + b, 0))).toBeLessThan(1e-12);
        }
      }
    }
  });

  it('matches the pattern minus its frame mean', () => {
    // Happy over 3 frames: -cos(0), -cos(pi/2), -cos(pi) = -1, 0, 1 (mean 0).
    const signal = demoClipSignal(0, 3);
    expect(signal.tint[0]).toBeCloseTo(-1, 12);
    expect(signal.tint[1]).toBeCloseTo(0, 12);
    expect(signal.tint[2]).toBeCloseTo(1, 12);
    // Angry over 3 frames: -1, 1, -1 (mean -1/3) -> -2/3, 4/3, -2/3.
    const angry = demoClipSignal(3, 3);
    expect(angry.tint[0]).toBeCloseTo(-2 / 3, 12);
    expect(angry.tint[1]).toBeCloseTo(4 / 3, 12);
  });
});
