import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkArtifact } from '../atomic/produce-artifact.js';
import { cacheKey } from '../cache/cache-key.js';
import type { CacheKeyInput } from '../cache/types.js';
import { ManifestError } from '../errors/index.js';
import { getTableConfig } from 'drizzle-orm/sqlite-core';
import { getTableConfig as getPgTableConfig } from 'drizzle-orm/pg-core';
import * as pgSchema from './schema-pg.js';
import * as schema from './schema.js';
import { artifacts, clips } from './schema.js';
import type { SqliteBackend } from './sqlite-backend.js';
import { ManifestStore, backendOf } from './store.js';
import type { ArtifactIdentity, ClipInput } from './types.js';
import { featureIdentity, packedDatasetIdentity, trainingRunIdentity } from '../pipeline/catalogue.js';
import { identityKey } from './identity.js';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { sql } from 'drizzle-orm';
import type { SQL } from 'drizzle-orm';
import { postgresForTests, startPostgres } from './test-support/postgres-server.js';
import type { PostgresServer } from './test-support/postgres-server.js';

const DRIZZLE_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../drizzle');
const JOURNAL = JSON.parse(readFileSync(path.join(DRIZZLE_DIR, 'meta/_journal.json'), 'utf8')) as {
  entries: Array<{ idx: number; tag: string }>;
};

/** Every backend the store runs on; PostgreSQL where a private server can be started (see test-support). */
const postgres = postgresForTests();
const BACKENDS = postgres.available ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);
type Backend = (typeof BACKENDS)[number];
let server: PostgresServer | undefined;
beforeAll(async () => {
  if (postgres.available) server = await startPostgres(postgres);
});
afterAll(async () => server?.stop());

/** A fresh, empty manifest location of a backend: a file in `dir`, or a new database. */
async function freshLocation(backend: Backend, dir: string): Promise<string> {
  if (backend === 'sqlite') return path.join(dir, 'manifest.sqlite');
  if (server === undefined) throw new Error('no PostgreSQL server');
  return server.createDatabase();
}

/** Runs raw SQL (drizzle's `sql` renders it for either dialect). */
async function execute(store: ManifestStore, query: SQL): Promise<void> {
  await backendOf(store).rows(query);
}

/** Something that changes whenever a row of `clips` is written: SQLite's change counter, PostgreSQL's row versions. */
async function clipWrites(store: ManifestStore): Promise<string> {
  const backend = backendOf(store);
  const [row] =
    backend.dialect === 'sqlite'
      ? await backend.rows(sql`SELECT total_changes() AS n`)
      : await backend.rows(sql`SELECT string_agg(xmin::text, ',' ORDER BY id) AS n FROM clips`);
  return String(row?.['n']);
}

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

  it('opens a manifest written by the first schema and migrates it, keeping the rows: file stamps, training runs, datasets', async () => {
    const { file, sqlite } = firstReleaseManifest([['a', 'd']]);
    expect(
      sqlite
        .prepare("select name from pragma_table_info('clip_sources')")
        .all()
        .map((r) => (r as { name: string }).name),
    ).not.toContain('file_stamp');
    sqlite.close();

    const store = await ManifestStore.open(file);
    try {
      expect(await store.appliedMigrations()).toHaveLength(JOURNAL.entries.length);
      expect(
        sqliteOf(store)
          .prepare("select name from pragma_table_info('clip_sources')")
          .all()
          .map((r) => (r as { name: string }).name),
      ).toContain('file_stamp');
      expect((await store.clips.getClip('a'))?.labelName).toBe('Happy');
      // every row is found under its catalogue identity: the features as they were, the dataset-wide
      // ones as the only dataset's (a run's path changes with the folder layout, so `train` remakes it)
      expect(await store.artifacts.getArtifact(featureIdentity('a', 'forward', 4, 'raw'))).toMatchObject({ status: 'done', dataset: null });
      expect(
        await store.artifacts.getArtifact(packedDatasetIdentity('d', { split: 'train', direction: 'forward', source: 'raw' })),
      ).toMatchObject({
        status: 'done',
        dataset: 'd',
      });
      expect(await store.artifacts.getArtifact(trainingRunIdentity('d', { direction: 'forward', source: 'raw' }))).toMatchObject({
        stage: 'train',
        kind: 'training-run',
        dataset: 'd',
        status: 'done',
        path: '/runs/raw_forward/best.safetensors',
      });
      expect((await store.artifacts.listArtifacts()).map((row) => row.identity)).toEqual(
        (await store.artifacts.listArtifacts()).map((row) => identityKey({ ...row, clipId: row.clipId, variant: row.variant })),
      );
    } finally {
      await store.close();
    }
  });

  it('migrates a manifest at 0004_artifact_file_stamp forward, keeping its file stamps', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pthnet-upgrade-'));
    const upTo = JOURNAL.entries.findIndex((entry) => entry.tag === '0004_artifact_file_stamp');
    expect(upTo).toBeGreaterThan(0);
    expect(JOURNAL.entries.length).toBeGreaterThan(upTo + 1);
    const old = path.join(dir, 'drizzle');
    mkdirSync(path.join(old, 'meta'), { recursive: true });
    const entries = JOURNAL.entries.slice(0, upTo + 1);
    for (const entry of entries) {
      writeFileSync(path.join(old, `${entry.tag}.sql`), readFileSync(path.join(DRIZZLE_DIR, `${entry.tag}.sql`)));
    }
    writeFileSync(path.join(old, 'meta/_journal.json'), JSON.stringify({ ...JOURNAL, entries }));
    const file = path.join(dir, 'manifest.sqlite');
    const sqlite = new Database(file);
    migrate(drizzle(sqlite), { migrationsFolder: old });
    const columns = () =>
      sqlite
        .prepare("select name from pragma_table_info('artifacts')")
        .all()
        .map((r) => (r as { name: string }).name);
    expect(columns()).toContain('file_stamp');
    expect(columns()).not.toContain('claimed_at');
    sqlite
      .prepare(
        "insert into artifacts (identity, stage, kind, variant, cache_key, path, status, bytes, content_hash, file_stamp) values ('x', 'eval', 'report', 'r', 'k', '/r/record.json', 'done', 3, 'h', '3:1:2')",
      )
      .run();
    sqlite.close();
    const store = await ManifestStore.open(file);
    try {
      expect(await store.appliedMigrations()).toHaveLength(JOURNAL.entries.length);
      const [row] = await store.artifacts.listArtifacts();
      expect(row).toMatchObject({ identity: 'x', fileStamp: '3:1:2', claimedAt: null, status: 'done' });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forgets the dataset-wide artifacts of a manifest holding several datasets (they mixed them), keeping per-clip ones', async () => {
    const { file, sqlite } = firstReleaseManifest([
      ['a', 'ferv39k'],
      ['b', 'dfew'],
    ]);
    sqlite.close();
    const store = await ManifestStore.open(file);
    try {
      expect((await store.artifacts.listArtifacts()).map((row) => [row.kind, row.dataset, row.status])).toEqual([
        ['features', null, 'done'],
      ]);
      expect((await store.artifacts.getArtifact(featureIdentity('a', 'forward', 4, 'raw')))?.path).toBe('/features/demo_16_4/a.npy');
    } finally {
      await store.close();
    }
  });
});

const TABLES = ['artifacts', 'clip_sources', 'clips', 'ingest_issues', 'label_maps', 'runs', 'split_members'];

/** The raw better-sqlite3 connection of a SQLite manifest. */
function sqliteOf(store: ManifestStore) {
  return (backendOf(store) as SqliteBackend).sqlite;
}

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function tableNames(store: ManifestStore): string[] {
  return (
    sqliteOf(store)
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
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
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pthnet-manifest-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates every table on a fresh file, in WAL mode with foreign keys and a busy timeout', async () => {
    const file = path.join(dir, 'nested', 'manifest.sqlite');
    const store = await ManifestStore.open(file, { busyTimeoutMs: 12_345 });
    try {
      expect(tableNames(store)).toEqual(['__drizzle_migrations', ...TABLES]);
      expect(sqliteOf(store).pragma('journal_mode', { simple: true })).toBe('wal');
      expect(sqliteOf(store).pragma('foreign_keys', { simple: true })).toBe(1);
      expect(sqliteOf(store).pragma('busy_timeout', { simple: true })).toBe(12_345);
      expect(await store.appliedMigrations()).toHaveLength(JOURNAL.entries.length);
    } finally {
      await store.close();
    }
  });

  it('has migrations in step with schema.ts (run `pnpm db:generate` after editing it)', async () => {
    const store = await ManifestStore.open(':memory:');
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
        const migrated = (sqliteOf(store).pragma(`table_info(${config.name})`) as Array<{ name: string; notnull: number }>).map(
          (column) => [column.name, column.notnull === 1],
        );
        const declared = config.columns.map((column) => [column.name, column.notNull]);
        expect(migrated.sort(), config.name).toEqual(declared.sort());
        const indexes = (sqliteOf(store).pragma(`index_list(${config.name})`) as Array<{ name: string; origin: string }>)
          .filter((index) => index.origin === 'c')
          .map((index) => index.name);
        expect(indexes.sort(), config.name).toEqual(config.indexes.map((index) => index.config.name).sort());
      }
    } finally {
      await store.close();
    }
  });

  it('applies nothing new when reopened', async () => {
    const file = ManifestStore.defaultPath(dir);
    expect(file).toBe(path.join(dir, 'manifest.sqlite'));
    const first = await ManifestStore.open(file);
    const applied = await first.appliedMigrations();
    await first.clips.upsertClip(sadClip);
    await first.close();
    const second = await ManifestStore.open(file);
    try {
      expect(await second.appliedMigrations()).toEqual(applied);
      expect((await second.clips.getClip(sadClip.id))?.contentHash).toBe('hash-a');
    } finally {
      await second.close();
    }
  });

  it('works in memory and round-trips row types through drizzle', async () => {
    const store = await ManifestStore.open(':memory:');
    try {
      expect(tableNames(store)).toEqual(['__drizzle_migrations', ...TABLES]);
      const createdAt = new Date(1_700_000_000_123);
      backendOf(store)
        .db.insert(clips)
        .values({ ...sadClip, createdAt, updatedAt: createdAt })
        .run();
      const row = backendOf(store).db.select().from(clips).get();
      expect(row).toEqual({ ...sadClip, createdAt, updatedAt: createdAt });
      expect(row?.createdAt).toBeInstanceOf(Date);
      await store.clips.upsertClipSource({
        clipId: sadClip.id,
        kind: 'face',
        path: '/data/faces/Action/Sad/0010',
        contentHash: 'faces-1',
        frameCount: 47,
        width: 224,
        height: 224,
        isFrameFolder: true,
      });
      const source = await store.clips.getClipSource(sadClip.id, 'face');
      expect(source?.isFrameFolder).toBe(true);
      expect(source?.fps).toBeNull();
      backendOf(store)
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
      const artifact = backendOf(store).db.select().from(artifacts).get();
      expect(artifact).toMatchObject({ direction: 'reversed', stride: 8, variant: '', params: '{}', attempts: 0, clipId: null });
      expect(artifact?.createdAt).toBeInstanceOf(Date);
      // CHECK constraints keep enum columns honest even for raw writes.
      expect(() =>
        sqliteOf(store)
          .prepare("INSERT INTO artifacts (identity, stage, kind, cache_key, path, status) VALUES ('y','s','k','c','/y','finished')")
          .run(),
      ).toThrow(/CHECK constraint failed/);
      // Foreign keys are enforced: an artifact of an unknown clip is refused.
      expect(() =>
        sqliteOf(store)
          .prepare(
            "INSERT INTO artifacts (identity, stage, kind, cache_key, path, status, clip_id) VALUES ('z','s','k','c','/z','done','nope')",
          )
          .run(),
      ).toThrow(/FOREIGN KEY/);
    } finally {
      await store.close();
    }
  });

  it('refuses to open a missing file read-only', async () => {
    await expect(ManifestStore.open(path.join(dir, 'none.sqlite'), { readonly: true })).rejects.toThrow(ManifestError);
  });
});

describe.skipIf(!postgres.available)('ManifestStore on PostgreSQL: schema and migrations', () => {
  it('has migrations in step with schema-pg.ts (run `pnpm db:generate` after editing it), applied once by concurrent openers', async () => {
    const url = await freshLocation('postgres', tmpdir());
    // several workers starting together on a fresh database: the advisory lock makes one migrate
    const stores = await Promise.all([1, 2, 3].map(() => ManifestStore.open(url)));
    const [store] = stores;
    try {
      const pgJournal = JSON.parse(readFileSync(path.join(DRIZZLE_DIR, '../drizzle-pg/meta/_journal.json'), 'utf8')) as {
        entries: unknown[];
      };
      expect(await store!.appliedMigrations()).toHaveLength(pgJournal.entries.length);
      for (const table of Object.values(pgSchema)) {
        const config = getPgTableConfig(table);
        const migrated = await backendOf(store!).rows(
          sql`SELECT column_name AS name, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ${config.name}`,
        );
        expect(migrated.map((c) => [c['name'], c['nullable'] === 'NO']).sort(), config.name).toEqual(
          config.columns.map((c) => [c.name, c.notNull]).sort(),
        );
        const indexes = await backendOf(store!).rows(
          sql`SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' AND tablename = ${config.name} AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_pk'`,
        );
        expect(indexes.map((i) => i['name']).sort(), config.name).toEqual(config.indexes.map((index) => index.config.name).sort());
      }
      // CHECK constraints and foreign keys hold on PostgreSQL too.
      await expect(
        execute(
          store!,
          sql`INSERT INTO artifacts (identity, stage, kind, cache_key, path, status) VALUES ('y','s','k','c','/y','finished')`,
        ),
      ).rejects.toMatchObject({ cause: { code: '23514', constraint: 'artifacts_status' } });
      await expect(
        execute(
          store!,
          sql`INSERT INTO artifacts (identity, stage, kind, cache_key, path, status, clip_id) VALUES ('z','s','k','c','/z','done','nope')`,
        ),
      ).rejects.toMatchObject({ cause: { code: '23503' } });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

describe.each(BACKENDS)('ManifestStore clips, labels, issues and runs (%s)', (backend) => {
  let store: ManifestStore;
  let dir: string;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pthnet-manifest-'));
    store = await ManifestStore.open(await freshLocation(backend, dir));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function addDoneArtifact(identity: ArtifactIdentity, name: string): Promise<void> {
    const filePath = path.join(dir, name);
    writeFileSync(filePath, name);
    expect(await store.artifacts.claim(identity, { cacheKey: 'k', path: filePath })).not.toBeNull();
    await store.artifacts.complete(identity, { path: filePath, bytes: name.length, contentHash: sha256(name) });
  }

  it('an unchanged re-upsert writes nothing; a changed content hash marks the clip artifacts stale', async () => {
    expect(await store.clips.upsertClip(sadClip)).toBe('inserted');
    const before = await store.clips.getClip(sadClip.id);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const writesBefore = await clipWrites(store);
    expect(await store.clips.upsertClip({ ...sadClip })).toBe('unchanged');
    expect(await clipWrites(store)).toBe(writesBefore);
    expect(await store.clips.getClip(sadClip.id)).toEqual(before);

    const other: ClipInput = { ...sadClip, id: 'Action/Happy/0001', label: 0, labelName: 'Happy', contentHash: 'hash-b' };
    await store.clips.upsertClip(other);
    await addDoneArtifact(
      { stage: 'extract', kind: 'features', clipId: sadClip.id, direction: 'forward', stride: 4, source: 'raw' },
      'sad-f4.npy',
    );
    await addDoneArtifact(
      { stage: 'extract', kind: 'features', clipId: sadClip.id, direction: 'reversed', stride: 4, source: 'raw' },
      'sad-r4.npy',
    );
    await addDoneArtifact(
      { stage: 'extract', kind: 'features', clipId: other.id, direction: 'forward', stride: 4, source: 'raw' },
      'happy-f4.npy',
    );

    // A metadata-only change updates the row but leaves artifacts alone.
    expect(await store.clips.upsertClips([{ ...sadClip, fps: 30 }])).toEqual({
      inserted: 0,
      updated: 1,
      unchanged: 0,
      artifactsMarkedStale: 0,
    });
    expect((await store.clips.getClip(sadClip.id))?.updatedAt.getTime()).toBeGreaterThan(before!.updatedAt.getTime());
    expect(await store.clips.upsertClips([{ ...sadClip, fps: 30, contentHash: 'hash-a2' }, other])).toEqual({
      inserted: 0,
      updated: 1,
      unchanged: 1,
      artifactsMarkedStale: 2,
    });
    const statuses = (await store.artifacts.listArtifacts()).map((row) => [row.clipId, row.direction, row.status]);
    expect(statuses).toEqual([
      [sadClip.id, 'forward', 'stale'],
      [sadClip.id, 'reversed', 'stale'],
      [other.id, 'forward', 'done'],
    ]);
  });

  it('upserts many clips and sources a chunk at a time with exact counts, a clip twice in one call counted as one at a time would', async () => {
    const many = Array.from(
      { length: 1203 },
      (_, i): ClipInput => ({ ...sadClip, id: `Bulk/${String(i).padStart(4, '0')}`, contentHash: `h${i}` }),
    );
    expect(await store.clips.upsertClips(many)).toEqual({ inserted: 1203, updated: 0, unchanged: 0, artifactsMarkedStale: 0 });
    const rawOf = (clip: ClipInput) => ({
      clipId: clip.id,
      kind: 'raw' as const,
      path: `/raw/${clip.id}.mp4`,
      contentHash: `r-${clip.contentHash}`,
      frameCount: 47,
      isFrameFolder: false,
    });
    expect(await store.clips.upsertClipSources(many.map(rawOf))).toEqual({
      inserted: 1203,
      updated: 0,
      unchanged: 0,
      artifactsMarkedStale: 0,
    });
    await addDoneArtifact(featureIdentity('Bulk/0700', 'forward', 4, 'raw'), 'bulk-700.npy');
    await addDoneArtifact(featureIdentity('Bulk/0701', 'forward', 4, 'raw'), 'bulk-701.npy');
    const writesBefore = await clipWrites(store);
    expect(await store.clips.upsertClips(many)).toEqual({ inserted: 0, updated: 0, unchanged: 1203, artifactsMarkedStale: 0 });
    expect(await clipWrites(store)).toBe(writesBefore);

    // 0700 relabelled then given new content in the same call; 0701's content changed twice; a new clip, twice
    const changed = [
      ...many,
      { ...many[700], label: 3 } as ClipInput,
      { ...many[700], label: 3, contentHash: 'h700b' } as ClipInput,
      { ...many[701], contentHash: 'h701b' } as ClipInput,
      { ...many[701], contentHash: 'h701c' } as ClipInput,
      { ...sadClip, id: 'Bulk/new' },
      { ...sadClip, id: 'Bulk/new' },
    ];
    expect(await store.clips.upsertClips(changed)).toEqual({ inserted: 1, updated: 4, unchanged: 1204, artifactsMarkedStale: 2 });
    expect(await store.clips.getClip('Bulk/0700')).toMatchObject({ label: 3, contentHash: 'h700b' });
    expect((await store.clips.getClip('Bulk/0701'))?.contentHash).toBe('h701c');
    expect(await store.clips.countClips()).toBe(1204);
    expect((await store.artifacts.listArtifacts()).map((row) => [row.clipId, row.status])).toEqual([
      ['Bulk/0700', 'stale'],
      ['Bulk/0701', 'stale'],
    ]);

    const sources = [
      ...many.map(rawOf),
      { ...rawOf(many[5] as ClipInput), contentHash: 'r-new' },
      { ...rawOf(many[6] as ClipInput), path: '/moved.mp4' },
    ];
    expect(await store.clips.upsertClipSources(sources)).toEqual({ inserted: 0, updated: 2, unchanged: 1203, artifactsMarkedStale: 0 });
    expect((await store.clips.getClipSource('Bulk/0005', 'raw'))?.contentHash).toBe('r-new');
    expect((await store.clips.getClipSource('Bulk/0006', 'raw'))?.path).toBe('/moved.mp4');
    // a source of a clip that is not there: nothing of the call is written
    await expect(
      store.clips.upsertClipSources([{ ...rawOf(many[7] as ClipInput), contentHash: 'r-x' }, rawOf({ ...sadClip, id: 'Bulk/missing' })]),
    ).rejects.toThrow('clip source raw of Bulk/missing: expected an existing clip, got none');
    expect((await store.clips.getClipSource('Bulk/0007', 'raw'))?.contentHash).toBe('r-h7');
  });

  it('a changed source hash marks only the artifacts made from that source stale', async () => {
    await store.clips.upsertClip(sadClip);
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
    expect((await store.clips.upsertClipSources([raw, face])).inserted).toBe(2);
    expect(await store.clips.upsertClipSource(raw)).toBe('unchanged');
    await addDoneArtifact(
      { stage: 'extract', kind: 'features', clipId: sadClip.id, direction: 'forward', stride: 4, source: 'raw' },
      'raw.npy',
    );
    await addDoneArtifact(
      { stage: 'extract', kind: 'features', clipId: sadClip.id, direction: 'forward', stride: 4, source: 'face' },
      'face.npy',
    );
    expect((await store.clips.upsertClipSources([{ ...face, contentHash: 'f2' }])).artifactsMarkedStale).toBe(1);
    expect((await store.artifacts.listArtifacts()).map((row) => [row.source, row.status])).toEqual([
      ['raw', 'done'],
      ['face', 'stale'],
    ]);
    expect((await store.clips.getClipSources(sadClip.id)).map((row) => [row.kind, row.contentHash])).toEqual([
      ['face', 'f2'],
      ['raw', 'r1'],
    ]);
    expect((await store.clips.listClipSources(sadClip.dataset)).map((row) => [row.kind, row.contentHash])).toEqual([
      ['face', 'f2'],
      ['raw', 'r1'],
    ]);
    expect(await store.clips.listClipSources('another dataset')).toEqual([]);
    await expect(store.clips.upsertClipSource({ ...raw, clipId: 'no/such/clip' })).rejects.toThrow(ManifestError);
  });

  it('lists clips by dataset, split (own or by membership) and label', async () => {
    await store.clips.upsertClips([
      sadClip,
      { ...sadClip, id: 'Action/Happy/0001', split: 'test_All', label: 0, labelName: 'Happy' },
      { ...sadClip, id: '00001', dataset: 'dfew', split: null },
      { ...sadClip, id: '00002', dataset: 'dfew', split: null },
    ]);
    await store.clips.setSplitMembers('dfew', 'set_1/train', ['00001']);
    await store.clips.setSplitMembers('dfew', 'set_1/test', ['00002']);
    expect((await store.clips.listClips({ dataset: 'ferv39k', split: 'train_All' })).map((clip) => clip.id)).toEqual([sadClip.id]);
    expect((await store.clips.listClips({ split: 'set_1/test' })).map((clip) => clip.id)).toEqual(['00002']);
    expect((await store.clips.listClips({ dataset: 'ferv39k', label: 0 })).map((clip) => clip.id)).toEqual(['Action/Happy/0001']);
    expect(await store.clips.countClips()).toBe(4);
    expect(await store.clips.countClips('dfew')).toBe(2);
    expect(await store.clips.listDatasets()).toEqual(['dfew', 'ferv39k']);
    expect(await store.clips.clipCounts()).toEqual({ total: 4, byDataset: { dfew: 2, ferv39k: 2 } });
  });

  it('keeps the raw database handles private: the facade exposes the modules only', async () => {
    expect(Object.keys(store).sort()).toEqual(['artifacts', 'clips', 'dialect', 'path', 'runs', 'status']);
    expect('sqlite' in store || 'db' in store).toBe(false);
    for (const module of [store.clips, store.runs, store.artifacts]) {
      expect(Object.values(module).some((value) => value === backendOf(store) || value === backendOf(store).db)).toBe(false);
    }
  });

  it('stores label maps with the data and replaces them only when they change', async () => {
    const names = ['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear'];
    expect(await store.clips.setLabelMap('ferv39k', names)).toBe(true);
    expect(await store.clips.setLabelMap('ferv39k', names)).toBe(false);
    expect(await store.clips.getLabelMap('ferv39k')).toEqual(names);
    expect(await store.clips.getLabelMap('dfew')).toEqual([]);
    expect(await store.clips.setLabelMap('ferv39k', [...names].sort())).toBe(true);
    expect((await store.clips.getLabelMap('ferv39k'))[0]).toBe('Angry');
    await expect(store.clips.setLabelMap('x', ['A', 'A'])).rejects.toThrow('expected unique names, got A twice');
  });

  it('records ingest issues once per subject and reason, tied to the run', async () => {
    const runId = await store.runs.startRun('ingest', { root: '/data' });
    await store.clips.recordIngestIssue({
      dataset: 'ferv39k',
      clipId: 'Action/Sad/0011',
      reason: 'missing_file',
      path: '/raw/0011.mp4',
      runId,
    });
    await store.clips.recordIngestIssue({ dataset: 'ferv39k', clipId: 'Action/Sad/0011', reason: 'missing_file', detail: 'ENOENT', runId });
    await store.clips.recordIngestIssue({ dataset: 'ferv39k', path: '/raw/zero.mp4', reason: 'zero_length', runId });
    await store.clips.recordIngestIssue({ dataset: 'dfew', clipId: '00003', reason: 'unknown_label', detail: 'label 9', runId });
    const issues = await store.clips.listIngestIssues({ dataset: 'ferv39k' });
    expect(issues.map((issue) => [issue.subject, issue.reason, issue.detail, issue.runId])).toEqual([
      ['Action/Sad/0011', 'missing_file', 'ENOENT', runId],
      ['/raw/zero.mp4', 'zero_length', null, runId],
    ]);
    await expect(store.clips.recordIngestIssue({ dataset: 'x', reason: 'duplicate' })).rejects.toThrow('expected a clipId or a path');
    await store.runs.finishRun(runId, { outcome: 'ok', counts: { clips: 10, issues: 3 } });
    const summary = await store.status.summary();
    expect(summary.ingestIssues).toEqual({
      total: 3,
      byReason: { missing_file: 1, zero_length: 1, unknown_label: 1 },
      byDataset: { ferv39k: 2, dfew: 1 },
    });
    expect(await store.clips.clearIngestIssues('ferv39k', 'zero_length')).toBe(1);
    expect(await store.clips.listIngestIssues()).toHaveLength(2);
  });

  it('records runs, their counts and outcome, and marks runs of dead processes interrupted', async () => {
    const runId = await store.runs.startRun('extract', { strides: [4, 8, 16], window: 'cover' });
    expect(await store.runs.getRun(runId)).toMatchObject({
      stage: 'extract',
      outcome: 'running',
      pid: process.pid,
      config: '{"strides":[4,8,16],"window":"cover"}',
    });
    await store.runs.finishRun(runId, { outcome: 'failed', counts: { done: 3, failed: 1 }, error: new Error('disk full') });
    expect(await store.runs.getRun(runId)).toMatchObject({ outcome: 'failed', counts: '{"done":3,"failed":1}', error: 'Error: disk full' });
    expect((await store.runs.getRun(runId))?.endedAt).toBeInstanceOf(Date);
    await expect(store.runs.finishRun('nope', { outcome: 'ok' })).rejects.toThrow(ManifestError);

    const orphan = await store.runs.startRun('extract');
    await execute(store, sql`UPDATE runs SET pid = ${deadPid()} WHERE id = ${orphan}`);
    expect((await store.status.summary()).lastRuns.find((run) => run.id === orphan)?.outcome).toBe('interrupted');
    await store.runs.startRun('train');
    expect((await store.runs.getRun(orphan))?.outcome).toBe('interrupted');
  });
});

describe.each(BACKENDS)('ManifestStore artifact protocol (%s)', (backend) => {
  let dir: string;
  let location: string;
  let store: ManifestStore;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pthnet-manifest-'));
    location = await freshLocation(backend, dir);
    store = await ManifestStore.open(location);
    await store.clips.upsertClips([sadClip, { ...sadClip, id: 'Action/Sad/0011', contentHash: 'hash-c' }]);
  });
  afterEach(async () => {
    await store.close();
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
  async function produce(identity: ArtifactIdentity, key: string, content: string): Promise<void> {
    const filePath = pathFor(identity);
    expect(await store.artifacts.claim(identity, { cacheKey: key, path: filePath, params })).not.toBeNull();
    mkdirSync(path.dirname(filePath), { recursive: true });
    writeFileSync(filePath, content);
    await store.artifacts.complete(identity, { path: filePath, bytes: Buffer.byteLength(content), contentHash: sha256(content) });
  }

  it('plans todo for new, changed parameters, inputs or code, deleted and corrupted files; skip when unchanged', async () => {
    const identity = identityFor(sadClip.id, 4);
    const key = keyFor('hash-a');
    const info = { cacheKey: key, path: pathFor(identity), params };
    expect(await checkArtifact(store, identity, info, { verify: 'hash' })).toMatchObject({ decision: 'todo', reason: 'new' });
    await produce(identity, key, 'features v1 bytes');
    expect(await checkArtifact(store, identity, info, { verify: 'hash' })).toMatchObject({ decision: 'skip', reason: 'up-to-date' });

    // A different key from a parameter, an input hash or the code version: todo, old row stale first.
    for (const changed of [keyFor('hash-a', { ...params, window: 'inside' }), keyFor('hash-a2'), keyFor('hash-a', params, 'extract-2')]) {
      expect(changed).not.toBe(key);
      const plan = await checkArtifact(store, identity, { ...info, cacheKey: changed }, { verify: 'hash' });
      expect(plan).toMatchObject({ decision: 'todo', reason: 'key-changed' });
      expect(plan.row?.status).toBe('stale');
      await produce(identity, key, 'features v1 bytes');
    }
    expect(await checkArtifact(store, identity, info, { verify: 'hash' })).toMatchObject({ decision: 'skip' });

    // Corrupted: same size, different bytes.
    const original = readFileSync(info.path);
    writeFileSync(info.path, Buffer.from('features v1 BYTES'));
    expect(readFileSync(info.path).length).toBe(original.length);
    expect(await checkArtifact(store, identity, info, { verify: 'size' })).toMatchObject({ decision: 'skip' });
    const corrupted = await checkArtifact(store, identity, info, { verify: 'hash' });
    expect(corrupted).toMatchObject({ decision: 'todo', reason: 'hash-mismatch' });
    expect(corrupted.row?.status).toBe('stale');
    expect(await checkArtifact(store, identity, info, { verify: 'hash' })).toMatchObject({ decision: 'todo', reason: 'stale' });
    await produce(identity, key, 'features v1 bytes');

    // Truncated: size differs.
    writeFileSync(info.path, 'features');
    expect(await checkArtifact(store, identity, info, { verify: 'hash' })).toMatchObject({ decision: 'todo', reason: 'size-mismatch' });
    await produce(identity, key, 'features v1 bytes');

    // Deleted.
    unlinkSync(info.path);
    expect((await store.status.summary()).stages[0]).toMatchObject({ done: 0, missing: 1 });
    expect(await checkArtifact(store, identity, info, { verify: 'hash' })).toMatchObject({ decision: 'todo', reason: 'file-missing' });
    await produce(identity, key, 'features v1 bytes');

    // Moved elsewhere by the config: redo at the new path.
    expect(await checkArtifact(store, identity, { ...info, path: path.join(dir, 'elsewhere.npy') }, { verify: 'hash' })).toMatchObject({
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
          await produce(
            identityFor(clipId, stride, direction),
            keyFor(hash, paramsFor(stride, 'cover')),
            `${clipId} ${stride} ${direction}`,
          );
        }
      }
    }
    // A failed one under the old key is also out of date; an unrelated stage is untouched.
    await store.artifacts.claim({ stage: 'datasets', kind: 'packed-dataset', variant: 'train' } as const, {
      cacheKey: 'd1',
      path: path.join(dir, 'train.bin'),
    });
    await store.artifacts.fail({ stage: 'datasets', kind: 'packed-dataset', variant: 'train' } as const, new Error('no features'));

    const expected = clipsAndHashes.flatMap(([clipId, hash]) =>
      [4, 8, 16].flatMap((stride) =>
        (['forward', 'reversed'] as const).map((direction) => ({
          identity: identityFor(clipId, stride, direction),
          cacheKey: keyFor(hash, paramsFor(stride, 'inside')),
        })),
      ),
    );
    expect(await store.artifacts.markStaleByKeys(expected)).toBe(4);
    const stale = (await store.artifacts.listArtifacts({ status: 'stale' })).map((row) => [row.clipId, row.stride, row.direction]);
    expect(stale).toEqual([
      [sadClip.id, 8, 'forward'],
      [sadClip.id, 8, 'reversed'],
      ['Action/Sad/0011', 8, 'forward'],
      ['Action/Sad/0011', 8, 'reversed'],
    ]);
    expect(await store.artifacts.listArtifacts({ stage: 'extract', status: 'done' })).toHaveLength(8);
    expect((await store.artifacts.listArtifacts({ stage: 'datasets' }))[0]?.status).toBe('failed');
    // Applying the same keys again changes nothing more.
    expect(await store.artifacts.markStaleByKeys(expected)).toBe(0);
    for (const { identity, cacheKey: key } of expected) {
      const plan = await checkArtifact(store, identity, { cacheKey: key, path: pathFor(identity) }, { verify: 'hash' });
      expect(plan.decision).toBe(identity.stride === 8 ? 'todo' : 'skip');
    }

    // markStaleWhere by filter: one clip's reversed stride-16 features, then a stage-wide key.
    expect(await store.artifacts.markStaleWhere({ stage: 'extract', clipId: sadClip.id, direction: 'reversed', stride: 16 })).toBe(1);
    expect(await store.artifacts.markStaleWhere({ stage: 'datasets', cacheKeyNot: 'd1' })).toBe(0);
    expect(await store.artifacts.markStaleWhere({ stage: 'datasets', cacheKeyNot: 'd2' })).toBe(1);
    const summary = await store.status.summary();
    // in pipeline order (the catalogue's), not alphabetical
    expect(summary.stages).toEqual([
      { stage: 'extract', done: 7, stale: 5, failed: 0, pending: 0, missing: 0, total: 12, bytes: expect.any(Number) },
      { stage: 'datasets', done: 0, stale: 1, failed: 0, pending: 0, missing: 0, total: 1, bytes: 0 },
    ]);
  });

  it('registers existing files as done in one batch, leaving items another live worker holds; restamps and lists them', async () => {
    const other = await ManifestStore.open(location);
    try {
      const [held, stale, fresh] = [identityFor(sadClip.id, 4), identityFor(sadClip.id, 8), identityFor('Action/Sad/0011', 4)];
      const file = (identity: ArtifactIdentity, content: string) => {
        const filePath = pathFor(identity);
        mkdirSync(path.dirname(filePath), { recursive: true });
        writeFileSync(filePath, content);
        return { path: filePath, bytes: Buffer.byteLength(content), contentHash: sha256(content), fileStamp: `stamp-${content}` };
      };
      expect(await other.artifacts.claim(held, { cacheKey: 'k', path: pathFor(held) }, { leaseMs: 60_000 })).not.toBeNull();
      await produce(stale, keyFor('hash-a'), 'old bytes');
      expect(await store.artifacts.invalidate(stale, 'test')).toBe(true);
      const items = [held, stale, fresh].map((identity, i) => ({ identity, cacheKey: `key-${i}`, file: file(identity, `bytes ${i}`) }));
      const runId = await store.runs.startRun('import-features', {});
      expect(await store.artifacts.registerDone(items, { runId })).toEqual({ registered: 2, taken: 1 });
      expect(await store.artifacts.getArtifact(held)).toMatchObject({ status: 'pending', claimToken: other.artifacts.claimToken });
      expect(await store.artifacts.getArtifact(stale)).toMatchObject({
        status: 'done',
        cacheKey: 'key-1',
        fileStamp: 'stamp-bytes 1',
        attempts: 2,
        runId,
        claimToken: null,
      });
      expect(await store.artifacts.getArtifact(fresh)).toMatchObject({ status: 'done', cacheKey: 'key-2', attempts: 1, bytes: 7 });
      // again: the same rows, registered again (not duplicated)
      expect(await store.artifacts.registerDone(items.slice(1))).toEqual({ registered: 2, taken: 0 });
      expect(await store.artifacts.listArtifacts()).toHaveLength(3);
      // a path another artifact records is refused, naming it, and the batch writes nothing
      const clash = { identity: identityFor('Action/Sad/0011', 8), cacheKey: 'key-x', file: { ...file(fresh, 'bytes 2') } };
      await expect(store.artifacts.registerDone([clash])).rejects.toThrow(/expected a path no other artifact uses/);
      expect(await store.artifacts.getArtifact(clash.identity)).toBeUndefined();

      expect(await store.artifacts.setFileStamp(fresh, 'key-2', 'moved')).toBe(true);
      expect(await store.artifacts.setFileStamp(fresh, 'another key', 'x')).toBe(false);
      expect(await store.artifacts.listArtifactFiles({ status: 'done' })).toEqual([
        expect.objectContaining({ clipId: sadClip.id, stride: 8, cacheKey: 'key-1', fileStamp: 'stamp-bytes 1' }),
        expect.objectContaining({ clipId: 'Action/Sad/0011', stride: 4, direction: 'forward', source: 'raw', fileStamp: 'moved' }),
      ]);
    } finally {
      await other.close();
    }
  });

  it('claims atomically: a live holder keeps its item; dead or expired claims are taken over', async () => {
    const other = await ManifestStore.open(location);
    try {
      const identity = identityFor(sadClip.id, 4);
      const info = { cacheKey: keyFor('hash-a'), path: pathFor(identity) };
      const mine = await store.artifacts.claim(identity, info, { leaseMs: 60_000 });
      expect(mine).toMatchObject({
        identity: { ...identity, variant: '' },
        path: info.path,
        cacheKey: info.cacheKey,
        token: store.artifacts.claimToken,
      });
      // Another store (this same live process) must wait for it.
      expect(await other.artifacts.claim(identity, info)).toBeNull();
      expect(await store.artifacts.getArtifact(identity)).toMatchObject({ status: 'pending', claimPid: process.pid, attempts: 1 });
      expect(await store.artifacts.renewClaim(identity)).toBe(true);
      expect(await other.artifacts.renewClaim(identity)).toBe(false);

      // The holder's process dies: taken over at once.
      await execute(store, sql`UPDATE artifacts SET claim_pid = ${deadPid()}`);
      expect(await other.artifacts.claim(identity, info)).not.toBeNull();
      expect(await store.artifacts.getArtifact(identity)).toMatchObject({ claimToken: other.artifacts.claimToken, attempts: 2 });
      // The old holder lost it: it cannot record a result over the new holder.
      await expect(store.artifacts.complete(identity, { path: info.path, bytes: 1, contentHash: 'x' })).rejects.toThrow(
        /claim held by this process/,
      );
      expect(await store.artifacts.fail(identity, new Error('late'))).toBe(false);

      // A live holder whose lease ran out: taken over too.
      await backendOf(store)
        .db.update(backendOf(store).tables.artifacts)
        .set({ claimExpiresAt: new Date(Date.now() - 1000) });
      expect(await store.artifacts.claim(identity, info)).not.toBeNull();

      // Releasing one claim leaves the item pending and free: the other store takes it at once.
      expect(await store.artifacts.release(identity)).toBe(true);
      expect(await store.artifacts.getArtifact(identity)).toMatchObject({ status: 'pending', claimToken: null, claimPid: null });
      expect(await store.artifacts.release(identity)).toBe(false);
      expect(await other.artifacts.claim(identity, info)).not.toBeNull();
      expect(await store.artifacts.claim(identity, info)).toBeNull();
      await other.artifacts.release(identity);
      expect(await store.artifacts.claim(identity, info)).not.toBeNull();

      // Once done under the same key, nobody is given it again.
      mkdirSync(path.dirname(info.path), { recursive: true });
      writeFileSync(info.path, 'abc');
      await store.artifacts.complete(identity, { path: info.path, bytes: 3, contentHash: sha256('abc') });
      expect(await other.artifacts.claim(identity, info)).toBeNull();
      expect(await store.artifacts.getArtifact(identity)).toMatchObject({ status: 'done', claimToken: null, claimPid: null, bytes: 3 });
      // Invalidated, a done item is stale (with the reason) and claimable under the same key.
      expect(await store.artifacts.invalidate(identity, 'a member file is gone')).toBe(true);
      expect(await store.artifacts.getArtifact(identity)).toMatchObject({ status: 'stale', error: 'a member file is gone' });
      expect(await store.artifacts.invalidate(identity, 'again')).toBe(false);
      expect(await store.artifacts.claim(identity, info)).not.toBeNull();
      await store.artifacts.complete(identity, { path: info.path, bytes: 3, contentHash: sha256('abc') });
      // A new key makes it claimable again.
      expect(await other.artifacts.claim(identity, { ...info, cacheKey: 'new' })).not.toBeNull();

      // Two identities cannot share a path.
      await expect(store.artifacts.claim(identityFor(sadClip.id, 8), info)).rejects.toThrow(/no other artifact uses/);
      // Closing gives back claims so others need not wait for the lease.
      await other.close();
      expect(await store.artifacts.getArtifact(identity)).toMatchObject({ status: 'pending', claimToken: null });
      expect(existsSync(info.path)).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('shows live workers and expired leases in status, then none once the item is redone', async () => {
    const other = await ManifestStore.open(location);
    try {
      const identity = identityFor(sadClip.id, 8);
      const info = { cacheKey: keyFor('hash-a'), path: pathFor(identity) };
      expect(await store.artifacts.claim(identity, info, { leaseMs: 60_000 })).not.toBeNull();
      const live = await store.status.summary({ checkFiles: false });
      expect(live.workers).toEqual([
        {
          stage: 'extract',
          item: `extract/features ${sadClip.id} forward s8 raw`,
          host: hostname(),
          pid: process.pid,
          claimedAt: expect.any(Date),
          expiresAt: expect.any(Date),
          ageMs: expect.any(Number),
          expired: false,
        },
      ]);
      expect(live.workers[0]!.ageMs).toBeGreaterThanOrEqual(0);
      expect(live.workers[0]!.ageMs).toBeLessThan(60_000);
      expect(live.expiredLeases).toEqual([]);

      // the worker stops renewing (killed on another machine, or cut off): its lease runs out
      await backendOf(store)
        .db.update(backendOf(store).tables.artifacts)
        .set({ claimExpiresAt: new Date(Date.now() - 1000) });
      const stalled = await other.status.summary({ checkFiles: false });
      expect(stalled.workers).toEqual([]);
      expect(stalled.expiredLeases).toMatchObject([
        { item: `extract/features ${sadClip.id} forward s8 raw`, pid: process.pid, expired: true },
      ]);

      // another worker takes the item over and finishes it; the first one's late result is refused
      expect(await other.artifacts.claim(identity, info)).not.toBeNull();
      expect((await other.status.summary({ checkFiles: false })).workers).toHaveLength(1);
      mkdirSync(path.dirname(info.path), { recursive: true });
      writeFileSync(info.path, 'done');
      await other.artifacts.complete(identity, { path: info.path, bytes: 4, contentHash: sha256('done') });
      await expect(store.artifacts.complete(identity, { path: info.path, bytes: 4, contentHash: sha256('done') })).rejects.toThrow(
        /claim held by this process/,
      );
      const after = await store.status.summary({ checkFiles: false });
      expect([after.workers, after.expiredLeases]).toEqual([[], []]);
    } finally {
      await other.close();
    }
  });

  it('summarises status per stage with failed items and their errors', async () => {
    const ok = identityFor(sadClip.id, 4);
    await produce(ok, 'k', 'abcd');
    const bad = identityFor(sadClip.id, 8);
    await store.artifacts.claim(bad, { cacheKey: 'k', path: pathFor(bad) });
    await store.artifacts.fail(bad, new Error('cannot decode', { cause: new Error('moov atom not found') }));
    const inFlight = identityFor(sadClip.id, 16);
    await store.artifacts.claim(inFlight, { cacheKey: 'k', path: pathFor(inFlight) });
    const summary = await store.status.summary();
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

  it('rejects malformed identities and inputs with the key and what was expected', async () => {
    await expect(store.artifacts.claim({ stage: 'extract', kind: 'features', stride: 0 }, { cacheKey: 'k', path: '/a' })).rejects.toThrow(
      'stride: expected a positive integer or null, got 0',
    );
    await expect(
      store.artifacts.claim({ stage: 'extract', kind: 'features', direction: 'backward' as 'forward' }, { cacheKey: 'k', path: '/a' }),
    ).rejects.toThrow('direction: expected one of forward, reversed or null, got "backward"');
    await expect(store.clips.upsertClip({ ...sadClip, label: -1 })).rejects.toThrow('label: expected a non-negative integer, got -1');
    await expect(store.artifacts.complete(identityFor(sadClip.id, 4), { path: '/a', bytes: 1, contentHash: 'h' })).rejects.toThrow(
      ManifestError,
    );
  });
});
