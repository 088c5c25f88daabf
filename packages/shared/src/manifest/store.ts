import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { SQL } from 'drizzle-orm';
import { and, asc, desc, eq, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { isProcessAlive } from '../atomic/liveness.js';
import { canonicalJson } from '../cache/cache-key.js';
import { hashFileWithSize } from '../cache/hash.js';
import { InputError, ManifestError } from '../errors/index.js';
import { CLIP_SOURCE_KINDS, DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_CLAIM_LEASE_MS, MANIFEST_FILE_NAME, MIGRATION_ATTEMPTS } from './constants.js';
import { formatError } from './format-error.js';
import { describeIdentity, identityKey, normalizeIdentity } from './identity.js';
import * as schema from './schema.js';
import { artifacts, clipSources, clips, ingestIssues, labelMaps, runs, splitMembers } from './schema.js';
import type {
  ArtifactClaim,
  ArtifactFilter,
  ArtifactIdentity,
  ArtifactPlan,
  ArtifactPlanInfo,
  ArtifactStatus,
  ClaimOptions,
  ClipInput,
  ClipQuery,
  ClipSourceInput,
  CompletedFile,
  FailedArtifact,
  FinishRunInput,
  IngestIssueInput,
  ManifestOpenOptions,
  PlanOptions,
  StageStatus,
  StatusOptions,
  StatusSummary,
  UpsertCounts,
  UpsertOutcome,
} from './types.js';
import type { ArtifactRow, ClipRow, ClipSourceRow, IngestIssueRow, RunRow } from './schema.js';

/** Migrations live beside the package, found from this file so the cwd does not matter. */
const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Statuses an input change or a key change turns into `stale`: pending rows are todo already. */
const INVALIDATABLE: readonly ArtifactStatus[] = ['done', 'failed'];

export type ManifestDatabase = BetterSQLite3Database<typeof schema>;

/**
 * The manifest: a SQLite database that records every clip and every artifact of the pipeline,
 * so that reruns only redo what changed and concurrent processes never do the same item twice.
 *
 * Stage protocol, per item: `planArtifact` (skip or todo) → `claim` → write the file atomically
 * → `complete` (or `fail`). `produceArtifact` in ../atomic does the middle three in a
 * crash-safe order.
 */
export class ManifestStore {
  /** drizzle over the connection, for queries this class does not cover. */
  readonly db: ManifestDatabase;
  /** The raw better-sqlite3 connection. */
  readonly sqlite: Database.Database;
  readonly path: string;
  readonly claimLeaseMs: number;
  /** Identifies this store's claims; one per open store, so two stores in one process compete too. */
  readonly claimToken: string;
  private readonly host: string;

  private constructor(sqlite: Database.Database, filePath: string, claimLeaseMs: number) {
    this.sqlite = sqlite;
    this.db = drizzle(sqlite, { schema });
    this.path = filePath;
    this.claimLeaseMs = claimLeaseMs;
    this.claimToken = randomBytes(8).toString('hex');
    this.host = hostname();
  }

  /** `<dataDir>/manifest.sqlite`. */
  static defaultPath(dataDir: string): string {
    return path.join(dataDir, MANIFEST_FILE_NAME);
  }

  /**
   * Opens (creating if needed) a manifest file, or an in-memory one for `':memory:'`, and
   * applies pending migrations. WAL mode lets readers work beside one writer; the busy timeout
   * makes concurrent writers wait for each other instead of failing.
   */
  static open(filePath: string, options: ManifestOpenOptions = {}): ManifestStore {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    const claimLeaseMs = options.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS;
    const readonly = options.readonly ?? false;
    if (!(Number.isFinite(busyTimeoutMs) && busyTimeoutMs >= 0)) {
      throw new ManifestError(`busyTimeoutMs: expected a non-negative number, got ${busyTimeoutMs}`);
    }
    if (!(Number.isFinite(claimLeaseMs) && claimLeaseMs > 0)) {
      throw new ManifestError(`claimLeaseMs: expected a positive number, got ${claimLeaseMs}`);
    }
    const inMemory = filePath === ':memory:';
    if (readonly && (inMemory || !existsSync(filePath))) {
      throw new ManifestError(`cannot open manifest ${filePath} read-only: expected an existing manifest file`);
    }
    if (!inMemory && !readonly) mkdirSync(path.dirname(path.resolve(filePath)), { recursive: true });
    let sqlite: Database.Database;
    try {
      sqlite = new Database(filePath, { timeout: busyTimeoutMs, readonly, fileMustExist: readonly });
    } catch (error) {
      throw new ManifestError(`cannot open manifest ${filePath}: ${(error as Error).message}`, { cause: error });
    }
    try {
      if (!readonly) {
        withRetries(() => sqlite.pragma('journal_mode = WAL'), MIGRATION_ATTEMPTS);
        // NORMAL is crash-safe in WAL mode (a power loss can drop the last commits, never corrupt);
        // artifact files are fsynced before their row says done, so a lost commit only means redo.
        sqlite.pragma('synchronous = NORMAL');
      }
      sqlite.pragma('foreign_keys = ON');
      const store = new ManifestStore(sqlite, filePath, claimLeaseMs);
      if (!readonly) store.applyMigrations();
      return store;
    } catch (error) {
      sqlite.close();
      if (error instanceof ManifestError) throw error;
      throw new ManifestError(`cannot open manifest ${filePath}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Applies migrations not yet recorded. drizzle reads the last applied migration before it
   * takes the write lock, so two processes opening one fresh file can both try to create the
   * tables; the loser fails and, retried, finds everything applied.
   */
  private applyMigrations(): void {
    try {
      withRetries(() => migrate(this.db, { migrationsFolder: MIGRATIONS_FOLDER }), MIGRATION_ATTEMPTS);
    } catch (error) {
      throw new ManifestError(`cannot migrate manifest ${this.path} with ${MIGRATIONS_FOLDER}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** Migrations recorded in the database (drizzle's `__drizzle_migrations`), oldest first. */
  appliedMigrations(): Array<{ hash: string; createdAt: number }> {
    const rows = this.sqlite.prepare('SELECT hash, created_at AS createdAt FROM __drizzle_migrations ORDER BY created_at').all() as Array<{
      hash: string;
      createdAt: number;
    }>;
    return rows.map((row) => ({ hash: row.hash, createdAt: Number(row.createdAt) }));
  }

  /** Releases this store's claims (so others need not wait for the lease) and closes. */
  close(): void {
    if (!this.sqlite.open) return;
    if (!this.sqlite.readonly) {
      try {
        this.releaseClaims();
      } catch {
        // Closing must not fail because the database is busy; the claims expire or die with us.
      }
    }
    this.sqlite.close();
  }

  /** Runs `fn` in a `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so no other writer interleaves. */
  writeTransaction<T>(fn: () => T): T {
    return this.sqlite.transaction(fn).immediate();
  }

  // ---------------------------------------------------------------- clips

  /**
   * Inserts or updates clips in one transaction. A clip whose fields are all unchanged is not
   * written at all (its `updated_at` stays). A changed content hash marks the clip's done and
   * failed artifacts stale.
   */
  upsertClips(inputs: readonly ClipInput[]): UpsertCounts {
    const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0, artifactsMarkedStale: 0 };
    this.writeTransaction(() => {
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
          counts.artifactsMarkedStale += this.markStaleRows(eq(artifacts.clipId, next.id), now, 'clip content changed');
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

  /**
   * Inserts or updates clip sources (the clip must exist). Unchanged ones are not written; a
   * changed content hash marks the clip's done/failed artifacts made from that source stale.
   */
  upsertClipSources(inputs: readonly ClipSourceInput[]): UpsertCounts {
    const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0, artifactsMarkedStale: 0 };
    this.writeTransaction(() => {
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
          counts.artifactsMarkedStale += this.markStaleRows(
            and(eq(artifacts.clipId, next.clipId), eq(artifacts.source, next.kind)) as SQL,
            now,
            `${next.kind} source content changed`,
          );
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

  getClipSource(clipId: string, kind: ClipSourceInput['kind']): ClipSourceRow | undefined {
    return this.db
      .select()
      .from(clipSources)
      .where(and(eq(clipSources.clipId, clipId), eq(clipSources.kind, kind)))
      .get();
  }

  /** Replaces the members of a named split (e.g. DFEW `set_1/train`) with `clipIds`. */
  setSplitMembers(dataset: string, split: string, clipIds: readonly string[]): void {
    this.writeTransaction(() => {
      this.db
        .delete(splitMembers)
        .where(and(eq(splitMembers.dataset, dataset), eq(splitMembers.split, split)))
        .run();
      for (const clipId of new Set(clipIds)) {
        this.db.insert(splitMembers).values({ dataset, split, clipId }).run();
      }
    });
  }

  // ---------------------------------------------------------------- label maps

  /**
   * Stores a dataset's label names by index (`names[i]` is label `i`), replacing any previous
   * mapping. Returns whether anything changed.
   */
  setLabelMap(dataset: string, names: readonly string[]): boolean {
    const seen = new Set<string>();
    names.forEach((name, index) => {
      if (typeof name !== 'string' || name === '') {
        throw new InputError(`label map of ${dataset}: index ${index}: expected a non-empty name, got ${JSON.stringify(name)}`);
      }
      if (seen.has(name)) throw new InputError(`label map of ${dataset}: expected unique names, got ${name} twice`);
      seen.add(name);
    });
    return this.writeTransaction(() => {
      const current = this.getLabelMap(dataset);
      if (current.length === names.length && current.every((name, i) => name === names[i])) return false;
      this.db.delete(labelMaps).where(eq(labelMaps.dataset, dataset)).run();
      names.forEach((name, index) => {
        this.db.insert(labelMaps).values({ dataset, index, name }).run();
      });
      return true;
    });
  }

  /** Label names by index; empty when the dataset has no stored mapping. */
  getLabelMap(dataset: string): string[] {
    const rows = this.db.select().from(labelMaps).where(eq(labelMaps.dataset, dataset)).orderBy(asc(labelMaps.index)).all();
    rows.forEach((row, i) => {
      if (row.index !== i) {
        throw new ManifestError(`label map of ${dataset}: expected indices 0..${rows.length - 1}, got ${row.index} at position ${i}`);
      }
    });
    return rows.map((row) => row.name);
  }

  // ---------------------------------------------------------------- ingest issues

  /** Records bad input; the same (dataset, clip or path, reason) again updates the one row. */
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

  /** Forgets a dataset's issues (a full re-ingest records the ones that remain). Returns how many. */
  clearIngestIssues(dataset: string, reason?: string): number {
    return this.db
      .delete(ingestIssues)
      .where(and(eq(ingestIssues.dataset, dataset), reason === undefined ? undefined : eq(ingestIssues.reason, reason)))
      .run().changes;
  }

  // ---------------------------------------------------------------- runs

  /** Records the start of a run and returns its id. Also marks runs of dead processes on this machine interrupted. */
  startRun(stage: string, config: unknown = {}): string {
    const id = randomUUID();
    this.writeTransaction(() => {
      this.markInterruptedRuns();
      this.db
        .insert(runs)
        .values({
          id,
          stage,
          config: canonicalJson(config),
          pid: process.pid,
          host: this.host,
          startedAt: new Date(),
          outcome: 'running',
        })
        .run();
    });
    return id;
  }

  finishRun(runId: string, result: FinishRunInput): void {
    const changes = this.db
      .update(runs)
      .set({
        endedAt: new Date(),
        outcome: result.outcome,
        counts: result.counts === undefined ? null : canonicalJson(result.counts),
        error: result.error === undefined ? null : formatError(result.error),
      })
      .where(eq(runs.id, runId))
      .run().changes;
    if (changes === 0) throw new ManifestError(`finishRun: expected a started run, got unknown run id ${runId}`);
  }

  getRun(runId: string): RunRow | undefined {
    return this.db.select().from(runs).where(eq(runs.id, runId)).get();
  }

  listRuns(query: { stage?: string; limit?: number } = {}): RunRow[] {
    return this.db
      .select()
      .from(runs)
      .where(query.stage === undefined ? undefined : eq(runs.stage, query.stage))
      .orderBy(desc(runs.startedAt))
      .limit(query.limit ?? 100)
      .all();
  }

  /** Runs still `running` whose process on this machine is gone become `interrupted`. Returns how many. */
  markInterruptedRuns(): number {
    const open = this.db
      .select()
      .from(runs)
      .where(and(eq(runs.outcome, 'running'), eq(runs.host, this.host)))
      .all();
    let changed = 0;
    for (const run of open) {
      if (run.pid === process.pid || isProcessAlive(run.pid)) continue;
      changed += this.db
        .update(runs)
        .set({ outcome: 'interrupted', endedAt: new Date() })
        .where(and(eq(runs.id, run.id), eq(runs.outcome, 'running')))
        .run().changes;
    }
    return changed;
  }

  // ---------------------------------------------------------------- artifacts

  getArtifact(identity: ArtifactIdentity): ArtifactRow | undefined {
    return this.db
      .select()
      .from(artifacts)
      .where(eq(artifacts.identity, identityKey(identity)))
      .get();
  }

  listArtifacts(filter: ArtifactFilter = {}): ArtifactRow[] {
    return this.db.select().from(artifacts).where(filterCondition(filter)).orderBy(asc(artifacts.id)).all();
  }

  /**
   * Decides whether an artifact must be (re)made. `skip` only when the row is done with the same
   * cache key and the file at the same path still has the recorded size and sha256 (re-read in
   * full unless `verify: 'size'`). A done row that fails those checks, or whose key changed, is
   * marked stale here, so that `claim` hands it out.
   */
  async planArtifact(identity: ArtifactIdentity, info: ArtifactPlanInfo, options: PlanOptions = {}): Promise<ArtifactPlan> {
    const key = identityKey(identity);
    const row = this.db.select().from(artifacts).where(eq(artifacts.identity, key)).get();
    if (!row) return { decision: 'todo', reason: 'new', row: undefined };
    if (row.cacheKey !== info.cacheKey) {
      return { decision: 'todo', reason: 'key-changed', row: this.invalidateRow(row, 'cache key changed') };
    }
    if (row.status !== 'done') return { decision: 'todo', reason: row.status, row };
    if (row.path !== path.resolve(info.path)) {
      return { decision: 'todo', reason: 'path-changed', row: this.invalidateRow(row, `path changed to ${info.path}`) };
    }
    const problem = await checkFile(row, options.verify ?? 'hash');
    if (problem) return { decision: 'todo', reason: problem, row: this.invalidateRow(row, problem) };
    return { decision: 'skip', reason: 'up-to-date', row };
  }

  /**
   * Takes an artifact for this process, atomically (`BEGIN IMMEDIATE`): marks it pending and
   * owned by this store (pid, host, token, lease expiry). Returns null when another live process
   * holds an unexpired claim on it, or when it is already done with this cache key. A claim whose
   * process is dead (same machine) or whose lease expired is taken over.
   */
  claim(identity: ArtifactIdentity, info: ArtifactPlanInfo, options: ClaimOptions = {}): ArtifactClaim | null {
    const normalized = normalizeIdentity(identity);
    const key = identityKey(normalized);
    const leaseMs = options.leaseMs ?? this.claimLeaseMs;
    const filePath = path.resolve(info.path);
    const params = canonicalJson(info.params ?? {});
    return this.writeTransaction(() => {
      const now = new Date();
      const expiresAt = new Date(now.getTime() + leaseMs);
      const row = this.db.select().from(artifacts).where(eq(artifacts.identity, key)).get();
      const claimColumns = {
        status: 'pending' as const,
        cacheKey: info.cacheKey,
        params,
        path: filePath,
        error: null,
        runId: options.runId ?? null,
        claimPid: process.pid,
        claimHost: this.host,
        claimToken: this.claimToken,
        claimExpiresAt: expiresAt,
        updatedAt: now,
      };
      let artifactId: number;
      try {
        this.assertPathFree(filePath, key);
        if (!row) {
          const inserted = this.db
            .insert(artifacts)
            .values({ ...normalized, identity: key, ...claimColumns, attempts: 1, createdAt: now })
            .returning({ id: artifacts.id })
            .get();
          artifactId = inserted.id;
        } else {
          if (row.status === 'done' && row.cacheKey === info.cacheKey) return null;
          if (row.status === 'pending' && this.claimIsHeldByOther(row, now)) return null;
          this.db
            .update(artifacts)
            .set({ ...claimColumns, attempts: sql`${artifacts.attempts} + 1` })
            .where(eq(artifacts.id, row.id))
            .run();
          artifactId = row.id;
        }
      } catch (error) {
        if (error instanceof ManifestError) throw error;
        throw new ManifestError(`cannot claim ${describeIdentity(normalized)}: ${(error as Error).message}`, { cause: error });
      }
      return {
        artifactId,
        identity: normalized,
        identityKey: key,
        token: this.claimToken,
        path: filePath,
        cacheKey: info.cacheKey,
        expiresAt,
      };
    });
  }

  /** Extends this store's claim on an artifact. Returns false when the claim is no longer ours. */
  renewClaim(identity: ArtifactIdentity, leaseMs: number = this.claimLeaseMs): boolean {
    const now = new Date();
    return (
      this.db
        .update(artifacts)
        .set({ claimExpiresAt: new Date(now.getTime() + leaseMs) })
        .where(
          and(eq(artifacts.identity, identityKey(identity)), eq(artifacts.claimToken, this.claimToken), eq(artifacts.status, 'pending')),
        )
        .run().changes === 1
    );
  }

  /**
   * Records a claimed artifact as done with its file's size and sha256, and clears the claim.
   * Throws if this store no longer holds the claim (it expired and was taken over): the other
   * holder will record its own result.
   */
  complete(identity: ArtifactIdentity, file: CompletedFile): ArtifactRow {
    const key = identityKey(identity);
    if (!(Number.isInteger(file.bytes) && file.bytes >= 0)) {
      throw new ManifestError(`complete ${describeIdentity(identity)}: bytes: expected a non-negative integer, got ${file.bytes}`);
    }
    if (typeof file.contentHash !== 'string' || file.contentHash === '') {
      throw new ManifestError(
        `complete ${describeIdentity(identity)}: contentHash: expected a non-empty string, got ${JSON.stringify(file.contentHash)}`,
      );
    }
    return this.writeTransaction(() => {
      const row = this.db.select().from(artifacts).where(eq(artifacts.identity, key)).get();
      this.assertOwnClaim(row, identity, 'complete');
      const filePath = path.resolve(file.path);
      this.assertPathFree(filePath, key);
      const now = new Date();
      return this.db
        .update(artifacts)
        .set({
          status: 'done',
          path: filePath,
          bytes: file.bytes,
          contentHash: file.contentHash,
          error: null,
          ...CLEARED_CLAIM,
          updatedAt: now,
          completedAt: now,
        })
        .where(eq(artifacts.id, row.id))
        .returning()
        .get();
    });
  }

  /** Records a claimed artifact as failed with the error (and its causes). Returns false when the claim is no longer ours. */
  fail(identity: ArtifactIdentity, error: unknown): boolean {
    const now = new Date();
    return (
      this.db
        .update(artifacts)
        .set({ status: 'failed', error: formatError(error), ...CLEARED_CLAIM, updatedAt: now })
        .where(
          and(eq(artifacts.identity, identityKey(identity)), eq(artifacts.claimToken, this.claimToken), eq(artifacts.status, 'pending')),
        )
        .run().changes === 1
    );
  }

  /** Gives back every claim this store holds (the items stay pending, free for anyone). Returns how many. */
  releaseClaims(): number {
    return this.db
      .update(artifacts)
      .set({ ...CLEARED_CLAIM, updatedAt: new Date() })
      .where(and(eq(artifacts.claimToken, this.claimToken), eq(artifacts.status, 'pending')))
      .run().changes;
  }

  /**
   * Marks done/failed artifacts matching `filter` stale (pass `status` to choose other
   * statuses). With `cacheKeyNot`, only those whose key differs. Returns how many changed.
   */
  markStaleWhere(filter: ArtifactFilter): number {
    const withStatus: ArtifactFilter = { ...filter, status: filter.status ?? INVALIDATABLE };
    return this.writeTransaction(() => this.markStaleRows(filterCondition(withStatus) ?? sql`1`, new Date(), 'marked stale', true));
  }

  /**
   * For each (identity, current cache key), marks the stored artifact stale if it is done or
   * failed under a different key. A stage calls this with the keys of the current config: exactly
   * the artifacts that config would make differently become stale. Returns how many changed.
   */
  markStaleByKeys(expected: Iterable<{ identity: ArtifactIdentity; cacheKey: string }>): number {
    return this.writeTransaction(() => {
      const now = new Date();
      let changed = 0;
      for (const { identity, cacheKey } of expected) {
        changed += this.markStaleRows(
          and(eq(artifacts.identity, identityKey(identity)), ne(artifacts.cacheKey, cacheKey)) as SQL,
          now,
          'cache key changed',
        );
      }
      return changed;
    });
  }

  /**
   * Per stage: done, stale, failed, pending and missing (done but the file is gone) counts, the
   * failed items with their errors, ingest issue counts, clip counts and each stage's last run.
   * Backs `pthnet status`. Reads only.
   */
  statusSummary(options: StatusOptions = {}): StatusSummary {
    const checkFiles = options.checkFiles ?? true;
    const failedLimit = options.failedLimit ?? 50;
    const byStage = new Map<string, StageStatus>();
    const stageOf = (stage: string): StageStatus => {
      let entry = byStage.get(stage);
      if (!entry) {
        entry = { stage, done: 0, stale: 0, failed: 0, pending: 0, missing: 0, total: 0, bytes: 0 };
        byStage.set(stage, entry);
      }
      return entry;
    };
    const grouped = this.db
      .select({
        stage: artifacts.stage,
        status: artifacts.status,
        n: sql<number>`count(*)`,
        bytes: sql<number>`coalesce(sum(${artifacts.bytes}), 0)`,
      })
      .from(artifacts)
      .groupBy(artifacts.stage, artifacts.status)
      .all();
    for (const group of grouped) {
      const entry = stageOf(group.stage);
      entry[group.status] += group.n;
      entry.total += group.n;
      if (group.status === 'done') entry.bytes += group.bytes;
    }
    const missing: string[] = [];
    if (checkFiles) {
      const done = this.db
        .select({ stage: artifacts.stage, path: artifacts.path })
        .from(artifacts)
        .where(eq(artifacts.status, 'done'))
        .all();
      for (const row of done) {
        if (existsSync(row.path)) continue;
        const entry = stageOf(row.stage);
        entry.missing++;
        entry.done--;
        missing.push(row.path);
      }
    }
    const failed: FailedArtifact[] = this.db
      .select({
        stage: artifacts.stage,
        kind: artifacts.kind,
        clipId: artifacts.clipId,
        direction: artifacts.direction,
        stride: artifacts.stride,
        source: artifacts.source,
        variant: artifacts.variant,
        path: artifacts.path,
        error: artifacts.error,
        attempts: artifacts.attempts,
        updatedAt: artifacts.updatedAt,
      })
      .from(artifacts)
      .where(eq(artifacts.status, 'failed'))
      .orderBy(desc(artifacts.updatedAt))
      .limit(failedLimit)
      .all();
    const issueGroups = this.db
      .select({ dataset: ingestIssues.dataset, reason: ingestIssues.reason, n: sql<number>`count(*)` })
      .from(ingestIssues)
      .groupBy(ingestIssues.dataset, ingestIssues.reason)
      .all();
    const ingest = { total: 0, byReason: {} as Record<string, number>, byDataset: {} as Record<string, number> };
    for (const group of issueGroups) {
      ingest.total += group.n;
      ingest.byReason[group.reason] = (ingest.byReason[group.reason] ?? 0) + group.n;
      ingest.byDataset[group.dataset] = (ingest.byDataset[group.dataset] ?? 0) + group.n;
    }
    const clipGroups = this.db.select({ dataset: clips.dataset, n: sql<number>`count(*)` }).from(clips).groupBy(clips.dataset).all();
    const clipCounts = { total: 0, byDataset: {} as Record<string, number> };
    for (const group of clipGroups) {
      clipCounts.total += group.n;
      clipCounts.byDataset[group.dataset] = group.n;
    }
    const lastRuns = this.db
      .select()
      .from(runs)
      .where(sql`${runs.startedAt} = (select max(r2.started_at) from runs r2 where r2.stage = ${runs.stage})`)
      .orderBy(asc(runs.stage))
      .all()
      .map((run) =>
        // A run whose process died without finishing reads as interrupted even before the next
        // startRun records it, since this method writes nothing.
        run.outcome === 'running' && run.host === this.host && run.pid !== process.pid && !isProcessAlive(run.pid)
          ? { ...run, outcome: 'interrupted' as const }
          : run,
      );
    return {
      stages: [...byStage.values()].sort((a, b) => a.stage.localeCompare(b.stage)),
      failed,
      missing,
      ingestIssues: ingest,
      clips: clipCounts,
      lastRuns,
    };
  }

  // ---------------------------------------------------------------- internals

  private claimIsHeldByOther(row: ArtifactRow, now: Date): boolean {
    if (row.claimToken === null || row.claimToken === this.claimToken) return false;
    if (row.claimExpiresAt === null || row.claimExpiresAt.getTime() <= now.getTime()) return false;
    // A pid is only meaningful on its own machine; elsewhere the lease alone decides.
    if (row.claimHost === this.host && row.claimPid !== null && !isProcessAlive(row.claimPid)) return false;
    return true;
  }

  private assertOwnClaim(row: ArtifactRow | undefined, identity: ArtifactIdentity, action: string): asserts row is ArtifactRow {
    if (!row) throw new ManifestError(`${action} ${describeIdentity(identity)}: expected a claimed artifact, got no row`);
    if (row.status !== 'pending' || row.claimToken !== this.claimToken) {
      throw new ManifestError(
        `${action} ${describeIdentity(identity)}: expected a claim held by this process, got status ${row.status} ` +
          `claimed by ${row.claimToken === null ? 'nobody' : `pid ${row.claimPid} on ${row.claimHost}`} (the lease ran out and another process took it over)`,
      );
    }
  }

  private assertPathFree(filePath: string, key: string): void {
    const owner = this.db
      .select({ identity: artifacts.identity })
      .from(artifacts)
      .where(and(eq(artifacts.path, filePath), ne(artifacts.identity, key)))
      .get();
    if (owner) {
      throw new ManifestError(`artifact path ${filePath}: expected a path no other artifact uses, got one used by ${owner.identity}`);
    }
  }

  /** Marks one row stale if it is still as read (another process may have moved it on meanwhile). */
  private invalidateRow(row: ArtifactRow, why: string): ArtifactRow {
    if (!INVALIDATABLE.includes(row.status)) return row;
    const updated = this.db
      .update(artifacts)
      .set({ status: 'stale', error: why, updatedAt: new Date() })
      .where(
        and(
          eq(artifacts.id, row.id),
          eq(artifacts.status, row.status),
          eq(artifacts.cacheKey, row.cacheKey),
          row.completedAt === null ? isNull(artifacts.completedAt) : eq(artifacts.completedAt, row.completedAt),
        ),
      )
      .returning()
      .get();
    return updated ?? this.db.select().from(artifacts).where(eq(artifacts.id, row.id)).get() ?? row;
  }

  private markStaleRows(condition: SQL, now: Date, why: string, statusInCondition = false): number {
    return this.db
      .update(artifacts)
      .set({ status: 'stale', error: why, updatedAt: now })
      .where(statusInCondition ? condition : and(condition, inArray(artifacts.status, [...INVALIDATABLE])))
      .run().changes;
  }
}

const CLEARED_CLAIM = { claimPid: null, claimHost: null, claimToken: null, claimExpiresAt: null } as const;

async function checkFile(
  row: ArtifactRow,
  verify: 'hash' | 'size',
): Promise<'file-missing' | 'size-mismatch' | 'hash-mismatch' | undefined> {
  let info: Stats;
  try {
    info = await stat(row.path);
  } catch {
    return 'file-missing';
  }
  if (!info.isFile()) return 'file-missing';
  if (row.bytes === null || info.size !== row.bytes) return 'size-mismatch';
  if (verify === 'size') return undefined;
  try {
    const { hash, bytes } = await hashFileWithSize(row.path);
    if (bytes !== row.bytes) return 'size-mismatch';
    if (hash !== row.contentHash) return 'hash-mismatch';
  } catch {
    return 'file-missing';
  }
  return undefined;
}

function filterCondition(filter: ArtifactFilter): SQL | undefined {
  const conditions: Array<SQL | undefined> = [
    filter.stage === undefined ? undefined : eq(artifacts.stage, filter.stage),
    filter.kind === undefined ? undefined : eq(artifacts.kind, filter.kind),
    nullableEq(artifacts.clipId, filter.clipId),
    nullableEq(artifacts.direction, filter.direction),
    nullableEq(artifacts.stride, filter.stride),
    nullableEq(artifacts.source, filter.source),
    filter.variant === undefined ? undefined : eq(artifacts.variant, filter.variant),
    filter.cacheKeyNot === undefined ? undefined : ne(artifacts.cacheKey, filter.cacheKeyNot),
  ];
  if (filter.status !== undefined) {
    const statuses: readonly ArtifactStatus[] = typeof filter.status === 'string' ? [filter.status] : filter.status;
    conditions.push(inArray(artifacts.status, [...statuses]));
  }
  return and(...conditions);
}

function nullableEq(column: SQLiteColumn, value: string | number | null | undefined): SQL | undefined {
  if (value === undefined) return undefined;
  return value === null ? isNull(column) : eq(column, value);
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

/** Retries a synchronous step that can lose a race with another process opening the same file. */
function withRetries<T>(step: () => T, attempts: number): T {
  for (let attempt = 1; ; attempt++) {
    try {
      return step();
    } catch (error) {
      if (attempt >= attempts) throw error;
      sleepSync(20 * attempt + Math.floor(Math.random() * 20));
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
