import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { SQL } from 'drizzle-orm';
import { eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core';
import { ManifestError } from '../errors/index.js';
import type { ManifestBackend, ManifestDatabase, RowLockMode, TransactionOptions } from './backend.js';
import { DEFAULT_BUSY_TIMEOUT_MS, MIGRATION_ATTEMPTS } from './constants.js';
import { AsyncMutex } from './mutex.js';
import * as schema from './schema.js';
import type { ArtifactRow, ManifestOpenOptions } from './types.js';

/** Renders raw queries (`rows`) to SQLite's SQL and parameters. */
const dialect = new SQLiteSyncDialect();

/** Migrations live beside the package, found from this file so the cwd does not matter. */
const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/**
 * A manifest in one SQLite file (better-sqlite3), the embedded default. Several processes on one
 * machine share it safely: WAL mode lets readers work beside one writer, and each write
 * transaction takes the file's write lock up front.
 *
 * better-sqlite3 is synchronous and one connection has one transaction at a time, while the
 * modules' transactions are async functions: a transaction holds this connection's mutex from
 * BEGIN to COMMIT, so two concurrent callers in this process never share one, and statements
 * awaited inside it (found through `AsyncLocalStorage`) run as part of it.
 */
export class SqliteBackend implements ManifestBackend {
  readonly dialect = 'sqlite' as const;
  readonly tables = schema;
  readonly location: string;
  readonly host: string;
  readonly #sqlite: Database.Database;
  readonly #db: ManifestDatabase;
  readonly #mutex = new AsyncMutex();
  /** Savepoint depth of the transaction this async context runs in (absent outside one). */
  readonly #depth = new AsyncLocalStorage<number>();

  private constructor(sqlite: Database.Database, filePath: string) {
    this.#sqlite = sqlite;
    this.#db = drizzle(sqlite, { schema });
    this.location = filePath;
    this.host = hostname();
  }

  /**
   * Opens (creating if needed) a manifest file, or an in-memory one for `':memory:'`, and
   * applies pending migrations. The busy timeout makes concurrent writers wait for each other
   * instead of failing.
   */
  static open(filePath: string, options: ManifestOpenOptions = {}): SqliteBackend {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    const readonly = options.readonly ?? false;
    if (!(Number.isFinite(busyTimeoutMs) && busyTimeoutMs >= 0)) {
      throw new ManifestError(`busyTimeoutMs: expected a non-negative number, got ${busyTimeoutMs}`);
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
      const backend = new SqliteBackend(sqlite, filePath);
      if (!readonly) backend.applyMigrations();
      return backend;
    } catch (error) {
      sqlite.close();
      if (error instanceof ManifestError) throw error;
      throw new ManifestError(`cannot open manifest ${filePath}: ${(error as Error).message}`, { cause: error });
    }
  }

  get db(): ManifestDatabase {
    return this.#db;
  }

  get open(): boolean {
    return this.#sqlite.open;
  }

  get readonly(): boolean {
    return this.#sqlite.readonly;
  }

  /** The raw better-sqlite3 connection: for the SQLite-only tests (pragmas), never for the modules. */
  get sqlite(): Database.Database {
    return this.#sqlite;
  }

  /**
   * Applies migrations not yet recorded. drizzle reads the last applied migration before it
   * takes the write lock, so two processes opening one fresh file can both try to create the
   * tables; the loser fails and, retried, finds everything applied.
   */
  private applyMigrations(): void {
    try {
      withRetries(() => migrate(this.#db, { migrationsFolder: MIGRATIONS_FOLDER }), MIGRATION_ATTEMPTS);
    } catch (error) {
      throw new ManifestError(`cannot migrate manifest ${this.location} with ${MIGRATIONS_FOLDER}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async appliedMigrations(): Promise<Array<{ hash: string; createdAt: number }>> {
    const rows = this.#sqlite.prepare('SELECT hash, created_at AS createdAt FROM __drizzle_migrations ORDER BY created_at').all() as Array<{
      hash: string;
      createdAt: number;
    }>;
    return rows.map((row) => ({ hash: row.hash, createdAt: Number(row.createdAt) }));
  }

  /** Every write transaction here is exclusive (`TransactionOptions.exclusive`): SQLite has one writer at a time. */
  async transaction<T>(fn: () => Promise<T>, _options?: TransactionOptions): Promise<T> {
    const depth = this.#depth.getStore();
    if (depth !== undefined) {
      const name = `manifest_${depth + 1}`;
      this.#sqlite.exec(`SAVEPOINT ${name}`);
      try {
        const result = await this.#depth.run(depth + 1, fn);
        this.#sqlite.exec(`RELEASE ${name}`);
        return result;
      } catch (error) {
        this.#sqlite.exec(`ROLLBACK TO ${name}`);
        this.#sqlite.exec(`RELEASE ${name}`);
        throw error;
      }
    }
    return this.#mutex.run(async () => {
      this.#sqlite.exec('BEGIN IMMEDIATE');
      try {
        const result = await this.#depth.run(0, fn);
        this.#sqlite.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.#sqlite.inTransaction) this.#sqlite.exec('ROLLBACK');
        throw error;
      }
    });
  }

  async lockArtifact(identityKey: string, _mode: RowLockMode): Promise<ArtifactRow | undefined> {
    const { artifacts } = this.tables;
    const [row] = await this.#db.select().from(artifacts).where(eq(artifacts.identity, identityKey)).limit(1);
    return row;
  }

  async resetIdentities(): Promise<void> {
    // AUTOINCREMENT keeps sqlite_sequence at the largest id inserted, given or generated.
  }

  async now(): Promise<Date> {
    return new Date();
  }

  async rows(query: SQL): Promise<Array<Record<string, unknown>>> {
    const { sql: text, params } = dialect.sqlToQuery(query);
    const statement = this.#sqlite.prepare(text);
    if (!statement.reader) {
      statement.run(...params);
      return [];
    }
    return statement.all(...params) as Array<Record<string, unknown>>;
  }

  async close(): Promise<void> {
    if (this.#sqlite.open) this.#sqlite.close();
  }
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
