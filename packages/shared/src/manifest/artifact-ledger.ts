import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Column, SQL } from 'drizzle-orm';
import { and, asc, desc, eq, getTableColumns, inArray, isNotNull, isNull, ne, sql } from 'drizzle-orm';
import { isProcessAlive } from '../atomic/liveness.js';
import { canonicalJson } from '../cache/cache-key.js';
import { ManifestError } from '../errors/index.js';
import type { ManifestBackend, ManifestTables } from './backend.js';
import { formatError } from './format-error.js';
import { describeIdentity, identityKey, normalizeIdentity } from './identity.js';
import type { ArtifactLedger } from './interfaces.js';
import type { PipelineStage } from '../pipeline/catalogue.js';
import type {
  ArtifactClaim,
  ArtifactFileRow,
  ArtifactListColumn,
  ArtifactFilter,
  ArtifactIdentity,
  ArtifactPlanInfo,
  ArtifactRow,
  ArtifactState,
  ArtifactStatus,
  ArtifactStatusCount,
  ClaimOptions,
  CompletedFile,
  FailedArtifact,
  Lease,
  RegisterCounts,
  RegisteredArtifact,
} from './types.js';
import type { ClipSourceKind } from './constants.js';

/** `n` named placeholders `<prefix>0`..`<prefix>n-1`, for a query prepared for `n` values. */
function placeholders(prefix: string, n: number) {
  return Array.from({ length: n }, (_, i) => sql.placeholder(`${prefix}${i}`));
}

/** The values of `placeholders(prefix, values.length)`. */
function placeholderValues(prefix: string, values: readonly unknown[]): Record<string, unknown> {
  const named: Record<string, unknown> = {};
  values.forEach((value, i) => {
    named[`${prefix}${i}`] = value;
  });
  return named;
}

/** The columns `registerDone` inserts (its prepared insert names each; the others take their defaults). */
const REGISTER_INSERT_COLUMNS = [
  'stage',
  'kind',
  'clipId',
  'direction',
  'stride',
  'source',
  'variant',
  'dataset',
  'identity',
  'status',
  'cacheKey',
  'params',
  'path',
  'bytes',
  'contentHash',
  'fileStamp',
  'error',
  'runId',
  'claimPid',
  'claimHost',
  'claimToken',
  'claimExpiresAt',
  'attempts',
  'createdAt',
  'updatedAt',
  'completedAt',
] as const satisfies ReadonlyArray<keyof ArtifactRow>;

/** Statuses an input change or a key change turns into `stale`: pending rows are todo already. */
const INVALIDATABLE: readonly ArtifactStatus[] = ['done', 'failed'];

const CLEARED_CLAIM = { claimPid: null, claimHost: null, claimToken: null, claimExpiresAt: null } as const;

/** Rows `registerDone` looks up or inserts per query (well under both databases' bound-parameter limits). */
const REGISTER_CHUNK = 500;

/** Identities `getArtifacts` looks up per query: one round trip per 500 rows instead of one per row. */
const LOOKUP_CHUNK = 500;

/** What deciding whether a claim is live reads of a row. */
type ClaimColumns = Pick<ArtifactRow, 'claimToken' | 'claimHost' | 'claimPid' | 'claimExpiresAt'>;

/** The artifact ledger, on either database (see backend.ts). */
export class ManifestArtifactLedger implements ArtifactLedger {
  readonly claimToken: string;
  readonly claimLeaseMs: number;
  readonly #backend: ManifestBackend;
  /** Prepared queries by the database handle they were prepared on (see `preparedPerSize`). */
  readonly #prepared = new WeakMap<object, Map<string, unknown>>();

  constructor(backend: ManifestBackend, claimLeaseMs: number) {
    this.#backend = backend;
    this.claimLeaseMs = claimLeaseMs;
    this.claimToken = randomBytes(8).toString('hex');
  }

  private get db() {
    return this.#backend.db;
  }

  private get table() {
    return this.#backend.tables.artifacts;
  }

  private get host() {
    return this.#backend.host;
  }

  async getArtifact(identity: ArtifactIdentity): Promise<ArtifactRow | undefined> {
    return this.rowByKey(identityKey(identity));
  }

  async listArtifacts(filter: ArtifactFilter = {}): Promise<ArtifactRow[]> {
    const artifacts = this.table;
    return this.db.select().from(artifacts).where(filterCondition(artifacts, filter)).orderBy(asc(artifacts.id));
  }

  async listArtifactFiles<K extends ArtifactListColumn = keyof ArtifactFileRow>(
    filter: ArtifactFilter = {},
    columns?: readonly K[],
  ): Promise<Array<Pick<ArtifactRow, K>>> {
    const artifacts = this.table;
    const listable = {
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
      params: artifacts.params,
    };
    // each column left out is a value fewer to decode and map, times hundreds of thousands of rows
    const { params: _params, ...fileRow } = listable;
    const picked = columns === undefined ? fileRow : Object.fromEntries(columns.map((column) => [column, listable[column]]));
    // (the columns are picked at run time: the row type is the pick the caller asked for)
    return (await this.db
      .select(picked as typeof listable)
      .from(artifacts)
      .where(filterCondition(artifacts, filter))
      .orderBy(asc(artifacts.id))) as unknown as Array<Pick<ArtifactRow, K>>;
  }

  async getArtifactStates(identities: readonly ArtifactIdentity[]): Promise<Array<ArtifactState | undefined>> {
    const artifacts = this.table;
    const keys = identities.map((identity) => identityKey(identity));
    const rows = new Map<string, ArtifactState>();
    for (let start = 0; start < keys.length; start += LOOKUP_CHUNK) {
      const chunk = [...new Set(keys.slice(start, start + LOOKUP_CHUNK))];
      // the columns a check reads, not all of them: at 233,610 rows the mapping is most of the cost
      const found = await this.db
        .select({
          id: artifacts.id,
          identity: artifacts.identity,
          status: artifacts.status,
          cacheKey: artifacts.cacheKey,
          path: artifacts.path,
          bytes: artifacts.bytes,
          contentHash: artifacts.contentHash,
          fileStamp: artifacts.fileStamp,
          error: artifacts.error,
          completedAt: artifacts.completedAt,
        })
        .from(artifacts)
        .where(inArray(artifacts.identity, chunk));
      for (const row of found) rows.set(row.identity, row);
    }
    return keys.map((key) => rows.get(key));
  }

  async claim(identity: ArtifactIdentity, info: ArtifactPlanInfo, options: ClaimOptions = {}): Promise<ArtifactClaim | null> {
    const normalized = normalizeIdentity(identity);
    const key = identityKey(normalized);
    const leaseMs = options.leaseMs ?? this.claimLeaseMs;
    const filePath = path.resolve(info.path);
    const params = canonicalJson(info.params ?? {});
    const artifacts = this.table;
    try {
      return await this.#backend.transaction(async () => {
        const now = await this.#backend.now();
        const expiresAt = new Date(now.getTime() + leaseMs);
        // Another worker in the middle of claiming or completing this item holds its row: move on,
        // unless the item is ours already (claimed before the work, claimed again to write it): then
        // the other worker is only looking at it, and giving up would leave our own claim undone
        // until its lease ran out (seen on PostgreSQL with four workers on one clip).
        let row = await this.#backend.lockArtifact(key, 'skip-locked');
        if (row === 'locked') {
          const seen = await this.rowByKey(key);
          if (seen?.status !== 'pending' || seen.claimToken !== this.claimToken) return null;
          row = await this.#backend.lockArtifact(key, 'wait');
          if (row === 'locked') return null;
        }
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
          claimedAt: now,
          updatedAt: now,
        };
        let artifactId: number;
        await this.assertPathFree(filePath, key);
        if (!row) {
          // No conflict target: a worker inserting the same item at the same moment can collide on
          // its path's unique index before its identity's (PostgreSQL checks them in either order).
          const [inserted] = await this.db
            .insert(artifacts)
            .values({ ...normalized, identity: key, ...claimColumns, attempts: 1, createdAt: now })
            .onConflictDoNothing()
            .returning({ id: artifacts.id });
          if (!inserted) {
            // Another worker inserted it since we looked: it is theirs. Another artifact that took the path meanwhile is an error.
            await this.assertPathFree(filePath, key);
            return null;
          }
          artifactId = inserted.id;
        } else {
          if (row.status === 'done' && row.cacheKey === info.cacheKey) return null;
          if (row.status === 'pending' && this.claimIsHeldByOther(row, now)) return null;
          // Claiming again what this ledger already holds (a stage that claims before it computes,
          // then makes the file through produceArtifact) renews it; it is not another attempt.
          const ours = row.status === 'pending' && row.claimToken === this.claimToken;
          await this.db
            .update(artifacts)
            .set({ ...claimColumns, ...(ours ? { claimedAt: row.claimedAt ?? now } : { attempts: sql`${artifacts.attempts} + 1` }) })
            .where(eq(artifacts.id, row.id));
          artifactId = row.id;
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
    } catch (error) {
      if (error instanceof ManifestError) throw error;
      throw new ManifestError(`cannot claim ${describeIdentity(normalized)}: ${(error as Error).message}`, { cause: error });
    }
  }

  async renewClaim(identity: ArtifactIdentity, leaseMs: number = this.claimLeaseMs): Promise<boolean> {
    const artifacts = this.table;
    return this.#backend.transaction(async () => {
      const now = await this.#backend.now();
      const renewed = await this.db
        .update(artifacts)
        .set({ claimExpiresAt: new Date(now.getTime() + leaseMs) })
        .where(this.ownClaim(identity))
        .returning({ id: artifacts.id });
      return renewed.length === 1;
    });
  }

  async complete(identity: ArtifactIdentity, file: CompletedFile): Promise<ArtifactRow> {
    const key = identityKey(identity);
    if (!(Number.isInteger(file.bytes) && file.bytes >= 0)) {
      throw new ManifestError(`complete ${describeIdentity(identity)}: bytes: expected a non-negative integer, got ${file.bytes}`);
    }
    if (typeof file.contentHash !== 'string' || file.contentHash === '') {
      throw new ManifestError(
        `complete ${describeIdentity(identity)}: contentHash: expected a non-empty string, got ${JSON.stringify(file.contentHash)}`,
      );
    }
    const artifacts = this.table;
    return this.#backend.transaction(async () => {
      // Waits for a worker that is taking over an expired claim, then sees whether it did.
      const locked = await this.#backend.lockArtifact(key, 'wait');
      const row = locked === 'locked' ? undefined : locked;
      this.assertOwnClaim(row, identity, 'complete');
      const filePath = path.resolve(file.path);
      await this.assertPathFree(filePath, key);
      const now = await this.#backend.now();
      const [done] = await this.db
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
        .returning();
      // biome-ignore lint/style/noNonNullAssertion: the row is locked and ours (checked above), so the update matched it
      return done!;
    });
  }

  async setFileStamp(identity: ArtifactIdentity, cacheKey: string, fileStamp: string): Promise<boolean> {
    const artifacts = this.table;
    const updated = await this.db
      .update(artifacts)
      .set({ fileStamp })
      .where(and(eq(artifacts.identity, identityKey(identity)), eq(artifacts.cacheKey, cacheKey), eq(artifacts.status, 'done')))
      .returning({ id: artifacts.id });
    return updated.length === 1;
  }

  async registerDone(items: readonly RegisteredArtifact[], options: ClaimOptions = {}): Promise<RegisterCounts> {
    // Hundreds of thousands of rows (a FERV39k import): one transaction for the batch, rows looked up
    // and inserted a chunk at a time, instead of a claim and a completion (two transactions) per file.
    // The chunk queries are prepared once per batch with placeholders: drizzle takes tens of µs a
    // row to build a 500-row statement, more than the database takes to run it.
    const artifacts = this.table;
    const runId = options.runId ?? null;
    return this.#backend.transaction(async () => {
      const counts: RegisterCounts = { registered: 0, taken: 0 };
      const now = await this.#backend.now();
      const ownersOf = this.preparedPerSize('register-owners', (n) =>
        this.db
          .select({ identity: artifacts.identity, path: artifacts.path })
          .from(artifacts)
          .where(inArray(artifacts.path, placeholders('p', n)))
          .prepare(),
      );
      const rowsOf = this.preparedPerSize('register-rows', (n) =>
        this.db
          .select()
          .from(artifacts)
          .where(inArray(artifacts.identity, placeholders('k', n)))
          .prepare(),
      );
      const insertOf = this.preparedPerSize('register-insert', (n) =>
        this.db
          .insert(artifacts)
          .values(
            Array.from({ length: n }, (_, row) =>
              // as SQL, not values: drizzle would encode the placeholder's value with the column's mapper,
              // which fails on a null date; the values are encoded below, nulls left as they are
              Object.fromEntries(REGISTER_INSERT_COLUMNS.map((column) => [column, sql`${sql.placeholder(`${column}_${row}`)}`])),
            ) as unknown as Array<typeof artifacts.$inferInsert>,
          )
          .onConflictDoNothing({ target: artifacts.identity })
          .returning({ id: artifacts.id })
          .prepare(),
      );
      for (let start = 0; start < items.length; start += REGISTER_CHUNK) {
        const chunk = items.slice(start, start + REGISTER_CHUNK).map((item) => {
          const normalized = normalizeIdentity(item.identity);
          return { item, normalized, key: identityKey(normalized), filePath: path.resolve(item.file.path) };
        });
        const keys = chunk.map((entry) => entry.key);
        const paths = [...new Set(chunk.map((entry) => entry.filePath))];
        const owners = await ownersOf(paths.length).execute(placeholderValues('p', paths));
        const ownersByPath = new Map<string, string[]>();
        for (const owner of owners) ownersByPath.set(owner.path, [...(ownersByPath.get(owner.path) ?? []), owner.identity]);
        const existing = new Map((await rowsOf(keys.length).execute(placeholderValues('k', keys))).map((row) => [row.identity, row]));
        const inserts: Array<Record<(typeof REGISTER_INSERT_COLUMNS)[number], unknown>> = [];
        for (const { item, normalized, key, filePath } of chunk) {
          const other = (ownersByPath.get(filePath) ?? []).find((identity) => identity !== key);
          if (other !== undefined) {
            throw new ManifestError(`artifact path ${filePath}: expected a path no other artifact uses, got one used by ${other}`);
          }
          ownersByPath.set(filePath, [key]);
          const values = {
            status: 'done' as const,
            cacheKey: item.cacheKey,
            params: canonicalJson(item.params ?? {}),
            path: filePath,
            bytes: item.file.bytes,
            contentHash: item.file.contentHash,
            fileStamp: item.file.fileStamp ?? null,
            error: null,
            runId,
            ...CLEARED_CLAIM,
            updatedAt: now,
            completedAt: now,
          };
          const row = existing.get(key);
          if (row === undefined) {
            inserts.push({ ...normalized, identity: key, ...values, attempts: 1, createdAt: now });
            continue;
          }
          if (row.status === 'pending' && this.claimIsHeldByOther(row, now)) {
            counts.taken += 1;
            continue;
          }
          await this.db
            .update(artifacts)
            .set({ ...values, attempts: sql`${artifacts.attempts} + 1` })
            .where(eq(artifacts.id, row.id));
          counts.registered += 1;
        }
        if (inserts.length > 0) {
          // every row has the same columns: a normalised identity has all its parts, null where unused
          const columns = getTableColumns(artifacts) as Record<string, Column>;
          const values: Record<string, unknown> = {};
          inserts.forEach((row, r) => {
            for (const column of REGISTER_INSERT_COLUMNS) {
              const value = row[column];
              values[`${column}_${r}`] = value === null || value === undefined ? null : columns[column]?.mapToDriverValue(value);
            }
          });
          // A row another worker inserted since we looked (a claim) is theirs.
          const inserted = await insertOf(inserts.length).execute(values);
          counts.registered += inserted.length;
          counts.taken += inserts.length - inserted.length;
        }
      }
      return counts;
    });
  }

  /**
   * `prepare(n)` for a query of `n` values, prepared once per database handle: on SQLite that is
   * the connection (the statement serves every later batch), on PostgreSQL the transaction's client
   * (a prepared query belongs to its connection), so there once per transaction.
   */
  private preparedPerSize<Q>(name: string, prepare: (n: number) => Q): (n: number) => Q {
    const db = this.db;
    let cache = this.#prepared.get(db);
    if (cache === undefined) {
      cache = new Map();
      this.#prepared.set(db, cache);
    }
    const queries = cache;
    return (n) => {
      const key = `${name}:${n}`;
      const known = queries.get(key);
      if (known !== undefined) return known as Q;
      const query = prepare(n);
      queries.set(key, query);
      return query;
    };
  }

  async fail(identity: ArtifactIdentity, error: unknown): Promise<boolean> {
    return this.updateOwnClaim(identity, { status: 'failed', error: formatError(error) });
  }

  async release(identity: ArtifactIdentity): Promise<boolean> {
    return this.updateOwnClaim(identity, {});
  }

  async releaseClaims(): Promise<number> {
    const artifacts = this.table;
    return this.#backend.transaction(async () => {
      const released = await this.db
        .update(artifacts)
        .set({ ...CLEARED_CLAIM, updatedAt: new Date() })
        .where(and(eq(artifacts.claimToken, this.claimToken), eq(artifacts.status, 'pending')))
        .returning({ id: artifacts.id });
      return released.length;
    });
  }

  async invalidate(identity: ArtifactIdentity, reason: string): Promise<boolean> {
    return (await this.markStaleRows(eq(this.table.identity, identityKey(identity)), new Date(), reason)) === 1;
  }

  async invalidateRow(row: ArtifactState, why: string): Promise<ArtifactState> {
    if (!INVALIDATABLE.includes(row.status)) return row;
    const artifacts = this.table;
    const [updated] = await this.#backend.transaction(() =>
      this.db
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
        .returning(),
    );
    if (updated) return updated;
    const [current] = await this.db.select().from(artifacts).where(eq(artifacts.id, row.id)).limit(1);
    return current ?? row;
  }

  async markStaleWhere(filter: ArtifactFilter): Promise<number> {
    const withStatus: ArtifactFilter = { ...filter, status: filter.status ?? INVALIDATABLE };
    return this.markStaleRows(filterCondition(this.table, withStatus), new Date(), 'marked stale', true);
  }

  async markStaleByKeys(expected: Iterable<{ identity: ArtifactIdentity; cacheKey: string }>): Promise<number> {
    const artifacts = this.table;
    return this.#backend.transaction(async () => {
      const now = new Date();
      let changed = 0;
      for (const { identity, cacheKey } of expected) {
        changed += await this.markStaleRows(
          and(eq(artifacts.identity, identityKey(identity)), ne(artifacts.cacheKey, cacheKey)) as SQL,
          now,
          'cache key changed',
        );
      }
      return changed;
    });
  }

  async markClipArtifactsStale(clipId: string, source: ClipSourceKind | null, reason: string): Promise<number> {
    const artifacts = this.table;
    const condition =
      source === null ? eq(artifacts.clipId, clipId) : (and(eq(artifacts.clipId, clipId), eq(artifacts.source, source)) as SQL);
    return this.markStaleRows(condition, new Date(), reason);
  }

  async statusCounts(): Promise<ArtifactStatusCount[]> {
    const artifacts = this.table;
    return this.db
      .select({
        stage: artifacts.stage,
        status: artifacts.status,
        count: sql<number>`count(*)`.mapWith(Number),
        bytes: sql<number>`coalesce(sum(${artifacts.bytes}), 0)`.mapWith(Number),
      })
      .from(artifacts)
      .groupBy(artifacts.stage, artifacts.status);
  }

  async donePaths(): Promise<Array<{ stage: PipelineStage; path: string }>> {
    const artifacts = this.table;
    return this.db
      .select({ stage: artifacts.stage, path: artifacts.path })
      .from(artifacts)
      .where(eq(artifacts.status, 'done'))
      .orderBy(asc(artifacts.id));
  }

  async listLeases(): Promise<Lease[]> {
    const artifacts = this.table;
    const now = await this.#backend.now();
    const rows = await this.db
      .select()
      .from(artifacts)
      .where(and(eq(artifacts.status, 'pending'), isNotNull(artifacts.claimToken)))
      .orderBy(asc(artifacts.claimedAt), asc(artifacts.id));
    return rows.map((row) => ({
      stage: row.stage,
      item: describeIdentity(row),
      host: row.claimHost,
      pid: row.claimPid,
      claimedAt: row.claimedAt,
      expiresAt: row.claimExpiresAt,
      ageMs: row.claimedAt === null ? null : now.getTime() - row.claimedAt.getTime(),
      expired: !this.claimIsLive(row, now),
    }));
  }

  async listFailed(limit: number): Promise<FailedArtifact[]> {
    const artifacts = this.table;
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
      .limit(limit);
  }

  private async rowByKey(key: string): Promise<ArtifactRow | undefined> {
    const artifacts = this.table;
    const [row] = await this.db.select().from(artifacts).where(eq(artifacts.identity, key)).limit(1);
    return row;
  }

  /** The row of `identity` while it is pending under this ledger's claim. */
  private ownClaim(identity: ArtifactIdentity): SQL {
    const artifacts = this.table;
    return and(
      eq(artifacts.identity, identityKey(identity)),
      eq(artifacts.claimToken, this.claimToken),
      eq(artifacts.status, 'pending'),
    ) as SQL;
  }

  /** Ends this ledger's claim on one artifact, setting `changes` too; false when the claim is no longer ours. */
  private async updateOwnClaim(identity: ArtifactIdentity, changes: { status?: 'failed'; error?: string }): Promise<boolean> {
    const artifacts = this.table;
    return this.#backend.transaction(async () => {
      const updated = await this.db
        .update(artifacts)
        .set({ ...changes, ...CLEARED_CLAIM, updatedAt: new Date() })
        .where(this.ownClaim(identity))
        .returning({ id: artifacts.id });
      return updated.length === 1;
    });
  }

  private claimIsHeldByOther(row: ClaimColumns, now: Date): boolean {
    return row.claimToken !== this.claimToken && this.claimIsLive(row, now);
  }

  /** A claim whose lease runs and whose process, where we can tell (this machine), lives. */
  private claimIsLive(row: ClaimColumns, now: Date): boolean {
    if (row.claimToken === null) return false;
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

  private async assertPathFree(filePath: string, key: string): Promise<void> {
    const artifacts = this.table;
    const [owner] = await this.db
      .select({ identity: artifacts.identity })
      .from(artifacts)
      .where(and(eq(artifacts.path, filePath), ne(artifacts.identity, key)))
      .limit(1);
    if (owner) {
      throw new ManifestError(`artifact path ${filePath}: expected a path no other artifact uses, got one used by ${owner.identity}`);
    }
  }

  private async markStaleRows(condition: SQL | undefined, now: Date, why: string, statusInCondition = false): Promise<number> {
    const artifacts = this.table;
    return this.#backend.transaction(async () => {
      const changed = await this.db
        .update(artifacts)
        .set({ status: 'stale', error: why, updatedAt: now })
        .where(statusInCondition ? condition : and(condition, inArray(artifacts.status, [...INVALIDATABLE])))
        .returning({ id: artifacts.id });
      return changed.length;
    });
  }
}

function filterCondition(artifacts: ManifestTables['artifacts'], filter: ArtifactFilter): SQL | undefined {
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

function nullableEq(column: Column, value: string | number | null | undefined): SQL | undefined {
  if (value === undefined) return undefined;
  return value === null ? isNull(column) : eq(column, value);
}
