import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetSourceConfig, PipelineConfig } from 'shared';
import { ManifestStore, readNpy, selectBackend, validateConfig } from 'shared';
import { decodeClip } from '../decode/decode.js';
import { loadVitWeights } from '../videomae/checkpoint.js';
import { resolveVitConfig } from '../videomae/config.js';
import { createVitModel } from '../videomae/vit.js';
import { makeTempDir, writeLavfiVideo } from '../probe/testing.js';
import { windowCount, windowFrameIndices, windowStarts } from '../windows/windows.js';
import { ingestDataset } from './ingest.js';
import { runExtract } from './extract.js';

const FIXTURE_CKPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/fixtures/videomae/tiny/checkpoint.pth');
const FRAMES = { 'Action/Sad/0001': 17, 'Action/Sad/0002': 1, 'Action/Happy/0003': 47, 'Action/Happy/0004': 15 } as const;

describe('extract stage (tiny VideoMAE checkpoint, generated videos)', () => {
  let root: string;
  let store: ManifestStore;
  let config: PipelineConfig;
  const entry = () => ({ name: 'ferv39k', layout: 'ferv39k', root, sources: ['raw'] }) as DatasetSourceConfig;

  beforeAll(async () => {
    root = await makeTempDir('pthnet-extract-');
    for (const [id, n] of Object.entries(FRAMES)) {
      await mkdir(dirname(join(root, '0_7_LabelClips', id)), { recursive: true });
      await writeLavfiVideo(join(root, '0_7_LabelClips', `${id}.mp4`), 'testsrc2', n, 40, 32);
    }
    await mkdir(join(root, '4_setups/All_scenes'), { recursive: true });
    await writeFile(join(root, '4_setups/All_scenes/train_All.csv'), 'Action/Sad/0001 Sad\nAction/Sad/0002 Sad\nAction/Happy/0004 Happy\n');
    await writeFile(join(root, '4_setups/All_scenes/test_All.csv'), 'Action/Happy/0003 Happy\n');
    store = await ManifestStore.open(join(root, 'data', 'manifest.sqlite'));
    await ingestDataset(store, entry(), { cwd: root, runId: await store.runs.startRun('ingest', {}) });
    config = validateConfig({
      workers: 2,
      extract: {
        tag: 'tiny',
        batchSize: 8,
        backbone: { preset: 'custom', checkpoint: FIXTURE_CKPT, custom: { patch: 8, width: 48, depth: 2, heads: 4, image_size: 32 } },
      },
    });
  });
  afterAll(() => store?.close());

  it('writes [windows, D] files per stride and direction in the reference layout, matching the ViT on the same frames', async () => {
    const summary = await runExtract(store, config, join(root, 'data'), { runId: await store.runs.startRun('extract', {}) });
    expect(summary).toMatchObject({ clips: 4, produced: 24, upToDate: 0, failed: 0 });
    // distinct windows: forward + reversed, stride 4 windows cover the others (n=47: 9 distinct)
    expect(summary.windows).toBe(2 * (2 + 1 + 9 + 1));
    for (const [id, n] of Object.entries(FRAMES)) {
      for (const stride of [4, 8, 16]) {
        for (const rv of ['', '_rv']) {
          const f = await readNpy(join(root, 'data/features', `tiny_16_${stride}${rv}`, `${id}.npy`));
          expect(f.shape).toEqual([windowCount(n, stride), 48]);
        }
      }
    }
    // numbers: row k of stride 8 (forward and reversed) equals the ViT run directly on that window's frames
    await selectBackend('wasm');
    const vit = resolveVitConfig({ preset: 'custom', patch: 8, width: 48, depth: 2, heads: 4, image_size: 32 });
    const model = createVitModel(vit, await loadVitWeights(FIXTURE_CKPT, vit));
    const clip = await decodeClip({ path: join(root, '0_7_LabelClips/Action/Happy/0003.mp4'), kind: 'video' });
    const frameBytes = clip.width * clip.height * 3;
    for (const reversed of [false, true]) {
      const starts = windowStarts(47, 8);
      const window = new Uint8Array(16 * frameBytes);
      windowFrameIndices(starts[2]!, 47).forEach((f, k) => {
        const src = reversed ? 46 - f : f;
        window.set(clip.frames.subarray(src * frameBytes, (src + 1) * frameBytes), k * frameBytes);
      });
      const direct = await model.extractFeatures({ data: window, shape: [1, 16, clip.height, clip.width, 3] });
      const file = await readNpy(join(root, 'data/features', `tiny_16_8${reversed ? '_rv' : ''}`, 'Action/Happy/0003.npy'));
      const row = (file.data as Float32Array).slice(2 * 48, 3 * 48);
      for (let j = 0; j < 48; j++) expect(row[j]).toBeCloseTo(direct[j]!, 4);
    }
    await model.dispose();
    // feature lists in the reference format
    const list = readFileSync(join(root, 'data/features/tiny_16_4/test.txt'), 'utf8');
    expect(list).toBe('features/tiny_16_4/Action/Happy/0003.npy 9 0\n');
  });

  it('does nothing on a rerun, and redoes only a changed clip', async () => {
    expect(await runExtract(store, config, join(root, 'data'), { runId: await store.runs.startRun('extract', {}) })).toMatchObject({
      clips: 0,
      produced: 0,
      upToDate: 24,
    });
    await writeLavfiVideo(join(root, '0_7_LabelClips/Action/Sad/0001.mp4'), 'testsrc2', 20, 40, 32);
    await ingestDataset(store, entry(), { cwd: root, runId: await store.runs.startRun('ingest', {}) });
    const again = await runExtract(store, config, join(root, 'data'), { runId: await store.runs.startRun('extract', {}) });
    expect(again).toMatchObject({ clips: 1, produced: 6, upToDate: 18, failed: 0 });
    expect((await readNpy(join(root, 'data/features/tiny_16_4/Action/Sad/0001.npy'))).shape).toEqual([2, 48]);
  });

  it('records a clip that cannot be decoded as failed, with its error, and finishes the others', async () => {
    // 0002's file goes bad after ingest; its artifacts are forced stale so extract retries it
    await writeFile(join(root, '0_7_LabelClips/Action/Sad/0002.mp4'), 'garbage, not a video');
    await store.artifacts.markStaleWhere({ stage: 'extract', clipId: 'Action/Sad/0002' });
    await store.artifacts.markStaleWhere({ stage: 'extract', clipId: 'Action/Happy/0004' });
    const summary = await runExtract(store, config, join(root, 'data'), { runId: await store.runs.startRun('extract', {}) });
    expect(summary).toMatchObject({ clips: 2, produced: 6, failed: 1 });
    const failed = await store.artifacts.listArtifacts({ stage: 'extract', status: 'failed' });
    expect(failed).toHaveLength(6);
    expect(failed.every((a) => a.clipId === 'Action/Sad/0002' && /0002\.mp4/.test(a.error ?? ''))).toBe(true);
    const status = (await store.status.summary()).stages.find((s) => s.stage === 'extract');
    expect(status).toMatchObject({ done: 18, failed: 6 });
  });
});
