import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { SQL } from 'drizzle-orm';
import { and, asc, desc, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { isProcessAlive } from '../atomic/liveness.js';
import { canonicalJson } from '../cache/cache-key.js';
import { hashFileWithSize } from '../cache/hash.js';
import { ManifestError } from '../errors/index.js';
import type { ManifestConnection } from './connection.js';
import { formatError } from './format-error.js';
import { describeIdentity, identityKey, normalizeIdentity } from './identity.js';
import type { ArtifactLedger } from './interfaces.js';
import { artifacts } from './schema.js';
import type { PipelineStage } from '../pipeline/catalogue.js';
import type {
  ArtifactClaim,
  ArtifactFileRow,
  ArtifactFilter,
  ArtifactIdentity,
  ArtifactPlan,
  ArtifactPlanInfo,
  ArtifactRow,
  ArtifactStatus,
  ArtifactStatusCount,
  ClaimOptions,
  CompletedFile,
  FailedArtifact,
  PlanOptions,
  RegisterCounts,
  RegisteredArtifact,
} from './types.js';
import type { ClipSourceKind, Direction } from './constants.js';

/** Statuses an input change or a key change turns into `stale`: pending rows are todo already. */
const INVALIDATABLE: readonly ArtifactStatus[] = ['done', 'failed'];

const CLEARED_CLAIM = { claimPid: null, claimHost: null, claimToken: null, claimExpiresAt: null } as const;

/** `registerDone`'s view of an existing row. */
interface RegisterRow {
  id: number;
  status: ArtifactStatus;
  claimToken: string | null;
  claimHost: string | null;
  claimPid: number | null;
  claimExpiresAt: number | null;
}

/** The artifact ledger over the manifest's SQLite connection. */
export class SqliteArtifactLedger implements ArtifactLedger {
  readonly claimToken: string;
  readonly claimLeaseMs: number;
  readonly #connection: ManifestConnection;

  constructor(connection: ManifestConnection, claimLeaseMs: number) {
    this.#connection = connection;
    this.claimLeaseMs = claimLeaseMs;
    this.claimToken = randomBytes(8).toString('hex');
  }

  private get db() {
    return this.#connection.db;
  }

  private get host() {
    return this.#connection.host;
  }

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

  listArtifactFiles(filter: ArtifactFilter = {}): ArtifactFileRow[] {
    // rows as arrays, made into objects here: drizzle's row mapping took longer than the query on 233k rows
    const rows = this.db
      .select({
        clipId: artifacts.clipId,
        direction: artifacts.direction,
        stride: artifacts.stride,
        source: artifacts.source,
        status: artifacts.status,
        cacheKey: artifacts.cacheKey,
        path: artifacts.path,
        bytes: artifacts.bytes,
        contentHash: artifacts.contentHash,
        fileStamp: artifacts.fileStamp,
      })
      .from(artifacts)
      .where(filterCondition(filter))
      .orderBy(asc(artifacts.id))
      .values() as Array<
      [
        string | null,
        Direction | null,
        number | null,
        ClipSourceKind | null,
        ArtifactStatus,
        string,
        string,
        number | null,
        string | null,
        string | null,
      ]
    >;
    return rows.map(([clipId, direction, stride, source, status, cacheKey, path, bytes, contentHash, fileStamp]) => ({
      clipId,
      direction,
      stride,
      source,
      status,
      cacheKey,
      path,
      bytes,
      contentHash,
      fileStamp,
    }));
  }

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

  claim(identity: ArtifactIdentity, info: ArtifactPlanInfo, options: ClaimOptions = {}): ArtifactClaim | null {
    const normalized = normalizeIdentity(identity);
    const key = identityKey(normalized);
    const leaseMs = options.leaseMs ?? this.claimLeaseMs;
    const filePath = path.resolve(info.path);
    const params = canonicalJson(info.params ?? {});
    return this.#connection.writeTransaction(() => {
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

  renewClaim(identity: ArtifactIdentity, leaseMs: number = this.claimLeaseMs): boolean {
    const now = new Date();
    return (
      this.db
        .update(artifacts)
        .set({ claimExpiresAt: new Date(now.getTime() + leaseMs) })
        .where(this.ownClaim(identity))
        .run().changes === 1
    );
  }

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
    return this.#connection.writeTransaction(() => {
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
          fileStamp: file.fileStamp ?? null,
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

  setFileStamp(identity: ArtifactIdentity, cacheKey: string, fileStamp: string): boolean {
    return (
      this.db
        .update(artifacts)
        .set({ fileStamp })
        .where(and(eq(artifacts.identity, identityKey(identity)), eq(artifacts.cacheKey, cacheKey), eq(artifacts.status, 'done')))
        .run().changes === 1
    );
  }

  registerDone(items: readonly RegisteredArtifact[], options: ClaimOptions = {}): RegisterCounts {
    // Hundreds of thousands of rows (a FERV39k import): one transaction for the batch and statements
    // prepared once, instead of a claim and a completion (two transactions, six queries) per file.
    const statements = this.registerStatements();
    const runId = options.runId ?? null;
    return this.#connection.writeTransaction(() => {
      const counts: RegisterCounts = { registered: 0, taken: 0 };
      const now = new Date();
      const at = now.getTime();
      for (const item of items) {
        const normalized = normalizeIdentity(item.identity);
        const key = identityKey(normalized);
        const filePath = path.resolve(item.file.path);
        const owner = statements.pathOwner.get(filePath, key) as { identity: string } | undefined;
        if (owner) {
          throw new ManifestError(`artifact path ${filePath}: expected a path no other artifact uses, got one used by ${owner.identity}`);
        }
        const row = statements.byIdentity.get(key) as RegisterRow | undefined;
        const values = {
          cacheKey: item.cacheKey,
          params: canonicalJson(item.params ?? {}),
          path: filePath,
          bytes: item.file.bytes,
          contentHash: item.file.contentHash,
          fileStamp: item.file.fileStamp ?? null,
          runId,
          now: at,
        };
        if (row === undefined) {
          statements.insert.run({ ...values, ...normalized, identity: key });
        } else {
          const claim = {
            claimToken: row.claimToken,
            claimHost: row.claimHost,
            claimPid: row.claimPid,
            claimExpiresAt: row.claimExpiresAt === null ? null : new Date(row.claimExpiresAt),
          };
          if (row.status === 'pending' && this.claimIsHeldByOther(claim, now)) {
            counts.taken += 1;
            continue;
          }
          statements.update.run({ ...values, id: row.id });
        }
        counts.registered += 1;
      }
      return counts;
    });
  }

  fail(identity: ArtifactIdentity, error: unknown): boolean {
    const now = new Date();
    return (
      this.db
        .update(artifacts)
        .set({ status: 'failed', error: formatError(error), ...CLEARED_CLAIM, updatedAt: now })
        .where(this.ownClaim(identity))
        .run().changes === 1
    );
  }

  release(identity: ArtifactIdentity): boolean {
    return (
      this.db
        .update(artifacts)
        .set({ ...CLEARED_CLAIM, updatedAt: new Date() })
        .where(this.ownClaim(identity))
        .run().changes === 1
    );
  }

  releaseClaims(): number {
    return this.db
      .update(artifacts)
      .set({ ...CLEARED_CLAIM, updatedAt: new Date() })
      .where(and(eq(artifacts.claimToken, this.claimToken), eq(artifacts.status, 'pending')))
      .run().changes;
  }

  invalidate(identity: ArtifactIdentity, reason: string): boolean {
    return this.markStaleRows(eq(artifacts.identity, identityKey(identity)), new Date(), reason) === 1;
  }

  markStaleWhere(filter: ArtifactFilter): number {
    const withStatus: ArtifactFilter = { ...filter, status: filter.status ?? INVALIDATABLE };
    return this.#connection.writeTransaction(() =>
      this.markStaleRows(filterCondition(withStatus) ?? sql`1`, new Date(), 'marked stale', true),
    );
  }

  markStaleByKeys(expected: Iterable<{ identity: ArtifactIdentity; cacheKey: string }>): number {
    return this.#connection.writeTransaction(() => {
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

  markClipArtifactsStale(clipId: string, source: ClipSourceKind | null, reason: string): number {
    const condition =
      source === null ? eq(artifacts.clipId, clipId) : (and(eq(artifacts.clipId, clipId), eq(artifacts.source, source)) as SQL);
    return this.markStaleRows(condition, new Date(), reason);
  }

  statusCounts(): ArtifactStatusCount[] {
    return this.db
      .select({
        stage: artifacts.stage,
        status: artifacts.status,
        count: sql<number>`count(*)`,
        bytes: sql<number>`coalesce(sum(${artifacts.bytes}), 0)`,
      })
      .from(artifacts)
      .groupBy(artifacts.stage, artifacts.status)
      .all();
  }

  donePaths(): Array<{ stage: PipelineStage; path: string }> {
    return this.db
      .select({ stage: artifacts.stage, path: artifacts.path })
      .from(artifacts)
      .where(eq(artifacts.status, 'done'))
      .orderBy(asc(artifacts.id))
      .all();
  }

  listFailed(limit: number): FailedArtifact[] {
    return this.db
      .select({
        stage: artifacts.stage,
        kind: artifacts.kind,
        clipId: artifacts.clipId,
        direction: artifacts.direction,
        stride: artifacts.stride,
        source: artifacts.source,
        variant: artifacts.variant,
        dataset: artifacts.dataset,
        path: artifacts.path,
        error: artifacts.error,
        attempts: artifacts.attempts,
        updatedAt: artifacts.updatedAt,
      })
      .from(artifacts)
      .where(eq(artifacts.status, 'failed'))
      .orderBy(desc(artifacts.updatedAt))
      .limit(limit)
      .all();
  }

  #registerStatements: ReturnType<SqliteArtifactLedger['prepareRegisterStatements']> | undefined;

  private registerStatements() {
    this.#registerStatements ??= this.prepareRegisterStatements();
    return this.#registerStatements;
  }

  /** The statements of `registerDone`, in SQL: drizzle's query building costs more than the query here. */
  private prepareRegisterStatements() {
    const sqlite = this.#connection.sqlite;
    return {
      pathOwner: sqlite.prepare('SELECT identity FROM artifacts WHERE path = ? AND identity <> ?'),
      byIdentity: sqlite.prepare(
        `SELECT id, status, claim_token AS claimToken, claim_host AS claimHost, claim_pid AS claimPid,
                claim_expires_at AS claimExpiresAt FROM artifacts WHERE identity = ?`,
      ),
      insert: sqlite.prepare(
        `INSERT INTO artifacts (identity, stage, kind, clip_id, direction, stride, source, variant, dataset, params, cache_key,
           path, bytes, content_hash, file_stamp, status, attempts, run_id, created_at, updated_at, completed_at)
         VALUES (@identity, @stage, @kind, @clipId, @direction, @stride, @source, @variant, @dataset, @params, @cacheKey,
           @path, @bytes, @contentHash, @fileStamp, 'done', 1, @runId, @now, @now, @now)`,
      ),
      update: sqlite.prepare(
        `UPDATE artifacts SET status = 'done', cache_key = @cacheKey, params = @params, path = @path, bytes = @bytes,
           content_hash = @contentHash, file_stamp = @fileStamp, error = NULL, run_id = @runId, attempts = attempts + 1,
           claim_pid = NULL, claim_host = NULL, claim_token = NULL, claim_expires_at = NULL, updated_at = @now, completed_at = @now
         WHERE id = @id`,
      ),
    };
  }

  /** The row of `identity` while it is pending under this ledger's claim. */
  private ownClaim(identity: ArtifactIdentity): SQL {
    return and(
      eq(artifacts.identity, identityKey(identity)),
      eq(artifacts.claimToken, this.claimToken),
      eq(artifacts.status, 'pending'),
    ) as SQL;
  }

  private claimIsHeldByOther(row: Pick<ArtifactRow, 'claimToken' | 'claimHost' | 'claimPid' | 'claimExpiresAt'>, now: Date): boolean {
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
    nullableEq(artifacts.dataset, filter.dataset),
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
