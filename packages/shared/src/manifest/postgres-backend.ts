import { AsyncLocalStorage } from 'node:async_hooks';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { SQL } from 'drizzle-orm';
import { eq, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { ManifestError } from '../errors/index.js';
import type { ManifestBackend, ManifestDatabase, ManifestTables, RowLockMode, TransactionOptions } from './backend.js';
import { DEFAULT_BUSY_TIMEOUT_MS, POSTGRES_CATALOGUE_LOCK, POSTGRES_MIGRATION_LOCK } from './constants.js';
import { redactLocation } from './location.js';
import * as pgSchema from './schema-pg.js';
import type { ArtifactRow, ManifestOpenOptions } from './types.js';

/** Migrations live beside the package, found from this file so the cwd does not matter. */
const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle-pg', import.meta.url));

type PgDatabase = NodePgDatabase<typeof pgSchema>;

/**
 * A manifest on a PostgreSQL server, for work shared by processes on several machines. A pool of
 * connections (node-postgres); transactions run at READ COMMITTED and claims lock their row with
 * `FOR UPDATE SKIP LOCKED`, so workers never wait for each other's items.
 */
export class PostgresBackend implements ManifestBackend {
  readonly dialect = 'postgres' as const;
  /** The PostgreSQL twin has the SQLite schema's shape; the modules' queries are typed by that one (see backend.ts). */
  readonly tables = pgSchema as unknown as ManifestTables;
  readonly location: string;
  readonly host: string;
  readonly readonly: boolean;
  readonly #pool: pg.Pool;
  readonly #db: PgDatabase;
  readonly #tx = new AsyncLocalStorage<PgDatabase>();
  #open = true;

  private constructor(pool: pg.Pool, url: string, readonly: boolean) {
    this.#pool = pool;
    this.#db = drizzle(pool, { schema: pgSchema });
    this.location = redactLocation(url);
    this.host = hostname();
    this.readonly = readonly;
  }

  /**
   * Connects and applies pending migrations, under an advisory lock so that workers starting
   * together on a fresh database migrate it once.
   */
  static async open(url: string, options: ManifestOpenOptions = {}): Promise<PostgresBackend> {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    if (!(Number.isFinite(busyTimeoutMs) && busyTimeoutMs >= 0)) {
      throw new ManifestError(`busyTimeoutMs: expected a non-negative number, got ${busyTimeoutMs}`);
    }
    const readonly = options.readonly ?? false;
    const pool = new pg.Pool({
      connectionString: url,
      max: 4,
      connectionTimeoutMillis: busyTimeoutMs,
      // A lock wait (another worker's row, a migration) gives up where SQLite's busy timeout would.
      options: `-c lock_timeout=${Math.round(busyTimeoutMs)}${readonly ? ' -c default_transaction_read_only=on' : ''}`,
    });
    // An idle client whose server goes away must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    const backend = new PostgresBackend(pool, url, readonly);
    try {
      await pool.query('SELECT 1');
      if (!readonly) await backend.applyMigrations();
      return backend;
    } catch (error) {
      await pool.end().catch(() => undefined);
      if (error instanceof ManifestError) throw error;
      throw new ManifestError(`cannot open manifest ${backend.location}: ${(error as Error).message}`, { cause: error });
    }
  }

  get db(): ManifestDatabase {
    return (this.#tx.getStore() ?? this.#db) as unknown as ManifestDatabase;
  }

  get open(): boolean {
    return this.#open;
  }

  private async applyMigrations(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [POSTGRES_MIGRATION_LOCK]);
      try {
        await migrate(drizzle(client, { schema: pgSchema }), { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [POSTGRES_MIGRATION_LOCK]);
      }
    } catch (error) {
      throw new ManifestError(`cannot migrate manifest ${this.location} with ${MIGRATIONS_FOLDER}: ${(error as Error).message}`, {
        cause: error,
      });
    } finally {
      client.release();
    }
  }

  async appliedMigrations(): Promise<Array<{ hash: string; createdAt: number }>> {
    const rows = await this.rows(sql`SELECT hash, created_at AS "createdAt" FROM drizzle.__drizzle_migrations ORDER BY created_at`);
    return rows.map((row) => ({ hash: String(row['hash']), createdAt: Number(row['createdAt']) }));
  }

  async transaction<T>(fn: () => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const outer = this.#tx.getStore();
    // drizzle makes a nested transaction a savepoint.
    return (outer ?? this.#db).transaction(async (tx) => {
      if (options.exclusive) await tx.execute(sql`SELECT pg_advisory_xact_lock(${POSTGRES_CATALOGUE_LOCK})`);
      return this.#tx.run(tx as unknown as PgDatabase, fn);
    });
  }

  async lockArtifact(identityKey: string, mode: RowLockMode): Promise<ArtifactRow | undefined | 'locked'> {
    const { artifacts } = pgSchema;
    const db = this.#tx.getStore() ?? this.#db;
    const query = db.select().from(artifacts).where(eq(artifacts.identity, identityKey)).limit(1);
    const [row] = await (mode === 'skip-locked' ? query.for('update', { skipLocked: true }) : query.for('update'));
    if (row) return row as ArtifactRow;
    if (mode === 'wait') return undefined;
    const [exists] = await db.select({ id: artifacts.id }).from(artifacts).where(eq(artifacts.identity, identityKey)).limit(1);
    return exists ? 'locked' : undefined;
  }

  async resetIdentities(): Promise<void> {
    for (const table of ['artifacts', 'ingest_issues']) {
      await this.rows(
        sql`SELECT setval(pg_get_serial_sequence(${table}, 'id'), coalesce((SELECT max(id) FROM ${sql.identifier(table)}), 0) + 1, false)`,
      );
    }
  }

  async now(): Promise<Date> {
    const [row] = await this.rows(sql`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms`);
    return new Date(Math.round(Number(row?.['ms'])));
  }

  async rows(query: SQL): Promise<Array<Record<string, unknown>>> {
    const db = this.#tx.getStore() ?? this.#db;
    const result = await db.execute(query);
    return result.rows as Array<Record<string, unknown>>;
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    await this.#pool.end();
  }
}
