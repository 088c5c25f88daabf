import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, validateConfig } from 'shared';
import { dispatch } from 'shared/cli';
import { createPthNet, loadPthNetCheckpoint, savePthNetCheckpoint } from 'model';
import { copyWindowFrames, decodeClip, openBackbone, planWindows, resolveBackbone } from 'extract';
import { writeLavfiVideo } from 'extract/testing';
import { sampleClipLevel } from 'train';
import { TINY, fixtureWorkspace } from 'train/testing';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EVAL_STAGES } from './index.js';
import { predictClip } from './predict.js';

const FIXTURES = join(TINY, '../..');
const PTH = join(TINY, 'checkpoint_init.pth');

function softmax(values: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(values));
  const e = Array.from(values, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

describe('settings predict and eval honour or reject', () => {
  const config = validateConfig({
    extract: {
      backbone: {
        preset: 'custom',
        checkpoint: join(FIXTURES, 'videomae/tiny/checkpoint.pth'),
        custom: { patch: 8, width: 48, depth: 2, heads: 4, image_size: 32 },
      },
    },
  });
  let dir: string;
  let video: string;
  beforeAll(async () => {
    await selectBackend('wasm');
    dir = mkdtempSync(join(tmpdir(), 'pthnet-settings-'));
    video = join(dir, 'clip.mp4');
    // 60 frames: 12 windows at stride 4, fewer than either level-H length, so padding tells 16 from 32.
    await writeLavfiVideo(video, 'testsrc2', 60, 40, 32);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("predict samples level H to the network's max_len, not to extract.windowLength", async () => {
    const tiny = await loadPthNetCheckpoint(PTH);
    const netConfig = { ...tiny.config, max_len: 32 };
    await savePthNetCheckpoint(join(dir, 'long'), { stateDict: tiny.stateDict, config: netConfig, epoch: 0, metrics: {}, provenance: {} });
    const p = await predictClip(video, config, { forward: join(dir, 'long.safetensors') });
    expect(p.windows).toBe(12);

    // The same clip through the same steps by hand, at level-H lengths 32 and 16.
    const clip = await decodeClip({ path: video, kind: 'video' });
    const spec = resolveBackbone(config.extract.backbone);
    const vit = await openBackbone(spec, { weights: { checkpoint: config.extract.backbone.checkpoint! } });
    const D = spec.featureDim;
    const windows = planWindows(clip.n, [4], 'cover', 'forward', 16).windows;
    const rows = new Float32Array(windows.length * D);
    for (const [i, w] of windows.entries()) {
      rows.set(await vit.extractFeatures({ data: copyWindowFrames(clip, w.frames), shape: [1, 16, clip.height, clip.width, 3] }), i * D);
    }
    await vit.close();
    const model = createPthNet(netConfig);
    model.loadStateDict(tiny.stateDict);
    const probabilities = (T: number) => {
      const sampled = sampleClipLevel({ data: rows, rows: windows.length }, D, T, 'eval');
      const x = tf.tensor3d(sampled.input, [1, D, T]);
      const m = tf.tensor3d(Float32Array.from(sampled.mask), [1, 1, T]);
      const logits = model.predict(x, m);
      const out = softmax(logits.dataSync());
      tf.dispose([x, m, logits]);
      return out;
    };
    const at32 = probabilities(32);
    const at16 = probabilities(16);
    model.dispose();
    expect(Math.max(...at32.map((v, k) => Math.abs(v - at16[k]!)))).toBeGreaterThan(1e-4);
    at32.forEach((v, k) => {
      expect(p.forward[k]).toBeCloseTo(v, 6);
    });
  });

  it('predict refuses a network trained on another level-H stride, naming datasets.strides.H', async () => {
    const tiny = await loadPthNetCheckpoint(PTH);
    await savePthNetCheckpoint(join(dir, 'stride8'), {
      stateDict: tiny.stateDict,
      config: tiny.config,
      epoch: 1,
      metrics: {},
      provenance: { featureStrides: { H: 8, M: 16, L: 32 } },
    });
    const stride8 = join(dir, 'stride8.safetensors');
    await expect(predictClip(video, config, { forward: stride8 })).rejects.toThrow(
      `datasets.strides.H: expected 8 (the level-H stride ${stride8} was trained on), got 4`,
    );
    const p = await predictClip(
      video,
      { ...config, datasets: { ...config.datasets, strides: { H: 8, M: 16, L: 32 } } },
      { forward: stride8 },
    );
    expect(p.windows).toBe(7);
  });

  it('eval refuses a test dataset packed at other strides than datasets.strides', async () => {
    const { work, config: file } = await fixtureWorkspace('pthnet-settings-eval-', ['forward']);
    const settings = JSON.parse(readFileSync(file, 'utf8')) as { datasets: Record<string, unknown> };
    const other = join(work, 'other-strides.json');
    writeFileSync(other, JSON.stringify({ ...settings, datasets: { ...settings.datasets, strides: { H: 4, M: 8, L: 32 } } }));
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await dispatch(EVAL_STAGES, ['eval', '--config', file, '--forward', PTH])).toBe(0);
    expect(errors).not.toHaveBeenCalled();
    // The report is up to date; other strides must still be refused, not answered with it.
    expect(await dispatch(EVAL_STAGES, ['eval', '--config', other, '--forward', PTH])).toBe(1);
    expect(errors).toHaveBeenCalledWith(
      expect.stringContaining(
        'pthnet eval: datasets.strides: expected H 4, M 8, L 32, got a packed dataset raw_forward_train built from features at H 4, M 8, L 16',
      ),
    );
  });
});
