import { DEMO_LABELS, DEMO_SCENES } from './constants.js';
import { createDemoSetRng, deriveSeed } from 'shared';
import type { DemoClipPlan, DemoContentConfig, DemoSplit, DemoStorage } from './types.js';

const SPLITS: readonly DemoSplit[] = ['train', 'test'];

/** Stream tags, so the plan and the rendering of a clip draw from unrelated sequences. */
const PLAN_STREAM = 0x706c616e;
const RENDER_STREAM = 0x72656e64;

/**
 * Cycles through every (raw, face) storage pair, so each class and split holds videos and
 * frame folders in both views as soon as it has 3 clips: raw is mostly video and face crops
 * mostly frame folders, as in FERV39k.
 */
const STORAGE_CYCLE: ReadonlyArray<readonly [DemoStorage, DemoStorage]> = [
  ['video', 'frames'],
  ['video', 'video'],
  ['frames', 'frames'],
];

/**
 * Draws every clip's label, split, scene, ID, length, storage and pattern params from the seed.
 * Each clip's draws come from its own stream keyed by (split, label, position in class), so
 * changing the test count leaves every train clip as it was.
 */
export function planDemoDataset(config: DemoContentConfig): DemoClipPlan[] {
  const plans: DemoClipPlan[] = [];
  const idCounters = new Map<string, number>();
  for (const [splitIndex, split] of SPLITS.entries()) {
    const count = config.clipsPerClass[split];
    for (let label = 0; label < DEMO_LABELS.length; label++) {
      for (let k = 0; k < count; k++) {
        const rng = createDemoSetRng(deriveSeed(config.seed, PLAN_STREAM, splitIndex, label, k));
        // Scenes rotate within each class so that the background never hints at the label.
        const sceneIndex = (k + splitIndex) % DEMO_SCENES.length;
        const scene = DEMO_SCENES[sceneIndex] as string;
        const labelName = DEMO_LABELS[label] as string;
        const key = `${scene}/${labelName}`;
        const number = (idCounters.get(key) ?? 0) + 1;
        idCounters.set(key, number);
        const [rawStorage, faceStorage] = STORAGE_CYCLE[k % STORAGE_CYCLE.length] as readonly [DemoStorage, DemoStorage];
        const index = plans.length;
        plans.push({
          index,
          id: `${key}/${String(number).padStart(4, '0')}`,
          split,
          label,
          scene,
          sceneIndex,
          // Triangular over [minFrames, maxFrames], peaked in the middle like FERV39k's face-crop
          // lengths (where about 12% of clips have 16 frames or fewer, i.e. a single window).
          frames: config.minFrames + Math.round(((config.maxFrames - config.minFrames) * (rng.nextFloat() + rng.nextFloat())) / 2),
          rawStorage,
          faceStorage,
          pattern: {
            start: rng.uniform(-0.12, 0.08),
            end: rng.uniform(0.92, 1.12),
            stepAt: rng.uniform(0.35, 0.65),
            cycles: rng.uniform(1.25, 1.9),
            phase: rng.uniform(-0.4, 0.4),
          },
          renderSeed: deriveSeed(config.seed, RENDER_STREAM, splitIndex, label, k),
        });
      }
    }
  }
  return plans;
}
