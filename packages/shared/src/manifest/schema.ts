/**
 * The manifest schema (SQLite), source of truth for the generated migrations in packages/shared/drizzle/
 * (`pnpm db:generate` after any change here). `schema-pg.ts` is its PostgreSQL twin, column for
 * column (a test holds them together); `pnpm db:generate` writes the migrations of both. Timestamps are Unix epoch milliseconds, read back
 * as `Date`. JSON columns hold text written by `canonicalJson`.
 *
 * Kept free of imports other than drizzle (and erased type imports) so that drizzle-kit can load it on its own.
 */
import { sql } from 'drizzle-orm';
import type { ArtifactKind, PipelineStage } from '../pipeline/catalogue.js';
import { check, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

const createdAt = () =>
  integer('created_at', { mode: 'timestamp_ms' }).notNull().default(sql`(cast(unixepoch('subsec') * 1000 as integer))`);
const updatedAt = () =>
  integer('updated_at', { mode: 'timestamp_ms' }).notNull().default(sql`(cast(unixepoch('subsec') * 1000 as integer))`);

/** One row per clip of a dataset. `id` is the clip's stable id, e.g. `Action/Sad/0010` or `00001`. */
export const clips = sqliteTable(
  'clips',
  {
    id: text('id').primaryKey(),
    dataset: text('dataset').notNull(),
    /**
     * The clip's split where a dataset has one split per clip (FERV39k `train_All`/`test_All`);
     * null where membership depends on a fold (DFEW), which `split_members` records.
     */
    split: text('split'),
    label: integer('label').notNull(),
    labelName: text('label_name').notNull(),
    frameCount: integer('frame_count').notNull(),
    fps: real('fps'),
    width: integer('width'),
    height: integer('height'),
    contentHash: text('content_hash').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('clips_dataset_split').on(t.dataset, t.split)],
);

/** The media a clip can be read from: the raw video and/or the face crops. */
export const clipSources = sqliteTable(
  'clip_sources',
  {
    clipId: text('clip_id')
      .notNull()
      .references(() => clips.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['raw', 'face'] }).notNull(),
    path: text('path').notNull(),
    contentHash: text('content_hash').notNull(),
    frameCount: integer('frame_count').notNull(),
    fps: real('fps'),
    width: integer('width'),
    height: integer('height'),
    isFrameFolder: integer('is_frame_folder', { mode: 'boolean' }).notNull(),
    /** Size and modification time of the file (or of a frame folder's files) when it was hashed: an unchanged stamp lets ingest skip re-hashing. */
    fileStamp: text('file_stamp'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.clipId, t.kind] }), check('clip_sources_kind', sql`${t.kind} in ('raw', 'face')`)],
);

/** Split membership by name, for datasets whose folds put one clip in several splits (DFEW `set_1/train`). */
export const splitMembers = sqliteTable(
  'split_members',
  {
    dataset: text('dataset').notNull(),
    split: text('split').notNull(),
    clipId: text('clip_id')
      .notNull()
      .references(() => clips.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.dataset, t.split, t.clipId] }), index('split_members_clip').on(t.clipId)],
);

/** The label index -> name mapping of a dataset, stored with the data it labels. */
export const labelMaps = sqliteTable(
  'label_maps',
  {
    dataset: text('dataset').notNull(),
    index: integer('index').notNull(),
    name: text('name').notNull(),
  },
  (t) => [primaryKey({ columns: [t.dataset, t.index] }), uniqueIndex('label_maps_dataset_name').on(t.dataset, t.name)],
);

/** What a run is and how it ended. */
export const runs = sqliteTable(
  'runs',
  {
    id: text('id').primaryKey(),
    stage: text('stage').$type<PipelineStage>().notNull(),
    config: text('config').notNull().default('{}'),
    pid: integer('pid').notNull(),
    host: text('host').notNull(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
    endedAt: integer('ended_at', { mode: 'timestamp_ms' }),
    counts: text('counts'),
    outcome: text('outcome', { enum: ['running', 'ok', 'failed', 'interrupted'] }).notNull(),
    error: text('error'),
  },
  (t) => [
    index('runs_stage_started').on(t.stage, t.startedAt),
    check('runs_outcome', sql`${t.outcome} in ('running', 'ok', 'failed', 'interrupted')`),
  ],
);

/**
 * Bad input that ingest recorded instead of stopping. `subject` is the clip id where there is
 * one, else the path; one row per (dataset, subject, reason), so reruns update rather than pile up.
 */
export const ingestIssues = sqliteTable(
  'ingest_issues',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    dataset: text('dataset').notNull(),
    subject: text('subject').notNull(),
    clipId: text('clip_id'),
    path: text('path'),
    reason: text('reason').notNull(),
    detail: text('detail'),
    runId: text('run_id').references(() => runs.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('ingest_issues_subject').on(t.dataset, t.subject, t.reason)],
);

/**
 * Every file the pipeline produces. `identity` is the canonical text of (stage, kind, clip_id,
 * direction, stride, source, variant, dataset): SQLite unique indexes treat NULLs as distinct, so the
 * nullable identity columns cannot carry the uniqueness themselves.
 */
export const artifacts = sqliteTable(
  'artifacts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    identity: text('identity').notNull(),
    stage: text('stage').$type<PipelineStage>().notNull(),
    kind: text('kind').$type<ArtifactKind>().notNull(),
    clipId: text('clip_id').references(() => clips.id, { onDelete: 'cascade' }),
    direction: text('direction', { enum: ['forward', 'reversed'] }),
    stride: integer('stride'),
    source: text('source', { enum: ['raw', 'face'] }),
    variant: text('variant').notNull().default(''),
    /** The dataset of an artifact made from a whole dataset (packed datasets, runs, reports); null for per-clip ones. */
    dataset: text('dataset'),
    params: text('params').notNull().default('{}'),
    cacheKey: text('cache_key').notNull(),
    path: text('path').notNull(),
    bytes: integer('bytes'),
    contentHash: text('content_hash'),
    /**
     * The recorded file's stamp (size, mtime, inode) when its content was last hashed; for a folder
     * artifact, the stamps of its record and of every file it lists. An unchanged stamp lets a rerun
     * skip the artifact without reading it; null (rows from before stamps) means hash once.
     */
    fileStamp: text('file_stamp'),
    status: text('status', { enum: ['pending', 'done', 'failed', 'stale'] }).notNull(),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    runId: text('run_id').references(() => runs.id, { onDelete: 'set null' }),
    claimPid: integer('claim_pid'),
    claimHost: text('claim_host'),
    claimToken: text('claim_token'),
    claimExpiresAt: integer('claim_expires_at', { mode: 'timestamp_ms' }),
    /** When the current holder took the claim: `status` shows a worker's lease age from it. */
    claimedAt: integer('claimed_at', { mode: 'timestamp_ms' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    completedAt: integer('completed_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    uniqueIndex('artifacts_identity').on(t.identity),
    uniqueIndex('artifacts_path').on(t.path),
    index('artifacts_stage_status').on(t.stage, t.status),
    index('artifacts_clip').on(t.clipId),
    // a level's features (import-features reads 6 of them, 39k rows each, at FERV39k size) without a table scan
    index('artifacts_kind_level').on(t.kind, t.direction, t.source, t.stride),
    check('artifacts_status', sql`${t.status} in ('pending', 'done', 'failed', 'stale')`),
    check('artifacts_direction', sql`${t.direction} is null or ${t.direction} in ('forward', 'reversed')`),
    check('artifacts_source', sql`${t.source} is null or ${t.source} in ('raw', 'face')`),
  ],
);
