import type { SQL } from 'drizzle-orm';
import { and, asc, eq, inArray, or, sql } from 'drizzle-orm';
import { InputError, ManifestError } from '../errors/index.js';
import type { ManifestConnection } from './connection.js';
import { CLIP_SOURCE_KINDS } from './constants.js';
import type { ClipCatalogue } from './interfaces.js';
import { clipSources, clips, ingestIssues, labelMaps, splitMembers } from './schema.js';
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

/** Marks the artifacts made from a clip (or one of its sources) stale; the artifact ledger's job. */
export type ClipArtifactsInvalidator = (clipId: string, source: ClipSourceKind | null, reason: string) => number;

/** The clip catalogue over the manifest's SQLite connection. */
export class SqliteClipCatalogue implements ClipCatalogue {
  readonly #connection: ManifestConnection;
  readonly #invalidateArtifacts: ClipArtifactsInvalidator;

  constructor(connection: ManifestConnection, invalidateArtifacts: ClipArtifactsInvalidator) {
    this.#connection = connection;
    this.#invalidateArtifacts = invalidateArtifacts;
  }

  private get db() {
    return this.#connection.db;
  }

  upsertClips(inputs: readonly ClipInput[]): UpsertCounts {
    const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0, artifactsMarkedStale: 0 };
    this.#connection.writeTransaction(() => {
      const now = new Date();
      for (const input of inputs) {
        const next = clipValues(input);
        const existing = this.db.select().from(clips).where(eq(clips.id, next.id)).get();
        if (!existing) {
          this.db
            .insert(clips)
            .values({ ...next, createdAt: now, updatedAt: now })
            .run();
          counts.inserted++;
          continue;
        }
        if (sameFields(existing, next)) {
          counts.unchanged++;
          continue;
        }
        this.db
          .update(clips)
          .set({ ...next, updatedAt: now })
          .where(eq(clips.id, next.id))
          .run();
        counts.updated++;
        if (existing.contentHash !== next.contentHash) {
          counts.artifactsMarkedStale += this.#invalidateArtifacts(next.id, null, 'clip content changed');
        }
      }
    });
    return counts;
  }

  upsertClip(input: ClipInput): UpsertOutcome {
    return outcomeOf(this.upsertClips([input]));
  }

  getClip(id: string): ClipRow | undefined {
    return this.db.select().from(clips).where(eq(clips.id, id)).get();
  }

  listClips(query: ClipQuery = {}): ClipRow[] {
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
    return this.db
      .select()
      .from(clips)
      .where(and(...conditions))
      .orderBy(asc(clips.id))
      .all();
  }

  countClips(dataset?: string): number {
    const row = this.db
      .select({ n: sql<number>`count(*)` })
      .from(clips)
      .where(dataset === undefined ? undefined : eq(clips.dataset, dataset))
      .get();
    return row?.n ?? 0;
  }

  listDatasets(): string[] {
    return this.db
      .selectDistinct({ dataset: clips.dataset })
      .from(clips)
      .orderBy(asc(clips.dataset))
      .all()
      .map((row) => row.dataset);
  }

  clipCounts(): ClipCounts {
    const groups = this.db.select({ dataset: clips.dataset, n: sql<number>`count(*)` }).from(clips).groupBy(clips.dataset).all();
    const counts: ClipCounts = { total: 0, byDataset: {} };
    for (const group of groups) {
      counts.total += group.n;
      counts.byDataset[group.dataset] = group.n;
    }
    return counts;
  }

  upsertClipSources(inputs: readonly ClipSourceInput[]): UpsertCounts {
    const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0, artifactsMarkedStale: 0 };
    this.#connection.writeTransaction(() => {
      const now = new Date();
      for (const input of inputs) {
        const next = clipSourceValues(input);
        const where = and(eq(clipSources.clipId, next.clipId), eq(clipSources.kind, next.kind));
        const existing = this.db.select().from(clipSources).where(where).get();
        if (!existing) {
          if (!this.getClip(next.clipId)) {
            throw new ManifestError(
              `clip source ${next.kind} of ${next.clipId}: expected an existing clip, got none (upsert the clip first)`,
            );
          }
          this.db
            .insert(clipSources)
            .values({ ...next, createdAt: now, updatedAt: now })
            .run();
          counts.inserted++;
          continue;
        }
        if (sameFields(existing, next)) {
          counts.unchanged++;
          continue;
        }
        this.db
          .update(clipSources)
          .set({ ...next, updatedAt: now })
          .where(where)
          .run();
        counts.updated++;
        if (existing.contentHash !== next.contentHash) {
          counts.artifactsMarkedStale += this.#invalidateArtifacts(next.clipId, next.kind, `${next.kind} source content changed`);
        }
      }
    });
    return counts;
  }

  upsertClipSource(input: ClipSourceInput): UpsertOutcome {
    return outcomeOf(this.upsertClipSources([input]));
  }

  getClipSources(clipId: string): ClipSourceRow[] {
    return this.db.select().from(clipSources).where(eq(clipSources.clipId, clipId)).orderBy(asc(clipSources.kind)).all();
  }

  listClipSources(dataset?: string): ClipSourceRow[] {
    const rows = this.db
      .select({ source: clipSources })
      .from(clipSources)
      .innerJoin(clips, eq(clips.id, clipSources.clipId))
      .where(dataset === undefined ? undefined : eq(clips.dataset, dataset))
      .orderBy(asc(clipSources.clipId), asc(clipSources.kind))
      .all();
    return rows.map((row) => row.source);
  }

  getClipSource(clipId: string, kind: ClipSourceKind): ClipSourceRow | undefined {
    return this.db
      .select()
      .from(clipSources)
      .where(and(eq(clipSources.clipId, clipId), eq(clipSources.kind, kind)))
      .get();
  }

  setSplitMembers(dataset: string, split: string, clipIds: readonly string[]): void {
    this.#connection.writeTransaction(() => {
      this.db
        .delete(splitMembers)
        .where(and(eq(splitMembers.dataset, dataset), eq(splitMembers.split, split)))
        .run();
      for (const clipId of new Set(clipIds)) {
        this.db.insert(splitMembers).values({ dataset, split, clipId }).run();
      }
    });
  }

  setLabelMap(dataset: string, names: readonly string[]): boolean {
    const seen = new Set<string>();
    names.forEach((name, index) => {
      if (typeof name !== 'string' || name === '') {
        throw new InputError(`label map of ${dataset}: index ${index}: expected a non-empty name, got ${JSON.stringify(name)}`);
      }
      if (seen.has(name)) throw new InputError(`label map of ${dataset}: expected unique names, got ${name} twice`);
      seen.add(name);
    });
    return this.#connection.writeTransaction(() => {
      const current = this.getLabelMap(dataset);
      if (current.length === names.length && current.every((name, i) => name === names[i])) return false;
      this.db.delete(labelMaps).where(eq(labelMaps.dataset, dataset)).run();
      names.forEach((name, index) => {
        this.db.insert(labelMaps).values({ dataset, index, name }).run();
      });
      return true;
    });
  }

  getLabelMap(dataset: string): string[] {
    const rows = this.db.select().from(labelMaps).where(eq(labelMaps.dataset, dataset)).orderBy(asc(labelMaps.index)).all();
    rows.forEach((row, i) => {
      if (row.index !== i) {
        throw new ManifestError(`label map of ${dataset}: expected indices 0..${rows.length - 1}, got ${row.index} at position ${i}`);
      }
    });
    return rows.map((row) => row.name);
  }

  recordIngestIssue(input: IngestIssueInput): void {
    const subject = input.clipId ?? input.path;
    if (!subject) {
      throw new InputError(`ingest issue ${input.reason} in ${input.dataset}: expected a clipId or a path, got neither`);
    }
    const now = new Date();
    this.db
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
      })
      .run();
  }

  listIngestIssues(query: { dataset?: string; runId?: string; reason?: string } = {}): IngestIssueRow[] {
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
      .orderBy(asc(ingestIssues.id))
      .all();
  }

  clearIngestIssues(dataset: string, reason?: string): number {
    return this.db
      .delete(ingestIssues)
      .where(and(eq(ingestIssues.dataset, dataset), reason === undefined ? undefined : eq(ingestIssues.reason, reason)))
      .run().changes;
  }

  ingestIssueCounts(): IngestIssueCounts {
    const groups = this.db
      .select({ dataset: ingestIssues.dataset, reason: ingestIssues.reason, n: sql<number>`count(*)` })
      .from(ingestIssues)
      .groupBy(ingestIssues.dataset, ingestIssues.reason)
      .all();
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

function sameFields<T extends object>(existing: T, next: Partial<T>): boolean {
  return (Object.keys(next) as Array<keyof T>).every((key) => existing[key] === next[key]);
}

function outcomeOf(counts: UpsertCounts): UpsertOutcome {
  return counts.inserted ? 'inserted' : counts.updated ? 'updated' : 'unchanged';
}
