import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError, argmaxRows, selectBackend, validateConfig } from 'shared';
import { loadPthNetCheckpoint, savePthNetCheckpoint } from 'model';
import { combineLogits } from '../combine/index.js';
import { predictClip } from './predict.js';
import { patternFrames, writeLavfiVideo, writePngFrames } from 'extract/testing';

const FIXTURES = resolve(import.meta.dirname, '../../../../../shared/fixtures');
const PTHNET = join(FIXTURES, 'pthnet/tiny/checkpoint_init.pth');

describe('predict on one clip (tiny backbone and PTH-Net fixtures, both 48-wide)', () => {
  const config = validateConfig({
    extract: {
      backbone: {
        preset: 'custom',
        checkpoint: join(FIXTURES, 'videomae/tiny/checkpoint.pth'),
        custom: { patch: 8, width: 48, depth: 2, heads: 4, image_size: 32 },
      },
    },
    eval: { mu: 0.7 },
  });
  let dir: string;
  beforeAll(async () => {
    await selectBackend('wasm');
    dir = mkdtempSync(join(tmpdir(), 'pthnet-predict-'));
  });

  it('classifies a video shorter than 16 frames: one window, probabilities summing to 1, sorted', async () => {
    const video = join(dir, 'short.mp4');
    await writeLavfiVideo(video, 'testsrc2', 10, 40, 32);
    const p = await predictClip(video, config, {
      forward: PTHNET,
      reversed: PTHNET,
      labelNames: ['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear'],
    });
    expect(p.frames).toBe(10);
    expect(p.windows).toBe(1);
    expect(p.combined.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(p.classes).toHaveLength(7);
    expect(p.classes[0]!.probability).toBe(Math.max(...p.combined));
    expect(p.classes.map((c) => c.name).sort()).toEqual(['Angry', 'Disgust', 'Fear', 'Happy', 'Neutral', 'Sad', 'Surprise']);
    // a 10-frame clip is not a palindrome: the two directions see different windows
    expect(p.forward).not.toEqual(p.reversed);
  });

  it('a palindromic frame folder gives the same forward and reversed probabilities', async () => {
    const w = 24;
    const h = 16;
    const base = patternFrames(6, w, h);
    const frames = new Uint8Array(12 * w * h * 3);
    for (let i = 0; i < 12; i++)
      frames.set(base.subarray((i < 6 ? i : 11 - i) * w * h * 3, ((i < 6 ? i : 11 - i) + 1) * w * h * 3), i * w * h * 3);
    const folder = join(dir, 'palindrome');
    await writePngFrames(folder, frames, w, h);
    const p = await predictClip(folder, config, { forward: PTHNET, reversed: PTHNET });
    expect(p.frames).toBe(12);
    for (let k = 0; k < 7; k++) expect(p.reversed![k]).toBeCloseTo(p.forward[k]!, 6);
  });

  it('combines the two networks as eval does (float32 rounding): a near tie falls the same way in both', async () => {
    // Two classes a few float32 ulps apart in both networks. In float64, 0.7 f + 0.3 r puts class 0
    // ahead by 6e-9; rounded as float32 (eval, and the reference in PyTorch) class 1 is ahead by 1.2e-7.
    const forwardLogits = [0.848467230796814, 0.8484671711921692, -5, -5, -5, -5, -5];
    const reversedLogits = [1.6231335401535034, 1.623133659362793, -5, -5, -5, -5, -5];
    const float64 = forwardLogits.map((f, k) => 0.7 * f + 0.3 * reversedLogits[k]!);
    expect(float64[0]! > float64[1]!).toBe(true);
    const asMatrix = (row: number[]) => ({ data: Float32Array.from(row), shape: [1, 7] as [number, number] });
    const evalChoice = argmaxRows(combineLogits(asMatrix(forwardLogits), asMatrix(reversedLogits), 0.7))[0];
    expect(evalChoice).toBe(1);

    // Networks whose logits are exactly these, whatever the clip: head weights 0, head bias = logits.
    const base = await loadPthNetCheckpoint(PTHNET);
    const withLogits = async (name: string, logits: number[]) => {
      const stateDict = new Map(base.stateDict);
      stateDict.set('head.weight', { shape: [7, base.config.n_embd], data: new Float32Array(7 * base.config.n_embd) });
      stateDict.set('head.bias', { shape: [7], data: Float32Array.from(logits) });
      await savePthNetCheckpoint(join(dir, name), { stateDict, config: base.config, epoch: 0, metrics: {}, provenance: {} });
      return join(dir, `${name}.safetensors`);
    };
    const video = join(dir, 'tie.mp4');
    await writeLavfiVideo(video, 'testsrc2', 20, 40, 32);
    const p = await predictClip(video, config, {
      forward: await withLogits('tie_forward', forwardLogits),
      reversed: await withLogits('tie_reversed', reversedLogits),
    });
    expect(p.forward[0]! > p.forward[1]!).toBe(true);
    expect(p.classes[0]!.index).toBe(evalChoice);
    expect(p.combined[1]! > p.combined[0]!).toBe(true);
  });

  it('streams the backbone under a weight budget of one block and predicts exactly as with the weights held', async () => {
    const video = join(dir, 'streamed.mp4');
    await writeLavfiVideo(video, 'testsrc2', 30, 40, 32);
    const networks = { forward: PTHNET, reversed: PTHNET };
    const held = await predictClip(video, config, networks);
    // the tiny ViT's patch embedding and fc_norm (74,304 bytes) and one of its two blocks (112,896): less than its 300,096
    const oneBlock = 74_304 + 112_896;
    const streamedConfig = validateConfig({
      ...config,
      extract: { ...config.extract, backbone: { ...config.extract.backbone, weightBudget: oneBlock } },
    });
    const streamed = await predictClip(video, streamedConfig, networks);
    expect(streamed.windows).toBe(5);
    expect(streamed.combined).toEqual(held.combined);
    expect(streamed.forward).toEqual(held.forward);
    const tooSmall = validateConfig({
      ...config,
      extract: { ...config.extract, backbone: { ...config.extract.backbone, weightBudget: oneBlock - 1 } },
    });
    await expect(predictClip(video, tooSmall, networks)).rejects.toThrow(
      /^extract\.backbone\.weightBudget: expected at least 187200 bytes/,
    );
  });

  it('rejects an unreadable file with an error naming it', async () => {
    const bad = join(dir, 'broken.mp4');
    writeFileSync(bad, 'not a video');
    await expect(predictClip(bad, config, { forward: PTHNET })).rejects.toThrow(InputError);
    await expect(predictClip(join(dir, 'missing.mp4'), config, { forward: PTHNET })).rejects.toThrow(
      /missing\.mp4: expected a video file or a folder of frames/,
    );
  });
});
