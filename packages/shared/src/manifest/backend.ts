import type { SQL } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type * as schema from './schema.js';
import type { ArtifactRow } from './types.js';

/** The databases a manifest can live in. */
export type ManifestDialect = 'sqlite' | 'postgres';

/** The manifest's tables as the modules see them (the SQLite schema's types; PostgreSQL's twin has the same shape). */
export type ManifestTables = typeof schema;

/**
 * drizzle over the manifest's database, typed by the SQLite schema. The modules only build
 * queries that both dialects share and `await` them (never better-sqlite3's `.get()`/`.run()`),
 * so the same code runs on PostgreSQL, where this is a node-postgres drizzle over `schema-pg.ts`.
 */
export type ManifestDatabase = BetterSQLite3Database<ManifestTables>;

export interface TransactionOptions {
  /**
   * Run alone among the transactions that ask for it, as every SQLite write transaction does: for
   * read-then-write changes to the clip catalogue (two ingests upserting the same clips), which no
   * row lock can cover before the rows exist. PostgreSQL takes a transaction-level advisory lock.
   */
  exclusive?: boolean;
}

/** How `lockArtifact` treats a row another transaction has locked. */
export type RowLockMode = 'skip-locked' | 'wait';

/**
 * One manifest database: the connection(s), migrations, transactions and the few things the
 * dialects do differently. Internal to the manifest: the modules (clip catalogue, run log,
 * artifact ledger) hold one and share its queries; nothing outside `shared/src/manifest` sees it.
 */
export interface ManifestBackend {
  readonly dialect: ManifestDialect;
  /** The file path, or the URL without its password. */
  readonly location: string;
  /** This machine's name: a pid recorded by a claim or a run is only meaningful on it. */
  readonly host: string;
  readonly readonly: boolean;
  readonly open: boolean;
  readonly tables: ManifestTables;
  /** drizzle over the transaction in progress in this async context, else over the database. */
  readonly db: ManifestDatabase;
  /**
   * Runs `fn` in a write transaction; `db` is bound to it for everything `fn` awaits. Nested
   * calls become savepoints. SQLite takes the write lock up front (`BEGIN IMMEDIATE`), so no
   * other writer interleaves; PostgreSQL runs at READ COMMITTED with row locks (`lockArtifact`).
   */
  transaction<T>(fn: () => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * The artifact row of `identityKey`, locked for the rest of the transaction where the database
   * has row locks (PostgreSQL `FOR UPDATE`). With `skip-locked` a row another transaction holds
   * reads as `'locked'` instead of waiting for it (`SKIP LOCKED`): a worker moves on to the next
   * item. SQLite's write lock serialises transactions, so there a row is never `'locked'`.
   */
  lockArtifact(identityKey: string, mode: RowLockMode): Promise<ArtifactRow | undefined | 'locked'>;
  /** The database's clock: leases written by several machines are measured on one clock. */
  now(): Promise<Date>;
  /** Rows of a raw query (for the manifest's tests, copies and benchmarks; modules use the query builder). */
  rows(query: SQL): Promise<Array<Record<string, unknown>>>;
  /** After rows were inserted with their ids (a copy): the next generated id follows the largest one. */
  resetIdentities(): Promise<void>;
  /** Migrations recorded in the database, oldest first. */
  appliedMigrations(): Promise<Array<{ hash: string; createdAt: number }>>;
  close(): Promise<void>;
}
