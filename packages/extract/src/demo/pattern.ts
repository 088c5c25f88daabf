import { InputError } from 'shared';
import { DEFAULT_PATTERN_PARAMS, DEMO_LABELS, STEP_WIDTH } from './constants.js';
import type { DemoPatternParams, DemoSignal } from './types.js';

function smoothstep(x: number): number {
  const c = Math.min(1, Math.max(0, x));
  return c * c * (3 - 2 * c);
}

/**
 * The class signal of the demo dataset at clip time `t` in [0, 1] (first to last frame).
 *
 * Every class has the same mean (0 on both channels, over t in [0, 1] with the default
 * params), so a clip's average appearance says nothing about its class: only how the face
 * changes over time does. Played backwards, Happy (a rise) becomes Sad (a fall), which is
 * what makes the forward and reversed models see different things.
 *
 * | label | tint | growth |
 * | --- | --- | --- |
 * | 0 Happy | rises (-cos pi s) | flat |
 * | 1 Sad | falls (cos pi s) | flat |
 * | 2 Neutral | flat | flat |
 * | 3 Angry | rises then falls (-cos 2 pi s) | flat |
 * | 4 Surprise | flat | a sudden step up at `stepAt` |
 * | 5 Disgust | falls then rises (cos 2 pi s) | flat |
 * | 6 Fear | flat | trembles: cos(2 pi `cycles` s + `phase`) |
 *
 * where `s = clamp(start + t * (end - start), 0, 1)` is the pattern time.
 */
export function demoClassPattern(label: number, t: number, params: DemoPatternParams = DEFAULT_PATTERN_PARAMS): DemoSignal {
  const s = Math.min(1, Math.max(0, params.start + t * (params.end - params.start)));
  switch (label) {
    case 0:
      return { tint: -Math.cos(Math.PI * s), growth: 0 };
    case 1:
      return { tint: Math.cos(Math.PI * s), growth: 0 };
    case 2:
      return { tint: 0, growth: 0 };
    case 3:
      return { tint: -Math.cos(2 * Math.PI * s), growth: 0 };
    case 4:
      return { tint: 0, growth: 2 * smoothstep((s - params.stepAt) / STEP_WIDTH + 0.5) - 1 };
    case 5:
      return { tint: Math.cos(2 * Math.PI * s), growth: 0 };
    case 6:
      return { tint: 0, growth: Math.cos(2 * Math.PI * params.cycles * s + params.phase) };
    default:
      throw new InputError(`demo class pattern: expected a label index in 0..${DEMO_LABELS.length - 1}, got ${label}`);
  }
}

/**
 * The class signal sampled at each of `frames` frames (`t = i / (frames - 1)`), with each
 * channel's mean over the clip subtracted: the clip's average face is then exactly its base
 * face, whatever the class and the per-clip params.
 */
export function demoClipSignal(
  label: number,
  frames: number,
  params: DemoPatternParams = DEFAULT_PATTERN_PARAMS,
): { tint: Float64Array; growth: Float64Array } {
  const tint = new Float64Array(frames);
  const growth = new Float64Array(frames);
  for (let i = 0; i < frames; i++) {
    const value = demoClassPattern(label, frames > 1 ? i / (frames - 1) : 0, params);
    tint[i] = value.tint;
    growth[i] = value.growth;
  }
  for (const channel of [tint, growth]) {
    let sum = 0;
    for (const v of channel) sum += v;
    const mean = sum / Math.max(1, frames);
    for (let i = 0; i < frames; i++) channel[i] = (channel[i] ?? 0) - mean;
  }
  return { tint, growth };
}
