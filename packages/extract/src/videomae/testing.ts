// Test helpers: the tiny VideoMAE v2 golden fixture. Not part of the public API.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fixturesDir, readNpyAs } from 'shared';
import { resolveVitConfig } from './config.js';
import type { VideoWindowBatch } from '../backbones/types.js';
import type { VitConfig } from './types.js';

/** `<repo>/../shared/fixtures/videomae/tiny`. */
function tinyVitFixtureDir(): string {
  return fixturesDir('videomae', 'tiny');
}

export interface TinyVitFixture {
  config: VitConfig;
  checkpointPath: string;
  /** `state_dict_keys` of expected.json: every key of the checkpoint with its shape. */
  stateDictShapes: Map<string, number[]>;
  paramCount: number;
  windows: VideoWindowBatch;
  /** `[2, 3, 16, 32, 32]` after scaling and resizing, as the reference feeds the model. */
  modelInput: { shape: number[]; data: Float32Array };
  /** `[2, 48]`. */
  features: { shape: number[]; data: Float32Array };
}

export async function loadTinyVitFixture(): Promise<TinyVitFixture> {
  const dir = tinyVitFixtureDir();
  const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as {
    config: Record<string, number>;
    param_count: number;
    state_dict_keys: Record<string, number[]>;
  };
  const frames = await readNpyAs(path.join(dir, 'frames_uint8.npy'), 'uint8');
  const modelInput = await readNpyAs(path.join(dir, 'model_input.npy'), 'float32');
  const features = await readNpyAs(path.join(dir, 'features.npy'), 'float32');
  return {
    // The reference kwargs, spelt as the reference spells them.
    config: resolveVitConfig({ preset: 'custom', ...expected.config }),
    checkpointPath: path.join(dir, 'checkpoint.pth'),
    stateDictShapes: new Map(Object.entries(expected.state_dict_keys)),
    paramCount: expected.param_count,
    windows: { data: frames.data, shape: frames.shape as [number, number, number, number, number] },
    modelInput: { shape: modelInput.shape, data: modelInput.data },
    features: { shape: features.shape, data: features.data },
  };
}

/** Largest absolute difference of two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length} differ`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}
