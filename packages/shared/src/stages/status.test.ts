import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManifestStore } from '../manifest/store.js';
import type { ArtifactIdentity } from '../manifest/types.js';
import { featureIdentity, packedDatasetIdentity, reportIdentity, trainingRunIdentity } from '../pipeline/catalogue.js';
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
});
