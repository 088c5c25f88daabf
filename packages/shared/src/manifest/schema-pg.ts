/**
 * The manifest schema on PostgreSQL: the twin of `schema.ts`, table for table and column for
 * column with the same names, nullability, keys and indexes (`schema.test.ts` compares them), so
 * that the manifest's modules run one set of queries on either database. Source of the
 * migrations in packages/shared/drizzle-pg/ (`pnpm db:generate` writes both dialects').
 *
 * Where the types differ: timestamps are `timestamptz` (millisecond precision, read back as
 * `Date`), SQLite's 64-bit `integer` byte counts are `bigint`, its `real` is `double precision`,
 * its 0/1 booleans are `boolean`, and autoincrement ids are `serial`.
 *
 * Kept free of imports other than drizzle (and erased type imports) so that drizzle-kit can load it on its own.
 */
import { sql } from 'drizzle-orm';
import type { ArtifactKind, PipelineStage } from '../pipeline/catalogue.js';
import {
  bigint,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const stamp = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });
const createdAt = () => stamp('created_at').notNull().defaultNow();
const updatedAt = () => stamp('updated_at').notNull().defaultNow();

export const clips = pgTable(
  'clips',
  {
    id: text('id').primaryKey(),
    dataset: text('dataset').notNull(),
    split: text('split'),
    label: integer('label').notNull(),
    labelName: text('label_name').notNull(),
    frameCount: integer('frame_count').notNull(),
    fps: doublePrecision('fps'),
    width: integer('width'),
    height: integer('height'),
    contentHash: text('content_hash').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('clips_dataset_split').on(t.dataset, t.split)],
);

export const clipSources = pgTable(
  'clip_sources',
  {
    clipId: text('clip_id')
      .notNull()
      .references(() => clips.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['raw', 'face'] }).notNull(),
    path: text('path').notNull(),
    contentHash: text('content_hash').notNull(),
    frameCount: integer('frame_count').notNull(),
    fps: doublePrecision('fps'),
    width: integer('width'),
    height: integer('height'),
    isFrameFolder: boolean('is_frame_folder').notNull(),
    fileStamp: text('file_stamp'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.clipId, t.kind] }), check('clip_sources_kind', sql`${t.kind} in ('raw', 'face')`)],
);

export const splitMembers = pgTable(
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

export const labelMaps = pgTable(
  'label_maps',
  {
    dataset: text('dataset').notNull(),
    index: integer('index').notNull(),
    name: text('name').notNull(),
  },
  (t) => [primaryKey({ columns: [t.dataset, t.index] }), uniqueIndex('label_maps_dataset_name').on(t.dataset, t.name)],
);

export const runs = pgTable(
  'runs',
  {
    id: text('id').primaryKey(),
    stage: text('stage').$type<PipelineStage>().notNull(),
    config: text('config').notNull().default('{}'),
    pid: integer('pid').notNull(),
    host: text('host').notNull(),
    startedAt: stamp('started_at').notNull(),
    endedAt: stamp('ended_at'),
    counts: text('counts'),
    outcome: text('outcome', { enum: ['running', 'ok', 'failed', 'interrupted'] }).notNull(),
    error: text('error'),
  },
  (t) => [
    index('runs_stage_started').on(t.stage, t.startedAt),
    check('runs_outcome', sql`${t.outcome} in ('running', 'ok', 'failed', 'interrupted')`),
  ],
);

export const ingestIssues = pgTable(
  'ingest_issues',
  {
    id: serial('id').primaryKey(),
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

export const artifacts = pgTable(
  'artifacts',
  {
    id: serial('id').primaryKey(),
    identity: text('identity').notNull(),
    stage: text('stage').$type<PipelineStage>().notNull(),
    kind: text('kind').$type<ArtifactKind>().notNull(),
    clipId: text('clip_id').references(() => clips.id, { onDelete: 'cascade' }),
    direction: text('direction', { enum: ['forward', 'reversed'] }),
    stride: integer('stride'),
    source: text('source', { enum: ['raw', 'face'] }),
    variant: text('variant').notNull().default(''),
    dataset: text('dataset'),
    params: text('params').notNull().default('{}'),
    cacheKey: text('cache_key').notNull(),
    path: text('path').notNull(),
    bytes: bigint('bytes', { mode: 'number' }),
    contentHash: text('content_hash'),
    fileStamp: text('file_stamp'),
    status: text('status', { enum: ['pending', 'done', 'failed', 'stale'] }).notNull(),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    runId: text('run_id').references(() => runs.id, { onDelete: 'set null' }),
    claimPid: integer('claim_pid'),
    claimHost: text('claim_host'),
    claimToken: text('claim_token'),
    claimExpiresAt: stamp('claim_expires_at'),
    claimedAt: stamp('claimed_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    completedAt: stamp('completed_at'),
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
