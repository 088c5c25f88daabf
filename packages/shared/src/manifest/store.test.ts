import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheKey } from '../cache/cache-key.js';
import type { CacheKeyInput } from '../cache/types.js';
import { ManifestError } from '../errors/index.js';
import { getTableConfig } from 'drizzle-orm/sqlite-core';
import * as schema from './schema.js';
import { artifacts, clips } from './schema.js';
import { ManifestStore, connectionOf } from './store.js';
import type { ArtifactIdentity, ClipInput } from './types.js';
import { featureIdentity, packedDatasetIdentity, trainingRunIdentity } from '../pipeline/catalogue.js';
import { identityKey } from './identity.js';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';

const DRIZZLE_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../drizzle');
const JOURNAL = JSON.parse(readFileSync(path.join(DRIZZLE_DIR, 'meta/_journal.json'), 'utf8')) as {
  entries: Array<{ idx: number; tag: string }>;
};

describe('manifest upgrades', () => {
  /** A manifest file as the first release left it: only the first migration applied, then `rows` written. */
  function firstReleaseManifest(clips: ReadonlyArray<[id: string, dataset: string]>): { file: string; sqlite: Database.Database } {
    const dir = mkdtempSync(path.join(tmpdir(), 'pthnet-upgrade-'));
    // a migrations folder holding only the first migration, as the first release shipped it
    const old = path.join(dir, 'drizzle');
    mkdirSync(path.join(old, 'meta'), { recursive: true });
    const first = JOURNAL.entries[0]!;
    writeFileSync(path.join(old, `${first.tag}.sql`), readFileSync(path.join(DRIZZLE_DIR, `${first.tag}.sql`)));
    writeFileSync(path.join(old, 'meta/_journal.json'), JSON.stringify({ ...JOURNAL, entries: [first] }));
    const file = path.join(dir, 'manifest.sqlite');
    const sqlite = new Database(file);
    migrate(drizzle(sqlite), { migrationsFolder: old });
    for (const [id, dataset] of clips) {
      sqlite
        .prepare(
          "insert into clips (id, dataset, split, label, label_name, frame_count, content_hash, created_at, updated_at) values (?, ?, 'train', 0, 'Happy', 3, 'h', 0, 0)",
        )
        .run(id, dataset);
    }
    const artifact = sqlite.prepare(
      'insert into artifacts (identity, stage, kind, clip_id, direction, stride, source, variant, cache_key, path, status, bytes, content_hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 3, ?)',
    );
    const add = (
      stage: string,
      kind: string,
      clipId: string | null,
      direction: string,
      stride: number | null,
      variant: string,
      p: string,
    ) =>
      artifact.run(
        JSON.stringify([stage, kind, clipId, direction, stride, 'raw', variant]),
        stage,
        kind,
        clipId,
        direction,
        stride,
        'raw',
        variant,
        'k',
        p,
        'done',
        'h',
      );
    // as the first release recorded them: a clip's features, a packed dataset (its index) and a
    // forward run (kind `checkpoint`, pointing at best.safetensors)
    add('extract', 'features', 'a', 'forward', 4, '', '/features/demo_16_4/a.npy');
    add('datasets', 'packed-dataset', null, 'forward', null, 'train', '/datasets/raw_forward_train/raw_forward_train.index.json');
    add('train', 'checkpoint', null, 'forward', null, '', '/runs/raw_forward/best.safetensors');
    return { file, sqlite };
  }

  it('opens a manifest written by the first schema and migrates it, keeping the rows: file stamps, training runs, datasets', () => {
    const { file, sqlite } = firstReleaseManifest([['a', 'd']]);
    expect(
      sqlite
        .prepare("select name from pragma_table_info('clip_sources')")
        .all()
        .map((r) => (r as { name: string }).name),
    ).not.toContain('file_stamp');
    sqlite.close();

    const store = ManifestStore.open(file);
    try {
      expect(store.appliedMigrations()).toHaveLength(JOURNAL.entries.length);
      expect(
        connectionOf(store)
          .sqlite.prepare("select name from pragma_table_info('clip_sources')")
          .all()
          .map((r) => (r as { name: string }).name),
      ).toContain('file_stamp');
      expect(store.clips.getClip('a')?.labelName).toBe('Happy');
      // every row is found under its catalogue identity: the features as they were, the dataset-wide
      // ones as the only dataset's (a run's path changes with the folder layout, so `train` remakes it)
      expect(store.artifacts.getArtifact(featureIdentity('a', 'forward', 4, 'raw'))).toMatchObject({ status: 'done', dataset: null });
      expect(
        store.artifacts.getArtifact(packedDatasetIdentity('d', { split: 'train', direction: 'forward', source: 'raw' })),
      ).toMatchObject({
        status: 'done',
        dataset: 'd',
      });
      expect(store.artifacts.getArtifact(trainingRunIdentity('d', { direction: 'forward', source: 'raw' }))).toMatchObject({
        stage: 'train',
        kind: 'training-run',
        dataset: 'd',
        status: 'done',
        path: '/runs/raw_forward/best.safetensors',
      });
      expect(store.artifacts.listArtifacts().map((row) => row.identity)).toEqual(
        store.artifacts.listArtifacts().map((row) => identityKey({ ...row, clipId: row.clipId, variant: row.variant })),
      );
    } finally {
      store.close();
    }
  });

  it('forgets the dataset-wide artifacts of a manifest holding several datasets (they mixed them), keeping per-clip ones', () => {
    const { file, sqlite } = firstReleaseManifest([
      ['a', 'ferv39k'],
      ['b', 'dfew'],
    ]);
    sqlite.close();
    const store = ManifestStore.open(file);
    try {
      expect(store.artifacts.listArtifacts().map((row) => [row.kind, row.dataset, row.status])).toEqual([['features', null, 'done']]);
      expect(store.artifacts.getArtifact(featureIdentity('a', 'forward', 4, 'raw'))?.path).toBe('/features/demo_16_4/a.npy');
    } finally {
      store.close();
    }
  });
});

const TABLES = ['artifacts', 'clip_sources', 'clips', 'ingest_issues', 'label_maps', 'runs', 'split_members'];

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function tableNames(store: ManifestStore): string[] {
  return (
    connectionOf(store)
      .sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all() as Array<{
      name: string;
    }>
  ).map((row) => row.name);
}

/** A pid that belonged to a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  if (child.pid === undefined) throw new Error('could not spawn');
  return child.pid;
}

const sadClip: ClipInput = {
  id: 'Action/Sad/0010',
  dataset: 'ferv39k',
  split: 'train_All',
  label: 1,
  labelName: 'Sad',
  frameCount: 47,
  fps: 25,
  width: 1280,
  height: 720,
  contentHash: 'hash-a',
};

describe('ManifestStore schema and migrations', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pthnet-manifest-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates every table on a fresh file, in WAL mode with foreign keys and a busy timeout', () => {
    const file = path.join(dir, 'nested', 'manifest.sqlite');
    const store = ManifestStore.open(file, { busyTimeoutMs: 12_345 });
    try {
      expect(tableNames(store)).toEqual(['__drizzle_migrations', ...TABLES]);
      expect(connectionOf(store).sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(connectionOf(store).sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(connectionOf(store).sqlite.pragma('busy_timeout', { simple: true })).toBe(12_345);
      expect(store.appliedMigrations()).toHaveLength(JOURNAL.entries.length);
    } finally {
      store.close();
    }
  });

  it('has migrations in step with schema.ts (run `pnpm db:generate` after editing it)', () => {
    const store = ManifestStore.open(':memory:');
    try {
      const tables = [
        schema.artifacts,
        schema.clipSources,
        schema.clips,
        schema.ingestIssues,
        schema.labelMaps,
        schema.runs,
        schema.splitMembers,
      ];
      for (const table of tables) {
        const config = getTableConfig(table);
        const migrated = (connectionOf(store).sqlite.pragma(`table_info(${config.name})`) as Array<{ name: string; notnull: number }>).map(
          (column) => [column.name, column.notnull === 1],
        );
        const declared = config.columns.map((column) => [column.name, column.notNull]);
        expect(migrated.sort(), config.name).toEqual(declared.sort());
        const indexes = (connectionOf(store).sqlite.pragma(`index_list(${config.name})`) as Array<{ name: string; origin: string }>)
          .filter((index) => index.origin === 'c')
          .map((index) => index.name);
        expect(indexes.sort(), config.name).toEqual(config.indexes.map((index) => index.config.name).sort());
      }
    } finally {
      store.close();
    }
  });

  it('applies nothing new when reopened', () => {
    const file = ManifestStore.defaultPath(dir);
    expect(file).toBe(path.join(dir, 'manifest.sqlite'));
    const first = ManifestStore.open(file);
    const applied = first.appliedMigrations();
    first.clips.upsertClip(sadClip);
    first.close();
    const second = ManifestStore.open(file);
    try {
      expect(second.appliedMigrations()).toEqual(applied);
      expect(second.clips.getClip(sadClip.id)?.contentHash).toBe('hash-a');
    } finally {
      second.close();
    }
  });

  it('works in memory and round-trips row types through drizzle', () => {
    const store = ManifestStore.open(':memory:');
    try {
      expect(tableNames(store)).toEqual(['__drizzle_migrations', ...TABLES]);
      const createdAt = new Date(1_700_000_000_123);
      connectionOf(store)
        .db.insert(clips)
        .values({ ...sadClip, createdAt, updatedAt: createdAt })
        .run();
      const row = connectionOf(store).db.select().from(clips).get();
      expect(row).toEqual({ ...sadClip, createdAt, updatedAt: createdAt });
      expect(row?.createdAt).toBeInstanceOf(Date);
      store.clips.upsertClipSource({
        clipId: sadClip.id,
        kind: 'face',
        path: '/data/faces/Action/Sad/0010',
        contentHash: 'faces-1',
        frameCount: 47,
        width: 224,
        height: 224,
        isFrameFolder: true,
      });
      const source = store.clips.getClipSource(sadClip.id, 'face');
      expect(source?.isFrameFolder).toBe(true);
      expect(source?.fps).toBeNull();
      connectionOf(store)
        .db.insert(artifacts)
        .values({
          identity: 'x',
          stage: 'extract',
          kind: 'features',
          cacheKey: 'k',
          path: '/x.npy',
          status: 'done',
          direction: 'reversed',
          stride: 8,
        })
        .run();
      const artifact = connectionOf(store).db.select().from(artifacts).get();
      expect(artifact).toMatchObject({ direction: 'reversed', stride: 8, variant: '', params: '{}', attempts: 0, clipId: null });
      expect(artifact?.createdAt).toBeInstanceOf(Date);
      // CHECK constraints keep enum columns honest even for raw writes.
      expect(() =>
        connectionOf(store)
          .sqlite.prepare("INSERT INTO artifacts (identity, stage, kind, cache_key, path, status) VALUES ('y','s','k','c','/y','finished')")
          .run(),
      ).toThrow(/CHECK constraint failed/);
      // Foreign keys are enforced: an artifact of an unknown clip is refused.
      expect(() =>
        connectionOf(store)
          .sqlite.prepare(
            "INSERT INTO artifacts (identity, stage, kind, cache_key, path, status, clip_id) VALUES ('z','s','k','c','/z','done','nope')",
          )
          .run(),
      ).toThrow(/FOREIGN KEY/);
    } finally {
      store.close();
    }
  });

  it('refuses to open a missing file read-only', () => {
    expect(() => ManifestStore.open(path.join(dir, 'none.sqlite'), { readonly: true })).toThrow(ManifestError);
  });
});

describe('ManifestStore clips, labels, issues and runs', () => {
  let store: ManifestStore;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pthnet-manifest-'));
    store = ManifestStore.open(path.join(dir, 'manifest.sqlite'));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function addDoneArtifact(identity: ArtifactIdentity, name: string): void {
    const filePath = path.join(dir, name);
    writeFileSync(filePath, name);
    expect(store.artifacts.claim(identity, { cacheKey: 'k', path: filePath })).not.toBeNull();
    store.artifacts.complete(identity, { path: filePath, bytes: name.length, contentHash: sha256(name) });
  }

  it('an unchanged re-upsert writes nothing; a changed content hash marks the clip artifacts stale', async () => {
    expect(store.clips.upsertClip(sadClip)).toBe('inserted');
    const before = store.clips.getClip(sadClip.id);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const changesBefore = connectionOf(store).sqlite.prepare('SELECT total_changes() AS n').get() as { n: number };
    expect(store.clips.upsertClip({ ...sadClip })).toBe('unchanged');
    const changesAfter = connectionOf(store).sqlite.prepare('SELECT total_changes() AS n').get() as { n: number };
    expect(changesAfter.n).toBe(changesBefore.n);
    expect(store.clips.getClip(sadClip.id)).toEqual(before);

    const other: ClipInput = { ...sadClip, id: 'Action/Happy/0001', label: 0, labelName: 'Happy', contentHash: 'hash-b' };
    store.clips.upsertClip(other);
    addDoneArtifact(
      { stage: 'extract', kind: 'features', clipId: sadClip.id, direction: 'forward', stride: 4, source: 'raw' },
      'sad-f4.npy',
    );
    addDoneArtifact(
      { stage: 'extract', kind: 'features', clipId: sadClip.id, direction: 'reversed', stride: 4, source: 'raw' },
      'sad-r4.npy',
    );
    addDoneArtifact(
      { stage: 'extract', kind: 'features', clipId: other.id, direction: 'forward', stride: 4, source: 'raw' },
      'happy-f4.npy',
    );

    // A metadata-only change updates the row but leaves artifacts alone.
    expect(store.clips.upsertClips([{ ...sadClip, fps: 30 }])).toEqual({ inserted: 0, updated: 1, unchanged: 0, artifactsMarkedStale: 0 });
    expect(store.clips.getClip(sadClip.id)?.updatedAt.getTime()).toBeGreaterThan(before!.updatedAt.getTime());
    expect(store.clips.upsertClips([{ ...sadClip, fps: 30, contentHash: 'hash-a2' }, other])).toEqual({
      inserted: 0,
      updated: 1,
      unchanged: 1,
      artifactsMarkedStale: 2,
    });
    const statuses = store.artifacts.listArtifacts().map((row) => [row.clipId, row.direction, row.status]);
    expect(statuses).toEqual([
      [sadClip.id, 'forward', 'stale'],
      [sadClip.id, 'reversed', 'stale'],
      [other.id, 'forward', 'done'],
    ]);
  });

  it('a changed source hash marks only the artifacts made from that source stale', () => {
    store.clips.upsertClip(sadClip);
    const raw = {
      clipId: sadClip.id,
      kind: 'raw' as const,
      path: '/raw/0010.mp4',
      contentHash: 'r1',
      frameCount: 47,
      fps: 25,
      width: 1280,
      height: 720,
      isFrameFolder: false,
    };
    const face = {
      clipId: sadClip.id,
      kind: 'face' as const,
      path: '/face/0010',
      contentHash: 'f1',
      frameCount: 47,
      width: 224,
      height: 224,
      isFrameFolder: true,
    };
    expect(store.clips.upsertClipSources([raw, face]).inserted).toBe(2);
    expect(store.clips.upsertClipSource(raw)).toBe('unchanged');
    addDoneArtifact({ stage: 'extract', kind: 'features', clipId: sadClip.id, direction: 'forward', stride: 4, source: 'raw' }, 'raw.npy');
    addDoneArtifact(
      { stage: 'extract', kind: 'features', clipId: sadClip.id, direction: 'forward', stride: 4, source: 'face' },
      'face.npy',
    );
    expect(store.clips.upsertClipSources([{ ...face, contentHash: 'f2' }]).artifactsMarkedStale).toBe(1);
    expect(store.artifacts.listArtifacts().map((row) => [row.source, row.status])).toEqual([
      ['raw', 'done'],
      ['face', 'stale'],
    ]);
    expect(store.clips.getClipSources(sadClip.id).map((row) => [row.kind, row.contentHash])).toEqual([
      ['face', 'f2'],
      ['raw', 'r1'],
    ]);
    expect(() => store.clips.upsertClipSource({ ...raw, clipId: 'no/such/clip' })).toThrow(ManifestError);
  });

  it('lists clips by dataset, split (own or by membership) and label', () => {
    store.clips.upsertClips([
      sadClip,
      { ...sadClip, id: 'Action/Happy/0001', split: 'test_All', label: 0, labelName: 'Happy' },
      { ...sadClip, id: '00001', dataset: 'dfew', split: null },
      { ...sadClip, id: '00002', dataset: 'dfew', split: null },
    ]);
    store.clips.setSplitMembers('dfew', 'set_1/train', ['00001']);
    store.clips.setSplitMembers('dfew', 'set_1/test', ['00002']);
    expect(store.clips.listClips({ dataset: 'ferv39k', split: 'train_All' }).map((clip) => clip.id)).toEqual([sadClip.id]);
    expect(store.clips.listClips({ split: 'set_1/test' }).map((clip) => clip.id)).toEqual(['00002']);
    expect(store.clips.listClips({ dataset: 'ferv39k', label: 0 }).map((clip) => clip.id)).toEqual(['Action/Happy/0001']);
    expect(store.clips.countClips()).toBe(4);
    expect(store.clips.countClips('dfew')).toBe(2);
    expect(store.clips.listDatasets()).toEqual(['dfew', 'ferv39k']);
    expect(store.clips.clipCounts()).toEqual({ total: 4, byDataset: { dfew: 2, ferv39k: 2 } });
  });

  it('keeps the raw database handles private: the facade exposes the modules only', () => {
    expect(Object.keys(store).sort()).toEqual(['artifacts', 'clips', 'path', 'runs', 'status']);
    expect('sqlite' in store || 'db' in store).toBe(false);
    for (const module of [store.clips, store.runs, store.artifacts]) {
      expect(Object.values(module).some((value) => value === connectionOf(store) || value === connectionOf(store).sqlite)).toBe(false);
    }
  });

  it('stores label maps with the data and replaces them only when they change', () => {
    const names = ['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear'];
    expect(store.clips.setLabelMap('ferv39k', names)).toBe(true);
    expect(store.clips.setLabelMap('ferv39k', names)).toBe(false);
    expect(store.clips.getLabelMap('ferv39k')).toEqual(names);
    expect(store.clips.getLabelMap('dfew')).toEqual([]);
    expect(store.clips.setLabelMap('ferv39k', [...names].sort())).toBe(true);
    expect(store.clips.getLabelMap('ferv39k')[0]).toBe('Angry');
    expect(() => store.clips.setLabelMap('x', ['A', 'A'])).toThrow('expected unique names, got A twice');
  });

  it('records ingest issues once per subject and reason, tied to the run', () => {
    const runId = store.runs.startRun('ingest', { root: '/data' });
    store.clips.recordIngestIssue({ dataset: 'ferv39k', clipId: 'Action/Sad/0011', reason: 'missing_file', path: '/raw/0011.mp4', runId });
    store.clips.recordIngestIssue({ dataset: 'ferv39k', clipId: 'Action/Sad/0011', reason: 'missing_file', detail: 'ENOENT', runId });
    store.clips.recordIngestIssue({ dataset: 'ferv39k', path: '/raw/zero.mp4', reason: 'zero_length', runId });
    store.clips.recordIngestIssue({ dataset: 'dfew', clipId: '00003', reason: 'unknown_label', detail: 'label 9', runId });
    const issues = store.clips.listIngestIssues({ dataset: 'ferv39k' });
    expect(issues.map((issue) => [issue.subject, issue.reason, issue.detail, issue.runId])).toEqual([
      ['Action/Sad/0011', 'missing_file', 'ENOENT', runId],
      ['/raw/zero.mp4', 'zero_length', null, runId],
    ]);
    expect(() => store.clips.recordIngestIssue({ dataset: 'x', reason: 'duplicate' })).toThrow('expected a clipId or a path');
    store.runs.finishRun(runId, { outcome: 'ok', counts: { clips: 10, issues: 3 } });
    const summary = store.status.summary();
    expect(summary.ingestIssues).toEqual({
      total: 3,
      byReason: { missing_file: 1, zero_length: 1, unknown_label: 1 },
      byDataset: { ferv39k: 2, dfew: 1 },
    });
    expect(store.clips.clearIngestIssues('ferv39k', 'zero_length')).toBe(1);
    expect(store.clips.listIngestIssues()).toHaveLength(2);
  });

  it('records runs, their counts and outcome, and marks runs of dead processes interrupted', () => {
    const runId = store.runs.startRun('extract', { strides: [4, 8, 16], window: 'cover' });
    expect(store.runs.getRun(runId)).toMatchObject({
      stage: 'extract',
      outcome: 'running',
      pid: process.pid,
      config: '{"strides":[4,8,16],"window":"cover"}',
    });
    store.runs.finishRun(runId, { outcome: 'failed', counts: { done: 3, failed: 1 }, error: new Error('disk full') });
    expect(store.runs.getRun(runId)).toMatchObject({ outcome: 'failed', counts: '{"done":3,"failed":1}', error: 'Error: disk full' });
    expect(store.runs.getRun(runId)?.endedAt).toBeInstanceOf(Date);
    expect(() => store.runs.finishRun('nope', { outcome: 'ok' })).toThrow(ManifestError);

    const orphan = store.runs.startRun('extract');
    connectionOf(store).sqlite.prepare('UPDATE runs SET pid = ? WHERE id = ?').run(deadPid(), orphan);
    expect(store.status.summary().lastRuns.find((run) => run.id === orphan)?.outcome).toBe('interrupted');
    store.runs.startRun('train');
    expect(store.runs.getRun(orphan)?.outcome).toBe('interrupted');
  });
});

describe('ManifestStore artifact protocol', () => {
  let dir: string;
  let store: ManifestStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pthnet-manifest-'));
    store = ManifestStore.open(path.join(dir, 'manifest.sqlite'));
    store.clips.upsertClips([sadClip, { ...sadClip, id: 'Action/Sad/0011', contentHash: 'hash-c' }]);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const params = { window: 'cover', windowLength: 16, backbone: 'vit_s' };
  const keyFor = (clipHash: string, p: Record<string, unknown> = params, codeVersion = 'extract-1') =>
    cacheKey({ stage: 'extract', kind: 'features', params: p as CacheKeyInput['params'], inputs: { clip: clipHash }, codeVersion });
  const identityFor = (clipId: string, stride: number, direction: 'forward' | 'reversed' = 'forward'): ArtifactIdentity => ({
    stage: 'extract',
    kind: 'features',
    clipId,
    direction,
    stride,
    source: 'raw',
  });
  const pathFor = (identity: ArtifactIdentity) =>
    path.join(dir, 'features', `${identity.clipId}-${identity.direction}-${identity.stride}.npy`.replaceAll('/', '_'));

  /** Claims, writes `content` and completes, as a stage would (without the atomic writer). */
  function produce(identity: ArtifactIdentity, key: string, content: string): void {
    const filePath = pathFor(identity);
    expect(store.artifacts.claim(identity, { cacheKey: key, path: filePath, params })).not.toBeNull();
    mkdirSync(path.dirname(filePath), { recursive: true });
    writeFileSync(filePath, content);
    store.artifacts.complete(identity, { path: filePath, bytes: Buffer.byteLength(content), contentHash: sha256(content) });
  }

  it('plans todo for new, changed parameters, inputs or code, deleted and corrupted files; skip when unchanged', async () => {
    const identity = identityFor(sadClip.id, 4);
    const key = keyFor('hash-a');
    const info = { cacheKey: key, path: pathFor(identity), params };
    expect(await store.artifacts.planArtifact(identity, info)).toMatchObject({ decision: 'todo', reason: 'new' });
    produce(identity, key, 'features v1 bytes');
    expect(await store.artifacts.planArtifact(identity, info)).toMatchObject({ decision: 'skip', reason: 'up-to-date' });

    // A different key from a parameter, an input hash or the code version: todo, old row stale first.
    for (const changed of [keyFor('hash-a', { ...params, window: 'inside' }), keyFor('hash-a2'), keyFor('hash-a', params, 'extract-2')]) {
      expect(changed).not.toBe(key);
      const plan = await store.artifacts.planArtifact(identity, { ...info, cacheKey: changed });
      expect(plan).toMatchObject({ decision: 'todo', reason: 'key-changed' });
      expect(plan.row?.status).toBe('stale');
      produce(identity, key, 'features v1 bytes');
    }
    expect(await store.artifacts.planArtifact(identity, info)).toMatchObject({ decision: 'skip' });

    // Corrupted: same size, different bytes.
    const original = readFileSync(info.path);
    writeFileSync(info.path, Buffer.from('features v1 BYTES'));
    expect(readFileSync(info.path).length).toBe(original.length);
    expect(await store.artifacts.planArtifact(identity, info, { verify: 'size' })).toMatchObject({ decision: 'skip' });
    const corrupted = await store.artifacts.planArtifact(identity, info);
    expect(corrupted).toMatchObject({ decision: 'todo', reason: 'hash-mismatch' });
    expect(corrupted.row?.status).toBe('stale');
    expect(await store.artifacts.planArtifact(identity, info)).toMatchObject({ decision: 'todo', reason: 'stale' });
    produce(identity, key, 'features v1 bytes');

    // Truncated: size differs.
    writeFileSync(info.path, 'features');
    expect(await store.artifacts.planArtifact(identity, info)).toMatchObject({ decision: 'todo', reason: 'size-mismatch' });
    produce(identity, key, 'features v1 bytes');

    // Deleted.
    unlinkSync(info.path);
    expect(store.status.summary().stages[0]).toMatchObject({ done: 0, missing: 1 });
    expect(await store.artifacts.planArtifact(identity, info)).toMatchObject({ decision: 'todo', reason: 'file-missing' });
    produce(identity, key, 'features v1 bytes');

    // Moved elsewhere by the config: redo at the new path.
    expect(await store.artifacts.planArtifact(identity, { ...info, path: path.join(dir, 'elsewhere.npy') })).toMatchObject({
      decision: 'todo',
      reason: 'path-changed',
    });
  });

  it('a parameter change marks exactly the affected artifacts stale', async () => {
    const clipsAndHashes: Array<[string, string]> = [
      [sadClip.id, 'hash-a'],
      ['Action/Sad/0011', 'hash-c'],
    ];
    // Stride-specific parameters: only stride 8 changes (its window rule), strides 4 and 16 do not.
    const paramsFor = (stride: number, rule8: string) => ({ ...params, window: stride === 8 ? rule8 : 'cover' });
    for (const [clipId, hash] of clipsAndHashes) {
      for (const stride of [4, 8, 16]) {
        for (const direction of ['forward', 'reversed'] as const) {
          produce(identityFor(clipId, stride, direction), keyFor(hash, paramsFor(stride, 'cover')), `${clipId} ${stride} ${direction}`);
        }
      }
    }
    // A failed one under the old key is also out of date; an unrelated stage is untouched.
    store.artifacts.claim({ stage: 'datasets', kind: 'packed-dataset', variant: 'train' } as const, {
      cacheKey: 'd1',
      path: path.join(dir, 'train.bin'),
    });
    store.artifacts.fail({ stage: 'datasets', kind: 'packed-dataset', variant: 'train' } as const, new Error('no features'));

    const expected = clipsAndHashes.flatMap(([clipId, hash]) =>
      [4, 8, 16].flatMap((stride) =>
        (['forward', 'reversed'] as const).map((direction) => ({
          identity: identityFor(clipId, stride, direction),
          cacheKey: keyFor(hash, paramsFor(stride, 'inside')),
        })),
      ),
    );
    expect(store.artifacts.markStaleByKeys(expected)).toBe(4);
    const stale = store.artifacts.listArtifacts({ status: 'stale' }).map((row) => [row.clipId, row.stride, row.direction]);
    expect(stale).toEqual([
      [sadClip.id, 8, 'forward'],
      [sadClip.id, 8, 'reversed'],
      ['Action/Sad/0011', 8, 'forward'],
      ['Action/Sad/0011', 8, 'reversed'],
    ]);
    expect(store.artifacts.listArtifacts({ stage: 'extract', status: 'done' })).toHaveLength(8);
    expect(store.artifacts.listArtifacts({ stage: 'datasets' })[0]?.status).toBe('failed');
    // Applying the same keys again changes nothing more.
    expect(store.artifacts.markStaleByKeys(expected)).toBe(0);
    for (const { identity, cacheKey: key } of expected) {
      const plan = await store.artifacts.planArtifact(identity, { cacheKey: key, path: pathFor(identity) });
      expect(plan.decision).toBe(identity.stride === 8 ? 'todo' : 'skip');
    }

    // markStaleWhere by filter: one clip's reversed stride-16 features, then a stage-wide key.
    expect(store.artifacts.markStaleWhere({ stage: 'extract', clipId: sadClip.id, direction: 'reversed', stride: 16 })).toBe(1);
    expect(store.artifacts.markStaleWhere({ stage: 'datasets', cacheKeyNot: 'd1' })).toBe(0);
    expect(store.artifacts.markStaleWhere({ stage: 'datasets', cacheKeyNot: 'd2' })).toBe(1);
    const summary = store.status.summary();
    // in pipeline order (the catalogue's), not alphabetical
    expect(summary.stages).toEqual([
      { stage: 'extract', done: 7, stale: 5, failed: 0, pending: 0, missing: 0, total: 12, bytes: expect.any(Number) },
      { stage: 'datasets', done: 0, stale: 1, failed: 0, pending: 0, missing: 0, total: 1, bytes: 0 },
    ]);
  });

  it('claims atomically: a live holder keeps its item; dead or expired claims are taken over', () => {
    const file = path.join(dir, 'manifest.sqlite');
    const other = ManifestStore.open(file);
    try {
      const identity = identityFor(sadClip.id, 4);
      const info = { cacheKey: keyFor('hash-a'), path: pathFor(identity) };
      const mine = store.artifacts.claim(identity, info, { leaseMs: 60_000 });
      expect(mine).toMatchObject({
        identity: { ...identity, variant: '' },
        path: info.path,
        cacheKey: info.cacheKey,
        token: store.artifacts.claimToken,
      });
      // Another store (this same live process) must wait for it.
      expect(other.artifacts.claim(identity, info)).toBeNull();
      expect(store.artifacts.getArtifact(identity)).toMatchObject({ status: 'pending', claimPid: process.pid, attempts: 1 });
      expect(store.artifacts.renewClaim(identity)).toBe(true);
      expect(other.artifacts.renewClaim(identity)).toBe(false);

      // The holder's process dies: taken over at once.
      connectionOf(store).sqlite.prepare('UPDATE artifacts SET claim_pid = ?').run(deadPid());
      expect(other.artifacts.claim(identity, info)).not.toBeNull();
      expect(store.artifacts.getArtifact(identity)).toMatchObject({ claimToken: other.artifacts.claimToken, attempts: 2 });
      // The old holder lost it: it cannot record a result over the new holder.
      expect(() => store.artifacts.complete(identity, { path: info.path, bytes: 1, contentHash: 'x' })).toThrow(
        /claim held by this process/,
      );
      expect(store.artifacts.fail(identity, new Error('late'))).toBe(false);

      // A live holder whose lease ran out: taken over too.
      connectionOf(store)
        .sqlite.prepare('UPDATE artifacts SET claim_expires_at = ?')
        .run(Date.now() - 1);
      expect(store.artifacts.claim(identity, info)).not.toBeNull();

      // Releasing one claim leaves the item pending and free: the other store takes it at once.
      expect(store.artifacts.release(identity)).toBe(true);
      expect(store.artifacts.getArtifact(identity)).toMatchObject({ status: 'pending', claimToken: null, claimPid: null });
      expect(store.artifacts.release(identity)).toBe(false);
      expect(other.artifacts.claim(identity, info)).not.toBeNull();
      expect(store.artifacts.claim(identity, info)).toBeNull();
      other.artifacts.release(identity);
      expect(store.artifacts.claim(identity, info)).not.toBeNull();

      // Once done under the same key, nobody is given it again.
      mkdirSync(path.dirname(info.path), { recursive: true });
      writeFileSync(info.path, 'abc');
      store.artifacts.complete(identity, { path: info.path, bytes: 3, contentHash: sha256('abc') });
      expect(other.artifacts.claim(identity, info)).toBeNull();
      expect(store.artifacts.getArtifact(identity)).toMatchObject({ status: 'done', claimToken: null, claimPid: null, bytes: 3 });
      // Invalidated, a done item is stale (with the reason) and claimable under the same key.
      expect(store.artifacts.invalidate(identity, 'a member file is gone')).toBe(true);
      expect(store.artifacts.getArtifact(identity)).toMatchObject({ status: 'stale', error: 'a member file is gone' });
      expect(store.artifacts.invalidate(identity, 'again')).toBe(false);
      expect(store.artifacts.claim(identity, info)).not.toBeNull();
      store.artifacts.complete(identity, { path: info.path, bytes: 3, contentHash: sha256('abc') });
      // A new key makes it claimable again.
      expect(other.artifacts.claim(identity, { ...info, cacheKey: 'new' })).not.toBeNull();

      // Two identities cannot share a path.
      expect(() => store.artifacts.claim(identityFor(sadClip.id, 8), info)).toThrow(/no other artifact uses/);
      // Closing gives back claims so others need not wait for the lease.
      other.close();
      expect(store.artifacts.getArtifact(identity)).toMatchObject({ status: 'pending', claimToken: null });
      expect(existsSync(info.path)).toBe(true);
    } finally {
      other.close();
    }
  });

  it('summarises status per stage with failed items and their errors', () => {
    const ok = identityFor(sadClip.id, 4);
    produce(ok, 'k', 'abcd');
    const bad = identityFor(sadClip.id, 8);
    store.artifacts.claim(bad, { cacheKey: 'k', path: pathFor(bad) });
    store.artifacts.fail(bad, new Error('cannot decode', { cause: new Error('moov atom not found') }));
    const inFlight = identityFor(sadClip.id, 16);
    store.artifacts.claim(inFlight, { cacheKey: 'k', path: pathFor(inFlight) });
    const summary = store.status.summary();
    expect(summary.stages).toEqual([{ stage: 'extract', done: 1, stale: 0, failed: 1, pending: 1, missing: 0, total: 3, bytes: 4 }]);
    expect(summary.failed).toEqual([
      expect.objectContaining({
        stage: 'extract',
        clipId: sadClip.id,
        stride: 8,
        direction: 'forward',
        path: pathFor(bad),
        error: 'Error: cannot decode <- caused by Error: moov atom not found',
        attempts: 1,
      }),
    ]);
    expect(summary.clips).toEqual({ total: 2, byDataset: { ferv39k: 2 } });
    expect(JSON.parse(JSON.stringify(summary)).failed[0].updatedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('rejects malformed identities and inputs with the key and what was expected', () => {
    expect(() => store.artifacts.claim({ stage: 'extract', kind: 'features', stride: 0 }, { cacheKey: 'k', path: '/a' })).toThrow(
      'stride: expected a positive integer or null, got 0',
    );
    expect(() =>
      store.artifacts.claim({ stage: 'extract', kind: 'features', direction: 'backward' as 'forward' }, { cacheKey: 'k', path: '/a' }),
    ).toThrow('direction: expected one of forward, reversed or null, got "backward"');
    expect(() => store.clips.upsertClip({ ...sadClip, label: -1 })).toThrow('label: expected a non-negative integer, got -1');
    expect(() => store.artifacts.complete(identityFor(sadClip.id, 4), { path: '/a', bytes: 1, contentHash: 'h' })).toThrow(ManifestError);
  });
});
