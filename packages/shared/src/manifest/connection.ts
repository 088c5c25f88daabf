import { existsSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { ManifestError } from '../errors/index.js';
import { DEFAULT_BUSY_TIMEOUT_MS, MIGRATION_ATTEMPTS } from './constants.js';
import * as schema from './schema.js';
import type { ManifestOpenOptions } from './types.js';

/** Migrations live beside the package, found from this file so the cwd does not matter. */
const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

export type ManifestDatabase = BetterSQLite3Database<typeof schema>;

/**
 * The one SQLite connection of a manifest, shared by its modules (clip catalogue, run log,
 * artifact ledger). Internal to the manifest: the modules' interfaces carry plain data only,
 * and nothing outside `shared/src/manifest` sees the raw handles.
 */
export class ManifestConnection {
  /** drizzle over the connection. */
  readonly db: ManifestDatabase;
  /** The raw better-sqlite3 connection. */
  readonly sqlite: Database.Database;
  readonly path: string;
  /** This machine's name: a pid recorded by a claim or a run is only meaningful on it. */
  readonly host: string;

  private constructor(sqlite: Database.Database, filePath: string) {
    this.sqlite = sqlite;
    this.db = drizzle(sqlite, { schema });
    this.path = filePath;
    this.host = hostname();
  }

  /**
   * Opens (creating if needed) a manifest file, or an in-memory one for `':memory:'`, and
   * applies pending migrations. WAL mode lets readers work beside one writer; the busy timeout
   * makes concurrent writers wait for each other instead of failing.
   */
  static open(filePath: string, options: ManifestOpenOptions = {}): ManifestConnection {
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
      const connection = new ManifestConnection(sqlite, filePath);
      if (!readonly) connection.applyMigrations();
      return connection;
    } catch (error) {
      sqlite.close();
      if (error instanceof ManifestError) throw error;
      throw new ManifestError(`cannot open manifest ${filePath}: ${(error as Error).message}`, { cause: error });
    }
  }

  get open(): boolean {
    return this.sqlite.open;
  }

  get readonly(): boolean {
    return this.sqlite.readonly;
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

  /**
   * Runs `fn` in a `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so no other
   * writer interleaves. Called inside another transaction, it becomes a savepoint of that one.
   */
  writeTransaction<T>(fn: () => T): T {
    return this.sqlite.inTransaction ? this.sqlite.transaction(fn)() : this.sqlite.transaction(fn).immediate();
  }

  close(): void {
    if (this.sqlite.open) this.sqlite.close();
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
