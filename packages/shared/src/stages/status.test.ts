import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManifestStore } from '../manifest/store.js';
import type { ArtifactIdentity } from '../manifest/types.js';
import { featureIdentity, packedDatasetIdentity, reportIdentity, trainingRunIdentity } from '../pipeline/catalogue.js';
import { dispatch } from '../cli/dispatch.js';
import { SHARED_STAGES } from './index.js';
import { formatStatus } from './status.js';

describe('pthnet status', () => {
  let dir: string;
  let store: ManifestStore;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pthnet-status-'));
    store = await ManifestStore.open(path.join(dir, 'manifest.sqlite'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function done(identity: ArtifactIdentity, name: string, content: string): Promise<void> {
    const file = path.join(dir, name);
    writeFileSync(file, content);
    expect(await store.artifacts.claim(identity, { cacheKey: 'k', path: file })).not.toBeNull();
    await store.artifacts.complete(identity, { path: file, bytes: content.length, contentHash: 'h' });
  }

  it('lists stages and last runs in the catalogue pipeline order, whatever order they were made in', async () => {
    await store.clips.upsertClip({
      id: 'c1',
      dataset: 'demo',
      split: 'test',
      label: 0,
      labelName: 'Happy',
      frameCount: 3,
      contentHash: 'c',
    });
    for (const stage of ['eval', 'train', 'ingest', 'datasets', 'extract'] as const) await store.runs.startRun(stage);
    await done(reportIdentity('demo', 'reports/latest'), 'metrics.json', 'r');
    await done(trainingRunIdentity('demo', { direction: 'forward', source: 'raw' }), 'run.json', 'tt');
    const failed = packedDatasetIdentity('demo', { split: 'test', direction: 'forward', source: 'raw' });
    await store.artifacts.claim(failed, { cacheKey: 'k', path: path.join(dir, 'index.json') });
    await store.artifacts.fail(failed, new Error('no clips'));
    await done(featureIdentity('c1', 'forward', 4, 'raw'), 'f.npy', 'ffff');

    const summary = await store.status.summary();
    expect(summary.stages.map((s) => [s.stage, s.done, s.failed, s.bytes])).toEqual([
      ['extract', 1, 0, 4],
      ['datasets', 0, 1, 0],
      ['train', 1, 0, 2],
      ['eval', 1, 0, 1],
    ]);
    expect(summary.lastRuns.map((r) => r.stage)).toEqual(['ingest', 'extract', 'datasets', 'train', 'eval']);

    const text = formatStatus(summary, path.join(dir, 'manifest.sqlite')).split('\n');
    expect(text.slice(0, 2)).toEqual([`manifest: ${path.join(dir, 'manifest.sqlite')}`, 'clips: 1 (demo 1)']);
    const table = text.slice(text.indexOf('') + 1, text.indexOf('') + 6);
    expect(table.map((line) => line.split(/\s+/).slice(0, 3))).toEqual([
      ['stage', 'done', 'stale'],
      ['extract', '1', '0'],
      ['datasets', '0', '0'],
      ['train', '1', '0'],
      ['eval', '1', '0'],
    ]);
    expect(text).toContain('  datasets packed-dataset demo forward raw test: Error: no clips');
  });

  it('--problems lists every failed item and every ingest issue with its file and reason, as text and as JSON', async () => {
    await store.clips.upsertClip({
      id: 'c1',
      dataset: 'demo',
      split: 'test',
      label: 0,
      labelName: 'Happy',
      frameCount: 3,
      contentHash: 'c',
    });
    const failed = featureIdentity('c1', 'forward', 4, 'raw');
    await store.artifacts.claim(failed, { cacheKey: 'k', path: path.join(dir, 'c1.npy') });
    await store.artifacts.fail(failed, new Error('decode failed: frame 3 of /clips/c1/0003.jpg is not an image'));
    await store.clips.recordIngestIssue({
      dataset: 'demo',
      path: '/lists/train.txt',
      reason: 'path_escape',
      detail: 'train.txt:1: "/x/../../y" climbs out',
    });
    await store.clips.recordIngestIssue({
      dataset: 'demo',
      path: '/f/a.npy',
      reason: 'bad_features',
      detail: 'expected finite values, got 1 NaN',
    });
    await store.close();
    const config = path.join(dir, 'pthnet.config.json');
    writeFileSync(config, JSON.stringify({ dataDir: dir }));
    const printed: string[] = [];
    const log = console.log;
    console.log = (text: string) => printed.push(text);
    try {
      expect(await dispatch(SHARED_STAGES, ['status', '--config', config, '--problems'])).toBe(0);
      expect(await dispatch(SHARED_STAGES, ['status', '--config', config, '--problems', '--json'])).toBe(0);
    } finally {
      console.log = log;
      store = await ManifestStore.open(path.join(dir, 'manifest.sqlite'));
    }
    expect(printed[0]?.split('\n')).toEqual([
      '1 failed items, 2 ingest issues',
      '',
      'failed:',
      `  extract features c1 forward 4 raw: ${path.join(dir, 'c1.npy')}: Error: decode failed: frame 3 of /clips/c1/0003.jpg is not an image`,
      '',
      'ingest issues:',
      '  demo bad_features: /f/a.npy: expected finite values, got 1 NaN',
      '  demo path_escape: /lists/train.txt: train.txt:1: "/x/../../y" climbs out',
    ]);
    const json = JSON.parse(printed[1] ?? '{}') as {
      failed: Array<{ path: string; error: string }>;
      ingestIssues: Array<{ path: string; reason: string }>;
    };
    expect(json.failed.map((f) => [f.path, f.error])).toEqual([
      [path.join(dir, 'c1.npy'), 'Error: decode failed: frame 3 of /clips/c1/0003.jpg is not an image'],
    ]);
    expect(json.ingestIssues.map((i) => [i.reason, i.path])).toEqual([
      ['bad_features', '/f/a.npy'],
      ['path_escape', '/lists/train.txt'],
    ]);
  });
});
