import type { SQL, Table } from 'drizzle-orm';
import { and, asc, eq, getTableColumns, inArray, or, sql } from 'drizzle-orm';
import { InputError, ManifestError } from '../errors/index.js';
import type { ManifestBackend } from './backend.js';
import { CLIP_SOURCE_KINDS } from './constants.js';
import type { ClipCatalogue } from './interfaces.js';
import type { clipSources, clips } from './schema.js';
import type {
  ClipCounts,
  ClipInput,
  ClipQuery,
  ClipRow,
  ClipSourceInput,
  ClipSourceRow,
  IngestIssueCounts,
  IngestIssueInput,
  IngestIssueRow,
  UpsertCounts,
  UpsertOutcome,
} from './types.js';
import type { ClipSourceKind } from './constants.js';

/** Rows per multi-row INSERT: well under SQLite's 32,766 bound parameters at 3 columns a row. */
const INSERT_BATCH_ROWS = 1000;

/**
 * Clips (or sources) looked up and upserted per query: 500 rows of 12 columns stay well under
 * both databases' bound-parameter limits (SQLite 32,766, PostgreSQL 65,535).
 */
const UPSERT_BATCH_ROWS = 500;

/** Marks the artifacts made from a clip (or one of its sources) stale; the artifact ledger's job. */
export type ClipArtifactsInvalidator = (clipId: string, source: ClipSourceKind | null, reason: string) => Promise<number>;

/** The clip catalogue, on either database (see backend.ts). */
export class ManifestClipCatalogue implements ClipCatalogue {
  readonly #backend: ManifestBackend;
  readonly #invalidateArtifacts: ClipArtifactsInvalidator;

  constructor(backend: ManifestBackend, invalidateArtifacts: ClipArtifactsInvalidator) {
    this.#backend = backend;
    this.#invalidateArtifacts = invalidateArtifacts;
  }

  private get db() {
    return this.#backend.db;
  }

  private get tables() {
    return this.#backend.tables;
  }

  /** A catalogue write that reads first (is the clip there? the label map the same?): run alone, see `TransactionOptions`. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#backend.transaction(fn, { exclusive: true });
  }

  async upsertClips(inputs: readonly ClipInput[]): Promise<UpsertCounts> {
    const { clips } = this.tables;
    const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0, artifactsMarkedStale: 0 };
    await this.exclusive(async () => {
      const now = new Date();
      // every clip this call has seen, as it leaves it: a clip twice in one call counts as it would one at a time
      const known = new Map<string, ClipValues>();
      for (let start = 0; start < inputs.length; start += UPSERT_BATCH_ROWS) {
        const chunk = inputs.slice(start, start + UPSERT_BATCH_ROWS).map(clipValues);
        const unseen = [...new Set(chunk.map((next) => next.id).filter((id) => !known.has(id)))];
        if (unseen.length > 0) {
          for (const row of await this.db.select().from(clips).where(inArray(clips.id, unseen))) known.set(row.id, row);
        }
        const writes = new Map<string, ClipValues>();
        const contentChanged: string[] = [];
        for (const next of chunk) {
          const existing = known.get(next.id);
          if (existing === undefined) counts.inserted++;
          else if (sameFields(existing, next)) {
            counts.unchanged++;
            continue;
          } else {
            counts.updated++;
            if (existing.contentHash !== next.contentHash) contentChanged.push(next.id);
          }
          known.set(next.id, next);
          writes.set(next.id, next);
        }
        if (writes.size > 0) {
          await this.db
            .insert(clips)
            .values([...writes.values()].map((next) => ({ ...next, createdAt: now, updatedAt: now })))
            .onConflictDoUpdate({ target: clips.id, set: excludedValues(clips, ['id', 'createdAt']) });
        }
        for (const id of contentChanged) {
          counts.artifactsMarkedStale += await this.#invalidateArtifacts(id, null, 'clip content changed');
        }
      }
    });
    return counts;
  }

  async upsertClip(input: ClipInput): Promise<UpsertOutcome> {
    return outcomeOf(await this.upsertClips([input]));
  }

  async getClip(id: string): Promise<ClipRow | undefined> {
    const { clips } = this.tables;
    const [row] = await this.db.select().from(clips).where(eq(clips.id, id)).limit(1);
    return row;
  }

  async listClips<K extends keyof ClipRow = keyof ClipRow>(
    query: ClipQuery = {},
    columns?: readonly K[],
  ): Promise<Array<Pick<ClipRow, K>>> {
    const { clips, splitMembers } = this.tables;
    const conditions: SQL[] = [];
    if (query.dataset !== undefined) conditions.push(eq(clips.dataset, query.dataset));
    if (query.label !== undefined) conditions.push(eq(clips.label, query.label));
    if (query.split !== undefined) {
      const member = this.db
        .select({ clipId: splitMembers.clipId })
        .from(splitMembers)
        .where(and(eq(splitMembers.split, query.split), query.dataset === undefined ? undefined : eq(splitMembers.dataset, query.dataset)));
      conditions.push(or(eq(clips.split, query.split), inArray(clips.id, member)) as SQL);
    }
    const all = getTableColumns(clips);
    const picked =
      columns === undefined ? all : (Object.fromEntries(columns.map((column) => [column, all[column]])) as unknown as typeof all);
    return this.db
      .select(picked)
      .from(clips)
      .where(and(...conditions))
      .orderBy(asc(clips.id));
  }

  async countClips(dataset?: string): Promise<number> {
    const { clips } = this.tables;
    const [row] = await this.db
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(clips)
      .where(dataset === undefined ? undefined : eq(clips.dataset, dataset));
    return row?.n ?? 0;
  }

  async listDatasets(): Promise<string[]> {
    const { clips } = this.tables;
    const rows = await this.db.selectDistinct({ dataset: clips.dataset }).from(clips).orderBy(asc(clips.dataset));
    return rows.map((row) => row.dataset);
  }

  async clipCounts(): Promise<ClipCounts> {
    const { clips } = this.tables;
    const groups = await this.db
      .select({ dataset: clips.dataset, n: sql<number>`count(*)`.mapWith(Number) })
      .from(clips)
      .groupBy(clips.dataset);
    const counts: ClipCounts = { total: 0, byDataset: {} };
    for (const group of groups) {
      counts.total += group.n;
      counts.byDataset[group.dataset] = group.n;
    }
    return counts;
  }

  async upsertClipSources(inputs: readonly ClipSourceInput[]): Promise<UpsertCounts> {
    const { clips, clipSources } = this.tables;
    const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0, artifactsMarkedStale: 0 };
    const keyOf = (source: { clipId: string; kind: string }) => `${source.clipId}\u0000${source.kind}`;
    await this.exclusive(async () => {
      const now = new Date();
      // every source this call has seen, as it leaves it, and the clips it found (see upsertClips)
      const known = new Map<string, ClipSourceValues>();
      const clipsFound = new Set<string>();
      for (let start = 0; start < inputs.length; start += UPSERT_BATCH_ROWS) {
        const chunk = inputs.slice(start, start + UPSERT_BATCH_ROWS).map(clipSourceValues);
        const unseen = [...new Set(chunk.filter((next) => !known.has(keyOf(next))).map((next) => next.clipId))];
        if (unseen.length > 0) {
          for (const row of await this.db.select().from(clipSources).where(inArray(clipSources.clipId, unseen))) {
            if (!known.has(keyOf(row))) known.set(keyOf(row), row);
          }
        }
        const unchecked = [
          ...new Set(chunk.filter((next) => !known.has(keyOf(next)) && !clipsFound.has(next.clipId)).map((next) => next.clipId)),
        ];
        if (unchecked.length > 0) {
          for (const row of await this.db.select({ id: clips.id }).from(clips).where(inArray(clips.id, unchecked))) clipsFound.add(row.id);
        }
        const writes = new Map<string, ClipSourceValues>();
        const contentChanged: ClipSourceValues[] = [];
        for (const next of chunk) {
          const existing = known.get(keyOf(next));
          if (existing === undefined) {
            if (!clipsFound.has(next.clipId)) {
              throw new ManifestError(
                `clip source ${next.kind} of ${next.clipId}: expected an existing clip, got none (upsert the clip first)`,
              );
            }
            counts.inserted++;
          } else if (sameFields(existing, next)) {
            counts.unchanged++;
            continue;
          } else {
            counts.updated++;
            if (existing.contentHash !== next.contentHash) contentChanged.push(next);
          }
          known.set(keyOf(next), next);
          writes.set(keyOf(next), next);
        }
        if (writes.size > 0) {
          await this.db
            .insert(clipSources)
            .values([...writes.values()].map((next) => ({ ...next, createdAt: now, updatedAt: now })))
            .onConflictDoUpdate({
              target: [clipSources.clipId, clipSources.kind],
              set: excludedValues(clipSources, ['clipId', 'kind', 'createdAt']),
            });
        }
        for (const next of contentChanged) {
          counts.artifactsMarkedStale += await this.#invalidateArtifacts(next.clipId, next.kind, `${next.kind} source content changed`);
        }
      }
    });
    return counts;
  }

  async upsertClipSource(input: ClipSourceInput): Promise<UpsertOutcome> {
    return outcomeOf(await this.upsertClipSources([input]));
  }

  async getClipSources(clipId: string): Promise<ClipSourceRow[]> {
    const { clipSources } = this.tables;
    return this.db.select().from(clipSources).where(eq(clipSources.clipId, clipId)).orderBy(asc(clipSources.kind));
  }

  async listClipSources(dataset?: string): Promise<ClipSourceRow[]> {
    const { clips, clipSources } = this.tables;
    const rows = await this.db
      .select({ source: clipSources })
      .from(clipSources)
      .innerJoin(clips, eq(clips.id, clipSources.clipId))
      .where(dataset === undefined ? undefined : eq(clips.dataset, dataset))
      .orderBy(asc(clipSources.clipId), asc(clipSources.kind));
    return rows.map((row) => row.source);
  }

  async getClipSource(clipId: string, kind: ClipSourceKind): Promise<ClipSourceRow | undefined> {
    const { clipSources } = this.tables;
    const [row] = await this.db
      .select()
      .from(clipSources)
      .where(and(eq(clipSources.clipId, clipId), eq(clipSources.kind, kind)))
      .limit(1);
    return row;
  }

  async setSplitMembers(dataset: string, split: string, clipIds: readonly string[]): Promise<void> {
    const { splitMembers } = this.tables;
    await this.exclusive(async () => {
      await this.db.delete(splitMembers).where(and(eq(splitMembers.dataset, dataset), eq(splitMembers.split, split)));
      const members = [...new Set(clipIds)].map((clipId) => ({ dataset, split, clipId }));
      for (let start = 0; start < members.length; start += INSERT_BATCH_ROWS) {
        await this.db.insert(splitMembers).values(members.slice(start, start + INSERT_BATCH_ROWS));
      }
    });
  }

  async setLabelMap(dataset: string, names: readonly string[]): Promise<boolean> {
    const { labelMaps } = this.tables;
    const seen = new Set<string>();
    names.forEach((name, index) => {
      if (typeof name !== 'string' || name === '') {
        throw new InputError(`label map of ${dataset}: index ${index}: expected a non-empty name, got ${JSON.stringify(name)}`);
      }
      if (seen.has(name)) throw new InputError(`label map of ${dataset}: expected unique names, got ${name} twice`);
      seen.add(name);
    });
    return this.exclusive(async () => {
      const current = await this.getLabelMap(dataset);
      if (current.length === names.length && current.every((name, i) => name === names[i])) return false;
      await this.db.delete(labelMaps).where(eq(labelMaps.dataset, dataset));
      if (names.length > 0) await this.db.insert(labelMaps).values(names.map((name, index) => ({ dataset, index, name })));
      return true;
    });
  }

  async getLabelMap(dataset: string): Promise<string[]> {
    const { labelMaps } = this.tables;
    const rows = await this.db.select().from(labelMaps).where(eq(labelMaps.dataset, dataset)).orderBy(asc(labelMaps.index));
    rows.forEach((row, i) => {
      if (row.index !== i) {
        throw new ManifestError(`label map of ${dataset}: expected indices 0..${rows.length - 1}, got ${row.index} at position ${i}`);
      }
    });
    return rows.map((row) => row.name);
  }

  async recordIngestIssue(input: IngestIssueInput): Promise<void> {
    const { ingestIssues } = this.tables;
    const subject = input.clipId ?? input.path;
    if (!subject) {
      throw new InputError(`ingest issue ${input.reason} in ${input.dataset}: expected a clipId or a path, got neither`);
    }
    const now = new Date();
    await this.#backend.transaction(async () => {
      await this.db
        .insert(ingestIssues)
        .values({
          dataset: input.dataset,
          subject,
          clipId: input.clipId ?? null,
          path: input.path ?? null,
          reason: input.reason,
          detail: input.detail ?? null,
          runId: input.runId ?? null,
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoUpdate({
          target: [ingestIssues.dataset, ingestIssues.subject, ingestIssues.reason],
          set: {
            clipId: input.clipId ?? null,
            path: input.path ?? null,
            detail: input.detail ?? null,
            runId: input.runId ?? null,
            updatedAt: now,
          },
        });
    });
  }

  async listIngestIssues(query: { dataset?: string; runId?: string; reason?: string } = {}): Promise<IngestIssueRow[]> {
    const { ingestIssues } = this.tables;
    return this.db
      .select()
      .from(ingestIssues)
      .where(
        and(
          query.dataset === undefined ? undefined : eq(ingestIssues.dataset, query.dataset),
          query.runId === undefined ? undefined : eq(ingestIssues.runId, query.runId),
          query.reason === undefined ? undefined : eq(ingestIssues.reason, query.reason),
        ),
      )
      .orderBy(asc(ingestIssues.id));
  }

  async clearIngestIssues(dataset: string, reason?: string): Promise<number> {
    const { ingestIssues } = this.tables;
    return this.#backend.transaction(async () => {
      const deleted = await this.db
        .delete(ingestIssues)
        .where(and(eq(ingestIssues.dataset, dataset), reason === undefined ? undefined : eq(ingestIssues.reason, reason)))
        .returning({ id: ingestIssues.id });
      return deleted.length;
    });
  }

  async ingestIssueCounts(): Promise<IngestIssueCounts> {
    const { ingestIssues } = this.tables;
    const groups = await this.db
      .select({ dataset: ingestIssues.dataset, reason: ingestIssues.reason, n: sql<number>`count(*)`.mapWith(Number) })
      .from(ingestIssues)
      .groupBy(ingestIssues.dataset, ingestIssues.reason);
    const counts: IngestIssueCounts = { total: 0, byReason: {}, byDataset: {} };
    for (const group of groups) {
      counts.total += group.n;
      counts.byReason[group.reason] = (counts.byReason[group.reason] ?? 0) + group.n;
      counts.byDataset[group.dataset] = (counts.byDataset[group.dataset] ?? 0) + group.n;
    }
    return counts;
  }
}

type ClipValues = Omit<typeof clips.$inferInsert, 'createdAt' | 'updatedAt'>;

function clipValues(input: ClipInput): Required<ClipValues> {
  const where = `clip ${JSON.stringify(input.id)}`;
  if (typeof input.id !== 'string' || input.id === '') throw new InputError(`${where}: id: expected a non-empty string`);
  if (typeof input.dataset !== 'string' || input.dataset === '') {
    throw new InputError(`${where}: dataset: expected a non-empty string, got ${JSON.stringify(input.dataset)}`);
  }
  if (!(Number.isInteger(input.label) && input.label >= 0)) {
    throw new InputError(`${where}: label: expected a non-negative integer, got ${JSON.stringify(input.label)}`);
  }
  if (!(Number.isInteger(input.frameCount) && input.frameCount >= 0)) {
    throw new InputError(`${where}: frameCount: expected a non-negative integer, got ${JSON.stringify(input.frameCount)}`);
  }
  if (typeof input.contentHash !== 'string' || input.contentHash === '') {
    throw new InputError(`${where}: contentHash: expected a non-empty string, got ${JSON.stringify(input.contentHash)}`);
  }
  return {
    id: input.id,
    dataset: input.dataset,
    split: input.split ?? null,
    label: input.label,
    labelName: input.labelName,
    frameCount: input.frameCount,
    fps: input.fps ?? null,
    width: input.width ?? null,
    height: input.height ?? null,
    contentHash: input.contentHash,
  };
}

type ClipSourceValues = Omit<typeof clipSources.$inferInsert, 'createdAt' | 'updatedAt'>;

function clipSourceValues(input: ClipSourceInput): Required<ClipSourceValues> {
  const where = `clip source ${JSON.stringify(input.kind)} of ${JSON.stringify(input.clipId)}`;
  if (!(CLIP_SOURCE_KINDS as readonly string[]).includes(input.kind)) {
    throw new InputError(`${where}: kind: expected one of ${CLIP_SOURCE_KINDS.join(', ')}`);
  }
  if (typeof input.path !== 'string' || input.path === '') throw new InputError(`${where}: path: expected a non-empty string`);
  if (typeof input.contentHash !== 'string' || input.contentHash === '') {
    throw new InputError(`${where}: contentHash: expected a non-empty string`, input.path);
  }
  if (!(Number.isInteger(input.frameCount) && input.frameCount >= 0)) {
    throw new InputError(`${where}: frameCount: expected a non-negative integer, got ${JSON.stringify(input.frameCount)}`, input.path);
  }
  return {
    clipId: input.clipId,
    kind: input.kind,
    path: input.path,
    contentHash: input.contentHash,
    frameCount: input.frameCount,
    fps: input.fps ?? null,
    width: input.width ?? null,
    height: input.height ?? null,
    isFrameFolder: input.isFrameFolder,
    fileStamp: input.fileStamp ?? null,
  };
}

/**
 * The `set` of an INSERT ... ON CONFLICT DO UPDATE that writes each column but `keep` from the
 * row that was to be inserted (`excluded`, in both dialects).
 */
function excludedValues<T extends Table>(table: T, keep: ReadonlyArray<keyof T['_']['columns']>): Record<string, SQL> {
  const set: Record<string, SQL> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    if (!keep.includes(key)) set[key] = sql.raw(`excluded."${column.name}"`);
  }
  return set;
}

function sameFields<T extends object>(existing: T, next: Partial<T>): boolean {
  return (Object.keys(next) as Array<keyof T>).every((key) => existing[key] === next[key]);
}

function outcomeOf(counts: UpsertCounts): UpsertOutcome {
  return counts.inserted ? 'inserted' : counts.updated ? 'updated' : 'unchanged';
}
