import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureIdentity } from '../pipeline/catalogue.js';
import { copyManifest } from './copy.js';
import { ManifestStore } from './store.js';
import { postgresForTests, startPostgres } from './test-support/postgres-server.js';
import type { PostgresServer } from './test-support/postgres-server.js';

const postgres = postgresForTests();
let server: PostgresServer | undefined;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pthnet-copy-'));
  if (postgres.available) server = await startPostgres(postgres);
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A small manifest with a row in every table, text that collates differently per database, dates, booleans and nulls. */
async function fill(store: ManifestStore): Promise<void> {
  const runId = await store.runs.startRun('ingest', { n: 1 });
  await store.clips.upsertClips([
    { id: 'b/Zed', dataset: 'd', split: 'train', label: 0, labelName: 'A', frameCount: 3, fps: 29.97, contentHash: 'h1' },
    { id: 'a/alpha', dataset: 'd', split: null, label: 1, labelName: 'B', frameCount: 5, contentHash: 'h2' },
    { id: 'B/beta', dataset: 'd', label: 1, labelName: 'B', frameCount: 7, width: 640, height: 480, contentHash: 'h3' },
  ]);
  await store.clips.upsertClipSource({ clipId: 'b/Zed', kind: 'face', path: '/f', contentHash: 'f', frameCount: 3, isFrameFolder: true });
  await store.clips.setSplitMembers('d', 'set_1/train', ['a/alpha', 'B/beta']);
  await store.clips.setLabelMap('d', ['A', 'B']);
  await store.clips.recordIngestIssue({ dataset: 'd', path: '/bad.mp4', reason: 'unreadable', detail: 'x', runId });
  const identity = featureIdentity('b/Zed', 'forward', 4, 'raw');
  await store.artifacts.claim(identity, { cacheKey: 'k', path: path.join(dir, 'x.npy') });
  await store.artifacts.complete(identity, { path: path.join(dir, 'x.npy'), bytes: 5_000_000_000, contentHash: 'c' });
  await store.artifacts.claim(featureIdentity('a/alpha', 'reversed', 8, 'raw'), { cacheKey: 'k', path: path.join(dir, 'y.npy') });
  await store.runs.finishRun(runId, { outcome: 'ok', counts: { clips: 3 } });
}

describe.skipIf(!postgres.available)('manifest migrate: copying between SQLite and PostgreSQL', () => {
  it('copies SQLite to PostgreSQL and back, row for row, verified by counts and content hashes; the copy works on', async () => {
    const sqliteFile = path.join(dir, 'laptop.sqlite');
    const laptop = await ManifestStore.open(sqliteFile);
    await fill(laptop);
    const url = await server!.createDatabase();
    const cluster = await ManifestStore.open(url);
    const totals: number[] = [];
    const there = await copyManifest(laptop, cluster, { total: (rows) => totals.push(rows), copied: () => undefined });
    expect(totals).toEqual([12]);
    expect(there.map((t) => [t.table, t.rows])).toEqual([
      ['clips', 3],
      ['clipSources', 1],
      ['splitMembers', 2],
      ['labelMaps', 2],
      ['runs', 1],
      ['ingestIssues', 1],
      ['artifacts', 2],
    ]);
    expect(await cluster.artifacts.listArtifacts()).toEqual(await laptop.artifacts.listArtifacts());
    expect(await cluster.clips.listClips({ split: 'set_1/train' })).toEqual(await laptop.clips.listClips({ split: 'set_1/train' }));
    // the sequences follow the copied ids: the next artifact gets a new one
    await cluster.artifacts.claim(featureIdentity('B/beta', 'forward', 4, 'raw'), { cacheKey: 'k', path: path.join(dir, 'z.npy') });
    expect((await cluster.artifacts.listArtifacts()).map((a) => a.id)).toEqual([1, 2, 3]);

    // a non-empty target is refused, naming the table
    await expect(copyManifest(laptop, cluster)).rejects.toThrow('expected an empty manifest, got 3 rows in clips');

    const back = await ManifestStore.open(path.join(dir, 'back.sqlite'));
    const again = await copyManifest(cluster, back);
    expect(again.find((t) => t.table === 'artifacts')?.rows).toBe(3);
    expect(again.filter((t) => t.table !== 'artifacts').map((t) => t.hash)).toEqual(
      there.filter((t) => t.table !== 'artifacts').map((t) => t.hash),
    );
    await Promise.all([laptop.close(), cluster.close(), back.close()]);
  });
});
